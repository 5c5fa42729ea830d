"""A funchost of this repository's Function App on an Azurite of its own, for tests that send it generated junk
(tests/test_rest_fuzz.py, tests/test_rest_schemathesis.py): what they create stays away from other tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from funchost.azurite import start_azurite

REPO_ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def private_host(funchost_process: Any, work: Path) -> Iterator[Any]:
    """The running :class:`~funchost.process.FunchostProcess` (the ``funchost_process`` fixture's), its state and
    Azurite's data in ``work``; both are stopped afterwards."""
    azurite = start_azurite(work / "azurite")
    host = None
    try:
        host = funchost_process(
            REPO_ROOT,
            env={"AzureWebJobsStorage": azurite.connection_string, "DURABLEML_STATE_DIR": str(work / "state")},
            ready_timeout=60,
        )
        yield host
    finally:
        if host is not None:
            host.stop()
        azurite.stop()
