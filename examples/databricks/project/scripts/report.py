"""A PythonScriptStep that turns the Spark step's totals (a folder of CSV part files) into a report."""

import argparse
import csv
import os
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--totals")
parser.add_argument("--report")
args = parser.parse_args()

rows = []
for part in sorted(Path(args.totals).glob("part-*.csv")):
    with open(part, newline="") as handle:
        rows += list(csv.DictReader(handle))
os.makedirs(args.report, exist_ok=True)
lines = [f"{row['region']}: {row['sales']} sales, {float(row['total']):g} in total" for row in rows]
Path(args.report, "report.txt").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
