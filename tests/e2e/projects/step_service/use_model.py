"""Find a registered model inside a step with Model.get_model_path (downloaded from the workspace)."""

import argparse
import json
import os
import pickle

from azureml.core.model import Model

parser = argparse.ArgumentParser()
parser.add_argument("--model-name", required=True)
parser.add_argument("--report", required=True)
args = parser.parse_args()

path = Model.get_model_path(args.model_name)
report = {"path": path, "is_file": os.path.isfile(path), "is_dir": os.path.isdir(path), "cwd": os.getcwd()}
if os.path.isfile(path):
    with open(path, "rb") as handle:
        report["model"] = pickle.load(handle)
else:
    report["files"] = sorted(
        os.path.relpath(os.path.join(root, name), path) for root, _dirs, names in os.walk(path) for name in names
    )
with open(args.report, "w") as handle:
    json.dump(report, handle)
