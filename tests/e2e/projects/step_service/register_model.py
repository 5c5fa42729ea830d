"""Train a toy model and register it from inside the step, the v1 way (unchanged azureml imports)."""

import argparse
import json
import os
import pickle

from azureml.core import Run
from azureml.core.model import Model

parser = argparse.ArgumentParser()
parser.add_argument("--model-name", required=True)
parser.add_argument("--folder", action="store_true", help="register a folder model instead of one file")
parser.add_argument("--report", required=True)
args = parser.parse_args()

run = Run.get_context()
ws = run.experiment.workspace
os.makedirs("outputs", exist_ok=True)
if args.folder:
    os.makedirs("outputs/model/weights", exist_ok=True)
    with open("outputs/model/weights/w.json", "w") as handle:
        json.dump([1, 2, 3], handle)
    with open("outputs/model/meta.txt", "w") as handle:
        handle.write(run.id)
    path = "outputs/model"
else:
    with open("outputs/model.pkl", "wb") as handle:
        pickle.dump({"weights": [1, 2, 3], "trained_by": run.id}, handle)
    path = "outputs/model.pkl"
model = Model.register(
    ws,
    model_path=path,
    model_name=args.model_name,
    tags={"stage": "train"},
    description="registered from inside a step",
)
with open(args.report, "w") as handle:
    json.dump({"name": model.name, "version": model.version, "id": model.id, "run": run.id}, handle)
print(f"registered {model.id}")
