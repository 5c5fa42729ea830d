"""ruff and mypy stay clean on the SDK authoring layer (the modules this test suite covers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SDK = [
    "durableml/__init__.py", "durableml/_alias.py", "durableml/_canonical.py", "durableml/_names.py",
    "durableml/_unsupported.py", "durableml/_version.py", "durableml/client.py", "durableml/compat.py",
    "durableml/config.py", "durableml/exceptions.py", "durableml/git_info.py", "durableml/recurrence.py",
    "durableml/core",
    "durableml/data", "durableml/pipeline", "durableml/widgets", "durableml/train", "durableml/automl",
    "durableml/contrib", "durableml/opendatasets",
]  # fmt: skip


@pytest.mark.parametrize(
    "tool",
    [["ruff", "check", "--output-format", "concise"], ["ruff", "format", "--check"], ["mypy", "--strict"]],
    ids=lambda t: " ".join(t[:2]),
)
def test_sdk_is_clean(tool: list[str]) -> None:
    targets = [*SDK, "tests/sdk"] if tool[0] == "ruff" else SDK  # the tests are linted, not type-checked strictly
    result = subprocess.run(
        [sys.executable, "-m", *tool, *targets], cwd=ROOT, capture_output=True, text=True, timeout=300
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
