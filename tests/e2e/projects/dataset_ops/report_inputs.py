"""Reports what the step's dataset inputs hold, as v1 code reads them: each TabularDataset's rows (datetimes as
ISO text) and column types, and for a partitioned FileDataset its files grouped by partition values."""

import argparse
import json
import os

from azureml.core import Run

from durableml.data.partitions import group_files

parser = argparse.ArgumentParser()
parser.add_argument("--report", required=True)
parser.add_argument("--files", default=None)
args = parser.parse_args()

run = Run.get_context()
report = {}
for name, value in run.input_datasets.items():
    if isinstance(value, str):
        continue
    frame = value.to_pandas_dataframe()
    rows = json.loads(frame.to_json(orient="records", date_format="iso", date_unit="s"))
    report[name] = {
        "rows": rows,
        "dtypes": {c: str(t) for c, t in frame.dtypes.items()},
        "partition_keys": value.partition_keys,
    }
if args.files:
    # what a ParallelRunStep driver does with partition_keys: the staged files grouped by their partition values
    context = json.load(open(os.environ["DURABLEML_RUN_CONTEXT"], encoding="utf-8"))
    dataset = context["inputs"]["files"]["dataset"]
    files = [os.path.join(r, n) for r, _d, names in os.walk(args.files) for n in names]
    groups = group_files(dataset, args.files, files)
    report["files"] = [
        {"values": {k: str(v) for k, v in values.items()}, "files": sorted(os.path.relpath(f, args.files) for f in fs)}
        for values, fs in groups
    ]
with open(args.report, "w", encoding="utf-8") as handle:
    json.dump(report, handle)
print("reported", sorted(report), flush=True)
