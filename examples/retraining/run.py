"""Retraining on new data: start durableml locally, publish the training pipeline, schedule it on a datastore path.

    python examples/retraining/run.py [--keep-running]

It uploads data/day1.csv, which starts a retraining run. With --keep-running durableml and the schedule
stay live: upload more data (``python pipeline.py --upload data/day2.csv`` from this folder, or any tool
that writes blobs under training-data/) and each upload starts a run.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from local_durableml import run_example  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(run_example("retraining", HERE, "pipeline.py", __doc__))
