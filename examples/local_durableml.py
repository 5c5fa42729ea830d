"""Start durableml on this machine for an example: funchost on the repository's Function App, which starts
Azurite, with its state under ``.funchost/<name>/`` at the repository root, and a config.json (endpoint +
function key) in the example's folder for ``Workspace.from_config()``. The config.json is git-ignored.

    with local_durableml("batch_scoring", HERE, keep_running=args.keep_running) as host:
        ...
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
from funchost.keys import ensure_function_key  # noqa: E402
from funchost.process import FunchostProcess, with_local_storage  # noqa: E402


@contextlib.contextmanager
def local_durableml(name: str, project: Path, keep_running: bool = False) -> Iterator[FunchostProcess]:
    """A running durableml whose config.json is in ``project``; stopped afterwards unless ``keep_running``."""
    state = REPO / ".funchost" / name
    state.mkdir(parents=True, exist_ok=True)
    # steps call the service (Model.register, Dataset.get_by_name...) with a function key of their own
    step_key = ensure_function_key(state / "funchost", "durableml-steps")
    env = with_local_storage(
        {
            **os.environ,
            "DURABLEML_STATE_DIR": str(state / "durableml"),
            "DURABLEML_STEP_KEY": step_key,
            "PYTHONUNBUFFERED": "1",
        }
    )
    host = FunchostProcess(REPO, state / "funchost", state / "funchost.log", env, cwd=REPO, ready_timeout=90)
    started = time.monotonic()
    print(f"starting durableml (funchost + Azurite); log: {host.log_path}", flush=True)
    host.start()
    print(f"durableml is ready at {host.base_url} ({time.monotonic() - started:.1f} s)\n", flush=True)
    (project / "config.json").write_text(
        json.dumps(
            {
                "subscription_id": "00000000-0000-0000-0000-000000000000",
                "resource_group": "durableml",
                "workspace_name": "durableml-local",
                "endpoint": host.base_url,
                "key": host.function_key,
            },
            indent=2,
        )
    )
    try:
        yield host
    finally:
        if keep_running:
            print(f"\ndurableml keeps running at {host.base_url} (pid {host.pid}); stop it with: kill {host.pid}")
        else:
            host.stop()


def run_example(name: str, project: Path, script: str, doc: str) -> int:
    """An example's ``run.py``: start durableml, run ``script`` (with the extra arguments) in ``project``."""
    import argparse
    import subprocess

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--keep-running", action="store_true", help="leave durableml running afterwards")
    parser.add_argument("script_args", nargs="*", help=f"extra arguments for {script}")
    args, options = parser.parse_known_args()  # options such as --upload FILE go to the script too
    with local_durableml(name, project, keep_running=args.keep_running):
        command = [sys.executable, str(project / script), *args.script_args, *options]
        return subprocess.run(command, cwd=project).returncode
