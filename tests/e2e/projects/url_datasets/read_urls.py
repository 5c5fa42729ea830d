"""Report what a step sees: the files under each path argument, its named inputs, and URL datasets it reads itself."""

import argparse
import json
import os

from azureml.core import Dataset, Run

parser = argparse.ArgumentParser()
parser.add_argument("--report", required=True)
parser.add_argument("--path", nargs=2, action="append", default=[], metavar=("NAME", "PATH"), help="an input to list")
parser.add_argument("--url", help="a CSV URL this script reads with Dataset.Tabular itself")
args = parser.parse_args()


def listing(path):
    if os.path.isfile(path):
        return {os.path.basename(path): open(path).read()}
    return {
        os.path.relpath(os.path.join(root, name), path).replace(os.sep, "/"): open(os.path.join(root, name)).read()
        for root, _dirs, names in os.walk(path)
        for name in names
    }


run = Run.get_context()
report = {"args": {}, "inputs": {}}
for name, path in args.path:
    report["args"][name] = {"path": path, "is_dir": os.path.isdir(path), "files": listing(path)}
for name, value in run.input_datasets.items():
    if isinstance(value, str):
        report["inputs"][name] = {"path": value, "files": listing(value)}
    else:  # a TabularDataset over the staged files
        report["inputs"][name] = {"rows": value.to_pandas_dataframe().to_dict(orient="records")}
if args.url:
    table = Dataset.Tabular.from_delimited_files(args.url)
    report["direct"] = {
        "rows": table.to_pandas_dataframe().to_dict(orient="records"),
        "first": table.take(1).to_pandas_dataframe().to_dict(orient="records"),
        "paths": Dataset.File.from_files(args.url).to_path(),
    }
with open(args.report, "w") as handle:
    json.dump(report, handle)
