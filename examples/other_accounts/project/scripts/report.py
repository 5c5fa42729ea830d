"""Sales on public holidays: joins the partner's daily sales with the public holiday calendar."""

import argparse
import csv
import glob
import os

parser = argparse.ArgumentParser()
parser.add_argument("--sales")
parser.add_argument("--holidays")
parser.add_argument("--report")
args = parser.parse_args()

holidays = {}
for path in glob.glob(os.path.join(args.holidays, "*.csv")):
    with open(path, newline="") as handle:
        holidays.update({row["date"]: row["name"] for row in csv.DictReader(handle)})

lines = ["date,holiday,store,amount"]
for path in sorted(glob.glob(os.path.join(args.sales, "**", "*.csv"), recursive=True)):
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            if row["date"] in holidays:
                lines.append(f"{row['date']},{holidays[row['date']]},{row['store']},{row['amount']}")

os.makedirs(args.report, exist_ok=True)
with open(os.path.join(args.report, "holiday_sales.csv"), "w") as handle:
    handle.write("\n".join(lines) + "\n")
print(f"{len(lines) - 1} sales on holidays")
