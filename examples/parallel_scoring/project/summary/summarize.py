"""Counts the scored transactions per action and lists the ones to block (reads the ParallelRunStep output)."""

import argparse
import collections
import os

parser = argparse.ArgumentParser()
parser.add_argument("--scores", required=True)
parser.add_argument("--report", required=True)
args = parser.parse_args()

scores = os.path.join(args.scores, "parallel_run_step.txt")
actions = collections.Counter()
blocked = []
with open(scores) as handle:
    for line in handle:
        txn_id, score, action = line.split()
        actions[action] += 1
        if action == "block":
            blocked.append((float(score), txn_id))

os.makedirs(args.report, exist_ok=True)
with open(os.path.join(args.report, "summary.txt"), "w") as out:
    out.write(f"scored {sum(actions.values())} transactions\n")
    for action in ("ok", "review", "block"):
        out.write(f"{action}: {actions[action]}\n")
    for score, txn_id in sorted(blocked, reverse=True):
        out.write(f"block {txn_id} {score:.4f}\n")
print(open(os.path.join(args.report, "summary.txt")).read())
