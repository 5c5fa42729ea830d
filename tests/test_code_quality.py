"""Lint and type checks as tests, so CI keeps the code as style.md asks (ruff clean, mypy clean)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ["funchost"]


@pytest.mark.parametrize("tool", [["ruff", "check", "--output-format", "concise"], ["mypy"]])
def test_tool_is_clean(tool: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", *tool, *CHECKED], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
