"""Compare the model with its extracted features; param1 is the pipeline parameter."""

import argparse
import json
import os

from azureml.core import Run

parser = argparse.ArgumentParser()
parser.add_argument("--comp_data1", required=True)
parser.add_argument("--comp_data2", required=True)
parser.add_argument("--output_data", required=True)
parser.add_argument("--param1", type=int, default=10)
args = parser.parse_args()

with open(os.path.join(args.comp_data1, "model.json")) as f:
    model = json.load(f)
with open(os.path.join(args.comp_data2, "features.json")) as f:
    features = json.load(f)
report = {label: {"vocabulary": len(model[label]), "top": features[label]} for label in sorted(model)}
report["param1"] = args.param1
os.makedirs(args.output_data, exist_ok=True)
with open(os.path.join(args.output_data, "report.json"), "w") as f:
    json.dump(report, f, indent=2, sort_keys=True)
os.makedirs("outputs", exist_ok=True)
with open(os.path.join("outputs", "report.json"), "w") as f:
    json.dump(report, f, indent=2, sort_keys=True)
Run.get_context().log("param1", args.param1)
print(json.dumps(report, indent=2, sort_keys=True))
