"""Fixtures of the HTTP client tests.

* ``stub``: the scripted HTTP server of http_stub.py, on a loopback port, for one test.
* ``stub_client``: an :class:`HttpServiceClient` pointed at it, with a known key and instant retries.

The real service (funchost on this repository's function_app.py, against Azurite) is started by
the integration module itself; see test_http_service.py.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # http_stub, also when this folder runs alone

from http_stub import STUB_KEY, StubService, running_stub  # noqa: E402

from durableml.config import WorkspaceConfig  # noqa: E402
from durableml.http_client import HttpServiceClient  # noqa: E402


@pytest.fixture
def stub() -> Iterator[StubService]:
    """A scripted HTTP server on 127.0.0.1, stopped after the test."""
    with running_stub() as service:
        yield service


@pytest.fixture
def stub_client(stub: StubService) -> Iterator[HttpServiceClient]:
    """A client of the stub with a known key and near-instant retries."""
    with HttpServiceClient(WorkspaceConfig(endpoint=stub.base_url, key=STUB_KEY), retry_delays=(0.01, 0.01)) as client:
        yield client
