"""A PythonScriptStep that reads the DatabricksStep's PipelineData (a folder of CSV part files)."""

import argparse
import csv
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--totals")
args = parser.parse_args()
for part in sorted(Path(args.totals).glob("part-*.csv")):
    with open(part, newline="") as handle:
        for row in csv.DictReader(handle):
            print(f"total {row['region']}: {float(row['total']):g}")
