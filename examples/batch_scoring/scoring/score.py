"""Score every file that arrived on one day: incoming/<YYYY-MM-DD>/*.csv (columns id,x1,x2) -> scores.

    score.py --incoming DIR --model FILE --day YYYY-MM-DD|today --out DIR

The model is a JSON linear model {"weights": {"x1": .., "x2": ..}, "bias": ..}; standard library only.
"""

import argparse
import csv
import datetime
import json
import os

from azureml.core import Run

parser = argparse.ArgumentParser()
parser.add_argument("--incoming", required=True)
parser.add_argument("--model", required=True)
parser.add_argument("--day", default="today")
parser.add_argument("--out", required=True)
args = parser.parse_args()

day = datetime.datetime.now(datetime.timezone.utc).date().isoformat() if args.day == "today" else args.day
with open(args.model, encoding="utf-8") as handle:
    model = json.load(handle)
folder = os.path.join(args.incoming, day)
files = sorted(f for f in os.listdir(folder) if f.endswith(".csv")) if os.path.isdir(folder) else []
os.makedirs(args.out, exist_ok=True)
rows = 0
for name in files:
    with (
        open(os.path.join(folder, name), newline="", encoding="utf-8") as source,
        open(os.path.join(args.out, name), "w", newline="", encoding="utf-8") as target,
    ):
        writer = csv.writer(target)
        writer.writerow(["id", "score"])
        for row in csv.DictReader(source):
            score = model["bias"] + sum(w * float(row[k]) for k, w in model["weights"].items())
            writer.writerow([row["id"], f"{score:.4f}"])
            rows += 1
print(f"scored {rows} rows from {len(files)} file(s) that arrived on {day}")
run = Run.get_context()
run.log("files_scored", len(files))
run.log("rows_scored", rows)
