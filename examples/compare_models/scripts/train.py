"""Train a tiny word-count classifier on the 20 newsgroups sample (pure Python)."""

import argparse
import collections
import json
import os
import pickle

from azureml.core import Run

parser = argparse.ArgumentParser()
parser.add_argument("--input", required=True)
parser.add_argument("--output", required=True)
args = parser.parse_args()

with open(args.input, "rb") as f:
    docs = pickle.load(f)
counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
for text, label in docs:
    counts[label].update(text.split())
os.makedirs(args.output, exist_ok=True)
with open(os.path.join(args.output, "model.json"), "w") as f:
    json.dump({label: dict(c) for label, c in counts.items()}, f, sort_keys=True)
run = Run.get_context()
run.log("documents", len(docs))
run.log("labels", len(counts))
print(f"trained on {len(docs)} documents, {len(counts)} labels -> {args.output}")
