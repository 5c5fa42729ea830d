"""Start durableml on this machine for an example, with :mod:`durableml.launcher` (as ``durableml up`` does):
funchost on the repository's Function App, which starts Azurite, with its state under ``.funchost/<name>/``
at the repository root, and a config.json (endpoint + function key) in the example's folder for
``Workspace.from_config()``. The config.json is git-ignored.

    with local_durableml("batch_scoring", HERE, keep_running=args.keep_running) as service:
        ...
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from durableml.launcher import LauncherError, LocalDurableml

REPO = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def local_durableml(name: str, project: Path, keep_running: bool = False) -> Iterator[LocalDurableml]:
    """A running durableml whose config.json is in ``project``; stopped afterwards unless ``keep_running``.

    Steps can call the service (Model.register, Dataset.get_by_name...): the launcher provisions their key.
    """
    service = LocalDurableml(REPO / ".funchost" / name)
    service.check()
    print(f"starting durableml (funchost + Azurite); log: {service.log_path}", flush=True)
    started = time.monotonic()
    service.start()
    print(f"durableml is ready at {service.base_url} ({time.monotonic() - started:.1f} s)\n", flush=True)
    try:
        service.note_config(service.write_config(project))
        yield service
    finally:
        if keep_running:
            state = service.state_dir.relative_to(REPO)
            print(
                f"\ndurableml keeps running at {service.base_url} (pid {service.pid}); stop it with: "
                f".venv/bin/durableml down --state-dir {state} (in {REPO})"
            )
        else:
            service.stop()


def run_example(name: str, project: Path, script: str, doc: str) -> int:
    """An example's ``run.py``: start durableml, run ``script`` (with the extra arguments) in ``project``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--keep-running", action="store_true", help="leave durableml running afterwards")
    parser.add_argument("script_args", nargs="*", help=f"extra arguments for {script}")
    args, options = parser.parse_known_args()  # options such as --upload FILE go to the script too
    try:
        with local_durableml(name, project, keep_running=args.keep_running):
            command = [sys.executable, str(project / script), *args.script_args, *options]
            return subprocess.run(command, cwd=project).returncode
    except LauncherError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
