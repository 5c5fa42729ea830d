"""Reads a mounted folder of one storage account and a downloaded folder of another; writes what it saw."""

import argparse
import json
import os

parser = argparse.ArgumentParser()
parser.add_argument("--private")
parser.add_argument("--public")
parser.add_argument("--out")
args = parser.parse_args()


def contents(root):
    found = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as handle:
                found[os.path.relpath(path, root).replace(os.sep, "/")] = handle.read()
    return found


summary = {"private": contents(args.private), "public": contents(args.public)}
os.makedirs(args.out, exist_ok=True)
with open(os.path.join(args.out, "summary.json"), "w", encoding="utf-8") as handle:
    json.dump(summary, handle, sort_keys=True)
with open(os.path.join(args.out, "environment.json"), "w", encoding="utf-8") as handle:
    json.dump(dict(os.environ), handle, sort_keys=True)
print("read", len(summary["private"]), "private and", len(summary["public"]), "public files")
