"""Prints the value it was given (the published pipeline's parameter) and the version of the pipeline."""

import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--value")
parser.add_argument("--version")
args = parser.parse_args()
print(f"MOVED {args.version} {args.value}")
