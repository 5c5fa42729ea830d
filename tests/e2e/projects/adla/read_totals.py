"""Reads the AdlaStep's output (a CSV file) and prints its rows."""

import argparse
import csv
import os

parser = argparse.ArgumentParser()
parser.add_argument("--totals")
args = parser.parse_args()
path = args.totals
if os.path.isdir(path):  # the output as a folder holding the file
    path = os.path.join(path, os.listdir(path)[0])
with open(path, newline="") as handle:
    for row in csv.DictReader(handle):
        print(f"total {row['region']}: {row['orders']} orders, {float(row['total']):g}")
