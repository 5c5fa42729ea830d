"""Report what a step sees for its dataset inputs: the files under a path argument and the named inputs."""

import argparse
import json
import os

from azureml.core import Run

parser = argparse.ArgumentParser()
parser.add_argument("--files", required=True)
parser.add_argument("--report", required=True)
args = parser.parse_args()


def listing(path):
    return sorted(
        os.path.relpath(os.path.join(root, name), path).replace(os.sep, "/")
        for root, _dirs, names in os.walk(path)
        for name in names
    )


run = Run.get_context()
report = {
    "files_arg": args.files,
    "files": listing(args.files),
    "contents": {rel: open(os.path.join(args.files, rel)).read() for rel in listing(args.files)},
}
for name, value in run.input_datasets.items():
    if isinstance(value, str):
        report[name] = {"path": value, "files": listing(value)}
    else:  # a TabularDataset over every staged file
        frame = value.to_pandas_dataframe()
        report[name] = {"rows": sorted(frame.to_dict(orient="records"), key=lambda r: r["n"])}
with open(args.report, "w") as handle:
    json.dump(report, handle)
