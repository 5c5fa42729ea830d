"""ruff and mypy stay clean on the compute plane and the step runner."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CODE = ["durableml/compute", "durableml/runner"]


@pytest.mark.parametrize(
    "tool",
    [["ruff", "check", "--output-format", "concise"], ["ruff", "format", "--check"], ["mypy", "--strict"]],
    ids=lambda t: " ".join(t[:2]),
)
def test_compute_and_runner_are_clean(tool: list[str]) -> None:
    targets = [*CODE, "tests/runtime", "bench/compute_bench.py"] if tool[0] == "ruff" else CODE
    result = subprocess.run(
        [sys.executable, "-m", *tool, *targets], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
