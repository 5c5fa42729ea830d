"""Batch scoring on a timer: start durableml locally, publish the scoring pipeline and schedule it daily.

    python examples/batch_scoring/run.py [--keep-running]

Without --keep-running, durableml stops after the schedule's first run (which v1 starts at once);
with it, the schedule stays live and fires every day at 02:00 UTC while durableml runs.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from local_durableml import run_example  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(run_example("batch_scoring", HERE, "pipeline.py", __doc__))
