"""Retrain a line y = a*x + b on every CSV (columns x,y) under --data, log its error, register the model.

Standard library only. Inside a durableml step the model is registered in the workspace that started the
run (``Run.get_context().experiment.workspace``), as Azure ML v1 step scripts do.
"""

import argparse
import csv
import json
import math
import os

from azureml.core import Model, Run

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
args = parser.parse_args()

paths = (
    [args.data]
    if os.path.isfile(args.data)
    else sorted(
        os.path.join(root, name) for root, _dirs, names in os.walk(args.data) for name in names if name.endswith(".csv")
    )
)
points = []
for path in paths:
    with open(path, newline="", encoding="utf-8") as handle:
        points += [(float(row["x"]), float(row["y"])) for row in csv.DictReader(handle)]
n = len(points)
mean_x, mean_y = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)
intercept = mean_y - slope * mean_x
rmse = math.sqrt(sum((y - (slope * x + intercept)) ** 2 for x, y in points) / n)
print(f"trained on {n} points from {len(paths)} file(s): y = {slope:.3f} x + {intercept:.3f}, rmse {rmse:.4f}")

os.makedirs("outputs", exist_ok=True)
with open("outputs/model.json", "w", encoding="utf-8") as handle:
    json.dump({"slope": slope, "intercept": intercept, "trained_on": [os.path.basename(p) for p in paths]}, handle)
run = Run.get_context()
run.log("rmse", rmse)
run.log("points", n)
model = Model.register(
    workspace=run.experiment.workspace,
    model_path="outputs/model.json",
    model_name="retrained-line",
    tags={"rmse": f"{rmse:.4f}"},
)
print(f"registered model {model.name} version {model.version}")
