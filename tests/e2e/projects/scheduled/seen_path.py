"""Prints one ``SEEN {json}`` line: the files under the DataPath it received (name -> content) and --value."""

import argparse
import json
import os

parser = argparse.ArgumentParser()
parser.add_argument("--path")
parser.add_argument("--value")
parser.add_argument("--out")
args, _ = parser.parse_known_args()

files = {}
if os.path.isfile(args.path):
    files[os.path.basename(args.path)] = open(args.path, encoding="utf-8").read()
else:
    for root, _dirs, names in os.walk(args.path):
        for name in names:
            full = os.path.join(root, name)
            files[os.path.relpath(full, args.path)] = open(full, encoding="utf-8").read()
os.makedirs(args.out, exist_ok=True)
print("SEEN " + json.dumps({"files": files, "value": args.value}, sort_keys=True))
