"""The step processes' sitecustomize (durableml/runner/_startup): it runs a sitecustomize it shadows, once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import durableml.runner

STARTUP = Path(durableml.runner.__file__).resolve().parent / "_startup"


def _run(pythonpath: list[Path], code: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath)}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout


def test_a_sitecustomize_further_on_the_path_still_runs_once(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text("print('theirs ran')\n")
    out = _run([STARTUP, tmp_path], "print('script')")
    assert out.splitlines() == ["theirs ran", "script"]


def test_without_another_sitecustomize_nothing_else_runs(tmp_path: Path) -> None:
    out = _run([STARTUP, tmp_path], "import sys; print(sys.modules['sitecustomize'].__file__)")
    assert Path(out.strip()) == STARTUP / "sitecustomize.py"
