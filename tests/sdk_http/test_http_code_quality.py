"""The HTTP client stays lint-clean, strictly typed, and out of the way of ``import durableml``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    "durableml/http_client.py",
    "durableml/_http_transport.py",
    "durableml/_http_errors.py",
    "durableml/_http_unavailable.py",
    "durableml/_http_schedules.py",
    "durableml/_http_published.py",
    "durableml/source_snapshot.py",
    "durableml/ignore_rules.py",
    "durableml/client.py",
]


@pytest.mark.parametrize(
    "tool",
    [["ruff", "check", "--output-format", "concise"], ["ruff", "format", "--check"], ["mypy", "--strict"]],
    ids=lambda t: " ".join(t[:2]),
)
def test_http_client_is_clean(tool: list[str]) -> None:
    targets = [*SOURCES, "tests/sdk_http"] if tool[0] == "ruff" else SOURCES
    result = subprocess.run(
        [sys.executable, "-m", *tool, *targets], cwd=ROOT, capture_output=True, text=True, timeout=300
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_requests_is_imported_only_by_the_first_request() -> None:
    code = (
        "import sys, durableml, durableml.core, durableml.http_client\n"
        "ws = durableml.core.Workspace('s', 'rg', 'ws')\n"
        "assert type(ws._client).__name__ == 'HttpServiceClient', ws._client\n"
        "print('requests' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
