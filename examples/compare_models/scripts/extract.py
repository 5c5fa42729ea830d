"""Extract each label's top words from the trained model."""

import argparse
import json
import os

parser = argparse.ArgumentParser()
parser.add_argument("--input_data", required=True)
parser.add_argument("--output_extract", required=True)
args = parser.parse_args()

with open(os.path.join(args.input_data, "model.json")) as f:
    model = json.load(f)
top = {label: sorted(words, key=lambda w: (-words[w], w))[:3] for label, words in model.items()}
os.makedirs(args.output_extract, exist_ok=True)
with open(os.path.join(args.output_extract, "features.json"), "w") as f:
    json.dump(top, f, sort_keys=True)
print("top words:", top)
