"""The floor: each step's ``python step.py`` run straight from here, one after the other, in topological order."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

from .shapes import STEP_SCRIPT, Shape
from .venvs import floor_python


def clean_python() -> str:
    """The python of an empty venv (bench/peers/venvs.py): no editable install's or other ``.pth`` file runs."""
    return str(floor_python())


class BareEngine:
    label = "bare"

    def __init__(self, python: str | None = None) -> None:
        self.python = python or clean_python()

    def run(self, shape: Shape, workdir: Path) -> dict[str, Any]:
        before = os.times()
        t0 = time.perf_counter()
        for name, deps in shape.steps:
            subprocess.run([self.python, str(STEP_SCRIPT), str(workdir), name, *deps], check=True)
        seconds = time.perf_counter() - t0
        after = os.times()
        cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
        return {"seconds": seconds, "cpu_s": cpu}

    def stop(self) -> None:
        pass
