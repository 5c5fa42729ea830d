"""The one quality gate of the whole tree: ruff check, ruff format --check and mypy --strict.

ruff covers every Python file of the repository (pyproject.toml's [tool.ruff] says what is excluded and
why); mypy --strict covers every package that ships or deploys: the library, funchost, the Function App
(function_app.py, orchestrators, activities, triggers) and the build hook (the file list is
[tool.mypy] ``files`` in pyproject.toml, so ``mypy`` alone runs the same check).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GATES = {
    "ruff check": ["ruff", "check", "--output-format", "concise", "."],
    "ruff format": ["ruff", "format", "--check", "."],
    "mypy --strict": ["mypy"],
}


@pytest.mark.parametrize("gate", sorted(GATES))
def test_the_tree_passes(gate: str) -> None:
    result = subprocess.run([sys.executable, "-m", *GATES[gate]], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{gate} found problems:\n{result.stdout}{result.stderr}"


def test_mypy_checks_every_shipped_package() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert config.get("strict") is True
    wanted = {"durableml", "funchost", "orchestrators", "activities", "triggers", "function_app.py", "setup.py"}
    assert wanted <= set(config["files"]), f"mypy does not check {sorted(wanted - set(config['files']))}"
