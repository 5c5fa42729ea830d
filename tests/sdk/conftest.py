"""Fixtures of the SDK unit tests: a workspace backed by the ServiceDouble, and its datastore."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # when tests/sdk runs on its own
    sys.path.insert(0, str(REPO_ROOT))

from durableml import client as client_module  # noqa: E402
from durableml.core import Datastore, Workspace  # noqa: E402
from sdk_double import ServiceDouble  # noqa: E402


@pytest.fixture
def service() -> ServiceDouble:
    """A fresh service double."""
    return ServiceDouble()


@pytest.fixture
def ws(service: ServiceDouble) -> Workspace:
    """A workspace whose client is the service double."""
    return Workspace("sub", "rg", "ws", client=service)


@pytest.fixture
def blob_store(ws: Workspace) -> Datastore:
    """The workspace's ``workspaceblobstore``."""
    return Datastore(ws, "workspaceblobstore")


@pytest.fixture
def client_factory(service: ServiceDouble) -> Iterator[ServiceDouble]:
    """Make every Workspace created during the test (from_config included) use the double."""
    previous = client_module.set_client_factory(lambda config: service)
    try:
        yield service
    finally:
        client_module.set_client_factory(previous)
