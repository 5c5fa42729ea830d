"""Prints, as one ``SEEN {json}`` line, every pipeline parameter value this step received.

Scalars arrive as arguments; ``--path`` (a DataPath parameter) and ``--files`` (a FileDataset
parameter) are local paths whose files' contents are reported; the tabular dataset parameter is read
as ``Run.get_context().input_datasets["table"]`` (the ``azureml`` import runs through the alias).
"""

import argparse
import json
import os

from azureml.core import Run

parser = argparse.ArgumentParser()
for name in ("--text", "--count", "--ratio", "--flag", "--path", "--files", "--out"):
    parser.add_argument(name)
args, _ = parser.parse_known_args()


def contents(path):
    if path is None:
        return None
    if os.path.isfile(path):
        return open(path, encoding="utf-8").read().strip()
    found = []
    for root, _dirs, names in os.walk(path):
        found += [open(os.path.join(root, n), encoding="utf-8").read().strip() for n in names]
    return sorted(found)


table = Run.get_context().input_datasets.get("table")
seen = {
    "text": args.text,
    "count": int(args.count),
    "ratio": float(args.ratio),
    "flag": args.flag,
    "path": contents(args.path),
    "files": contents(args.files),
    "table_rows": None if table is None else len(table.to_pandas_dataframe()),
}
os.makedirs(args.out, exist_ok=True)
print("SEEN " + json.dumps(seen, sort_keys=True))
