"""The main job: start durableml locally (funchost, which starts Azurite) and run the seed pipeline on it.

    python examples/compare_models/run.py [--keep-running]

State (keys, Azurite data, run records, compute jobs) lives in .funchost/main/ at the repository root,
so a second run shows step reuse. The pipeline itself is pipeline.py, the seed article's code with only
the import prefix changed; this script writes the config.json it reads (endpoint + function key).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))
from funchost.process import FunchostProcess, with_local_storage  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-running", action="store_true", help="leave durableml running afterwards")
    parser.add_argument("pipeline_args", nargs="*", help="extra arguments for pipeline.py")
    args = parser.parse_args()
    state = REPO / ".funchost" / "main"
    state.mkdir(parents=True, exist_ok=True)
    env = with_local_storage({**os.environ, "DURABLEML_STATE_DIR": str(state / "durableml"),
                              "PYTHONUNBUFFERED": "1"})
    host = FunchostProcess(REPO, state / "funchost", state / "funchost.log", env, cwd=REPO, ready_timeout=90)
    started = time.monotonic()
    print(f"starting durableml (funchost + Azurite); log: {host.log_path}", flush=True)
    host.start()
    print(f"durableml is ready at {host.base_url} ({time.monotonic() - started:.1f} s)\n", flush=True)
    (HERE / "config.json").write_text(json.dumps({
        "subscription_id": "00000000-0000-0000-0000-000000000000", "resource_group": "durableml",
        "workspace_name": "durableml-local", "endpoint": host.base_url, "key": host.function_key}, indent=2))
    try:
        return subprocess.run([sys.executable, str(HERE / "pipeline.py"), *args.pipeline_args], cwd=HERE).returncode
    finally:
        if args.keep_running:
            print(f"\ndurableml keeps running at {host.base_url} (pid {host.pid}); stop it with: kill {host.pid}")
        else:
            host.stop()


if __name__ == "__main__":
    raise SystemExit(main())
