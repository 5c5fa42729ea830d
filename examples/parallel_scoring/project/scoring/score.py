"""ParallelRunStep entry script: scores each transaction file of a mini-batch with the registered model.

init() runs once per worker process: the model comes from ``Model.get_model_path`` (downloaded from the
workspace's registry), the review/block thresholds from the side input passed as ``--thresholds``.
run(mini_batch) gets a list of file paths and returns one line per transaction, appended to the step's
output file (``parallel_run_step.txt``) in mini-batch order.
"""

import argparse
import csv
import json
import math
import os

from azureml.core import Run
from azureml.core.model import Model
from azureml_user.parallel_run import EntryScript

model = None
thresholds = None


def init():
    global model, thresholds
    parser = argparse.ArgumentParser()
    parser.add_argument("--thresholds", required=True)
    args, _ = parser.parse_known_args()
    path = args.thresholds
    if os.path.isdir(path):
        path = os.path.join(path, "thresholds.json")
    with open(path) as handle:
        thresholds = json.load(handle)
    with open(Model.get_model_path("fraud-screen")) as handle:
        model = json.load(handle)
    EntryScript().logger.info("worker %s: model %s, thresholds %s", os.getpid(), model, thresholds)


def _score(row):
    z = (
        model["intercept"]
        + model["per_1000"] * float(row["amount"]) / 1000
        + model["merchant_risk"] * float(row["merchant_risk"])
        + (model["night"] if int(row["hour"]) < 6 else 0.0)
    )
    return 1 / (1 + math.exp(-z))


def run(mini_batch):
    lines = []
    for path in mini_batch:
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                score = _score(row)
                action = (
                    "block" if score >= thresholds["block"] else "review" if score >= thresholds["review"] else "ok"
                )
                lines.append(f"{row['txn_id']} {score:.4f} {action}")
    Run.get_context().log("transactions", len(lines))
    return lines
