"""The loop every peer engine script runs in its own venv: one JSON request a line on stdin, one JSON answer a line.

A request is ``{"shape": {"name": ..., "steps": [[name, [deps...]], ...]}, "workdir": ..., "script": ...}``;
the answer ``{"seconds": S}`` (the engine's run alone: building the job or flow is the user's own code and is left
out, as the durableml side leaves out building the Pipeline) or ``{"error": "..."}``. Each step runs
``sys.executable script WORKDIR NAME DEPS...`` (this venv's python, a clean one). Whatever the engine prints goes to
stderr, so that stdout carries the answers only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from typing import Callable

Steps = list[tuple[str, list[str]]]
Build = Callable[[Steps, str, str], Callable[[], object]]


def run_step(script: str, workdir: str, name: str, deps: list[str]) -> None:
    subprocess.run([sys.executable, script, workdir, name, *deps], check=True)


def serve(build: Build) -> None:
    """Answer requests until stdin closes; ``build(steps, workdir, script)`` returns the callable that runs them."""
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the engine's own prints and logs go to stderr
    sys.stdout = sys.stderr
    for line in sys.stdin:
        request = json.loads(line)
        try:
            steps = [(name, list(deps)) for name, deps in request["shape"]["steps"]]
            go = build(steps, request["workdir"], request["script"])
            t0 = time.perf_counter()
            go()
            answer: dict[str, object] = {"seconds": time.perf_counter() - t0}
        except BaseException as exc:  # noqa: BLE001 - reported to the driver, which marks the run failed
            traceback.print_exc()
            answer = {"error": f"{type(exc).__name__}: {str(exc)[:500]}"}
        answers.write(json.dumps(answer) + "\n")
