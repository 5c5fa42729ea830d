"""The HTTP client stays out of the way of ``import durableml`` (lint and types: tests/test_quality_gate.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]


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
