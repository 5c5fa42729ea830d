"""Schemathesis over the OpenAPI document (issue 17): no request it generates gets a server error.

Schemathesis takes the document that ``GET /api/openapi.json`` serves (``durableml.service.openapi``, loaded
when the tests are collected so that each operation is a test of its own; a test checks the served one is the
same) and runs each operation against a private funchost on a private Azurite, seeded with a published
pipeline, an endpoint, a draft and a run, so that generated junk stays away from other tests; every other case
is aimed at a seeded object (its id in place of the generated one) so that it reaches the code behind the
lookup. The function key goes in the ``x-functions-key`` header, never in a URL. Every answer must pass
Schemathesis's ``not_a_server_error`` check, and an error answer with a JSON body must carry the documented
``{"error": {"code", "message"}}`` (a custom check); the host's log must hold no unhandled error.

Bounded: ``SCHEMATHESIS_EXAMPLES`` (default 5) generated cases per operation (positive and negative ones), about
400 requests; the file takes 16-50 s on the shared 2-core machine (the longer under a load average of 11).
``SCHEMATHESIS_COVERAGE=1`` adds Schemathesis's coverage phase (boundary values and wrong types of every
property, about 4,600 requests and 5 minutes): run it when the document or the routes' validation change.
What it found is replayed by ``test_what_schemathesis_found_answers_4xx`` and the metrics test.
tests/test_rest_fuzz.py fuzzes the same API with hand-written strategies (path tricks, deep nesting, raw bytes).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from tests.private_host import private_host, seed_objects  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "5"))


class Served:
    """The private host: base URL, function key, the process (for its log), ids of the objects seeded there."""

    def __init__(self, base: str, key: str, host: Any) -> None:
        self.base, self.key, self.host = base, key, host
        self.session = requests.Session()
        self.session.headers["x-functions-key"] = key
        self.ids: dict[str, str] = {}  # path prefix or parameter -> a real id
        self.cases = 0


@pytest.fixture(scope="module")
def served(funchost_process: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with private_host(funchost_process, tmp_path_factory.mktemp("schemathesis")) as host:
        target = Served(host.base_url, host.function_key, host)
        _seed_objects(target)
        yield target
        target.session.close()
        assert_no_unhandled_error(host.output())


def _seed_objects(target: Served) -> None:
    """A published pipeline, an endpoint, a draft and a run, so that the list and get routes have something to show."""
    ids = seed_objects(target.session, target.base, target.key, "st", run=True)
    target.ids = {
        "/api/published-pipelines/": ids["pipeline"],
        "/PipelineSubmit/": ids["pipeline"],
        "/api/pipeline-endpoints/": ids["endpoint"],
        "/PipelineEndpointSubmit/Id/": ids["endpoint"],
        "/api/pipeline-drafts/": ids["draft"],
        "run_id": ids["run"],
    }


def _aim(case: Any, served: Served) -> None:
    """Every other case asks about a seeded object (its id in place of the generated one), so that generated
    bodies and parameters reach the code behind a lookup (a metric named by a list was stored, and then every
    request for the run's metrics answered 500)."""
    served.cases += 1
    parameters = case.path_parameters or {}
    if served.cases % 2 or not parameters:
        return
    for key, real in served.ids.items():
        if key in parameters:
            parameters[key] = real
        elif key.startswith("/") and key in case.path and "id" in parameters:
            parameters["id"] = real


def _document() -> dict[str, Any]:
    from durableml.service import openapi

    return openapi.document()


# The document the service serves (test_served_document_is_the_generated_one checks they are the same), loaded
# when the tests are collected so that each operation is a test of its own; the base URL is the private host's.
# (schemathesis.pytest.from_fixture, which would load it from the host, fails under pytest 9: "'Function' object
# has no attribute '_nodeid'".)
COVERAGE = os.environ.get("SCHEMATHESIS_COVERAGE", "0") == "1"
schema = schemathesis.openapi.from_dict(
    _document(), config=schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": COVERAGE}}})
)


def test_served_document_is_the_generated_one(served: Served) -> None:
    assert served.session.get(f"{served.base}/api/openapi.json", timeout=30).json() == _document()


def error_has_documented_body(ctx: Any, response: Any, case: Any) -> bool | None:
    """An error answer (4xx/5xx) with a JSON body carries ``{"error": {"code": str, "message": str}}``."""
    if response.status_code < 400 or not response.headers.get("content-type", [""])[0].startswith("application/json"):
        return None
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise AssertionError(f"{response.status_code} , a body not JSON: {response.content[:200]!r}") from exc
    error = body.get("error") if isinstance(body, dict) else None
    if not (isinstance(error, dict) and error.get("code") and error.get("message")):
        raise AssertionError(f"{response.status_code} without the documented error body: {response.content[:300]!r}")
    return True


def test_the_error_body_check_refuses_other_error_bodies() -> None:
    def answer(status: int, body: bytes) -> Any:
        return SimpleNamespace(status_code=status, headers={"content-type": ["application/json"]}, content=body)

    assert error_has_documented_body(None, answer(404, b'{"error": {"code": "NotFound", "message": "no"}}'), None)
    assert error_has_documented_body(None, answer(200, b'{"detail": "fine"}'), None) is None
    for body in (b'{"detail": "no"}', b'{"error": {"code": "X"}}', b"[1]", b"<html>"):
        with pytest.raises(AssertionError):
            error_has_documented_body(None, answer(400, body), None)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_finds_no_server_error(case: Any, served: Served) -> None:
    _aim(case, served)
    case.call_and_validate(
        base_url=served.base,
        session=served.session,
        headers={"x-functions-key": served.key},
        timeout=60,
        checks=[not_a_server_error, error_has_documented_body],
    )


_DOCUMENT = {
    "schemaVersion": 1,
    "kind": "durableml.pipeline",
    "description": None,
    "defaultDatastore": None,
    "parameters": {},
    "steps": [],
    "edges": [],
}
# What Schemathesis found answering 500: the request, the status it answers now and a word its message must hold
RUNS = "/api/experiments/st/runs"
FOUND = [
    ("POST", RUNS, {"document": _DOCUMENT, "stepProperties": [None, None]}, 400, "stepProperties"),
    ("POST", RUNS, {"document": _DOCUMENT, "stepProperties": {"a": [1]}}, 400, "stepProperties"),
    ("POST", RUNS, {"document": _DOCUMENT, "tags": [None, None]}, 400, "tags"),
    ("POST", RUNS, {"document": _DOCUMENT, "properties": "x"}, 400, "properties"),
    ("POST", RUNS, {"document": _DOCUMENT, "parameters": [1]}, 400, "parameters"),
    ("POST", RUNS, {"document": _DOCUMENT, "runSource": 3}, 400, "runSource"),
    # not a 500, but found by Schemathesis's response_schema_conformance: stored as given, then shown against the
    # document (Compute.description is a string)
    ("PUT", "/api/computes/st", {"description": [None, {"[]": 1}]}, 400, "description"),
    ("PUT", "/api/computes/st", {"tags": ["a"]}, 400, "tags"),
    ("PUT", "/api/computes/st", {"minNodeCount": "2"}, 400, "minNodeCount"),
    # a run id starting with '?' made the Durable client ask for the list of instances (a TypeError)
    ("GET", "/api/runs/%3F%F0%AF%A0%B1%C2%A2%F4%8C%B8%B3", None, 404, "no run with id"),
    ("GET", "/api/runs/%3Fa/steps", None, 404, "no run with id"),
    ("POST", "/api/runs/%3Fa/cancel", None, 404, "no run with id"),
    ("POST", "/api/runs/%3Fa/resume", None, 404, "no run with id"),
]


def test_a_metric_name_that_is_not_a_string_is_400_and_the_metrics_stay_readable(served: Served) -> None:
    metrics = f"{served.base}/api/runs/{served.ids['run_id']}/metrics"
    for name in (["a"], {"a": 1}, 3, None):
        answer = served.session.post(metrics, json={"metrics": [{"name": name, "value": 1}]}, timeout=30)
        assert answer.status_code == 400 and "'name' (a string)" in answer.json()["error"]["message"], answer.text
    assert served.session.post(metrics, json={"metrics": [{"name": "loss", "value": 1}]}, timeout=30).ok
    assert served.session.get(metrics, timeout=30).json() == {"loss": 1}


@pytest.mark.parametrize(("method", "path", "body", "status", "named"), FOUND)
def test_what_schemathesis_found_answers_4xx(
    served: Served, method: str, path: str, body: Any, status: int, named: str
) -> None:
    answer = served.session.request(method, served.base + path, json=body, timeout=30)
    assert answer.status_code == status, answer.text
    assert named in answer.json()["error"]["message"], answer.text


def test_host_survived_schemathesis(served: Served) -> None:
    assert served.host.is_running()
    answer = served.session.get(f"{served.base}/api/workspace", timeout=30)
    assert answer.status_code == 200
    assert_no_unhandled_error(served.host.output())


def assert_no_unhandled_error(log: str) -> None:
    """No function failed and no route answered 500 (aiohttp logs the requests it refuses itself with a traceback:
    those are 400s)."""
    for failure in ("(Failed)", "unexpected error in the durableml API"):
        assert failure not in log, log[log.index(failure) - 3000 : log.index(failure) + 1000]
