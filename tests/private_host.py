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


EMPTY_PIPELINE: dict[str, Any] = {
    "schemaVersion": 1,
    "kind": "durableml.pipeline",
    "description": None,
    "defaultDatastore": None,
    "parameters": {"count": {"type": "int", "default": 1}},
    "steps": [],
    "edges": [],
}


def seed_objects(session: Any, base: str, key: str, name: str, run: bool = False) -> dict[str, str]:
    """A published pipeline, an endpoint and a draft (and with ``run``, a run of experiment ``name``), so that requests
    can be aimed at objects that exist; their ids by kind (``pipeline``, ``endpoint``, ``draft``, ``run``)."""
    headers = {"x-functions-key": key}

    def post(path: str, body: dict[str, Any], status: int) -> str:
        answer = session.post(f"{base}/api/{path}", headers=headers, timeout=30, json=body)
        assert answer.status_code == status, answer.text
        return str(answer.json()["id"])

    ids = {"pipeline": post("published-pipelines", {"document": EMPTY_PIPELINE, "name": name}, 201)}
    ids["endpoint"] = post("pipeline-endpoints", {"name": name, "pipelineId": ids["pipeline"]}, 201)
    ids["draft"] = post("pipeline-drafts", {"document": EMPTY_PIPELINE, "name": name}, 201)
    if run:
        ids["run"] = post(f"experiments/{name}/runs", {"document": EMPTY_PIPELINE}, 202)
    return ids
