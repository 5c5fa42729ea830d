"""The main job: start durableml locally (funchost, which starts Azurite) and run the seed pipeline on it.

    python examples/compare_models/run.py [--keep-running]

State (keys, Azurite data, run records, compute jobs) lives in .funchost/main/ at the repository root,
so a second run shows step reuse. The pipeline itself is pipeline.py, the seed article's code with only
the import prefix changed; this script writes the config.json it reads (endpoint + function key).
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from local_durableml import run_example  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(run_example("main", HERE, "pipeline.py", __doc__))
