"""Error answers become durableml exceptions; retries only where repeating is safe; the key stays secret.

These run against the scripted stub (conftest.py) for answers the real service cannot be made to give
on demand; the answers the real service does give are checked in test_http_service.py.
"""

from __future__ import annotations

import json

import time
from pathlib import Path
from typing import Any

import pytest
from http_stub import STUB_KEY, StubService

from durableml import http_client
from durableml.config import WorkspaceConfig
from durableml.exceptions import (
    AuthenticationException,
    AzureMLException,
    ComputeTargetException,
    ComputeTargetNotFoundError,
    ConflictError,
    DatastoreNotFoundError,
    DocumentValidationError,
    GoneError,
    NotSupportedError,
    RunNotFoundError,
    ServiceError,
    ServiceNotConnectedError,
    SnapshotException,
    UserErrorException,
    ValidationError,
)
from durableml.http_client import HttpServiceClient
from durableml.source_snapshot import file_sha256

SUBMIT = "/api/experiments/exp/runs"


def _submit(client: HttpServiceClient) -> Any:
    return client.submit_pipeline(
        {"schemaVersion": 1}, "exp", {}, regenerate_outputs=False, continue_on_step_failure=False, tags={}
    )  # fmt: skip


MAPPED = [
    ("get_datastore", ("nope",), "GET", "/api/datastores/nope", 404, "NotFound", DatastoreNotFoundError),
    ("get_compute", ("gpu",), "GET", "/api/computes/gpu", 404, "NotFound", ComputeTargetNotFoundError),
    ("get_run", ("r1",), "GET", "/api/runs/r1", 404, "NotFound", RunNotFoundError),
    ("list_step_runs", ("r1",), "GET", "/api/runs/r1/steps", 404, "NotFound", RunNotFoundError),
    ("create_compute", ("c", {}), "PUT", "/api/computes/c", 400, "ValidationError", ValidationError),
    ("create_compute", ("c", {}), "PUT", "/api/computes/c", 400, "ComputeTargetError", ComputeTargetException),
    ("create_compute", ("c", {}), "PUT", "/api/computes/c", 409, "Conflict", ConflictError),
    ("get_run", ("r1",), "GET", "/api/runs/r1", 410, "Gone", GoneError),
    ("register_datastore", ({"name": "d"}, False), "PUT", "/api/datastores/d", 400, "NotSupported", NotSupportedError),
]  # fmt: skip


@pytest.mark.parametrize(("operation", "args", "method", "path", "status", "code", "expected"), MAPPED)
def test_status_and_code_map_to_the_exception_tree(
    stub: StubService,
    stub_client: HttpServiceClient,
    operation: str,
    args: tuple[Any, ...],
    method: str,
    path: str,
    status: int,
    code: str,
    expected: type[AzureMLException],
) -> None:
    stub.error(method, path, status, code, f"the service says no ({code})")
    with pytest.raises(expected) as caught:
        getattr(stub_client, operation)(*args)
    assert type(caught.value) is expected
    assert caught.value.message == f"the service says no ({code})"  # the service's message, unchanged
    assert caught.value.details["status"] == status and caught.value.details["request"] == f"{method} {path}"


def test_v1_catch_clauses_still_work(stub: StubService, stub_client: HttpServiceClient) -> None:
    stub.error("GET", "/api/datastores/nope", 404, "NotFound", "no datastore named 'nope'")
    stub.error("GET", "/api/computes/gpu", 404, "NotFound", "no compute target named 'gpu'")
    with pytest.raises(UserErrorException):
        stub_client.get_datastore("nope")
    with pytest.raises(ComputeTargetException):  # what v1 notebooks catch before ComputeTarget.create
        stub_client.get_compute("gpu")


def test_an_invalid_document_carries_its_issues(stub: StubService, stub_client: HttpServiceClient) -> None:
    message = "The pipeline document is not valid (2 problem(s)):\n  - $.steps: empty\n  - $.schemaVersion: bad"
    issues = [{"code": "empty", "message": "empty", "path": "$.steps"},
              {"code": "schema_version", "message": "bad", "path": "$.schemaVersion"}]  # fmt: skip
    stub.error("POST", SUBMIT, 400, "InvalidDocument", message, issues)
    with pytest.raises(DocumentValidationError) as caught:
        _submit(stub_client)
    assert [issue.to_dict() for issue in caught.value.issues] == issues
    assert str(caught.value) == message


def test_server_errors_name_the_route_and_the_message(stub: StubService, stub_client: HttpServiceClient) -> None:
    stub.error("GET", "/api/runs/r1", 500, "InternalError", "unexpected KeyError; see the host log")
    with pytest.raises(ServiceError, match=r"GET /api/runs/r1 \(HTTP 500\): unexpected KeyError; see the host log"):
        stub_client.get_run("r1")


def test_a_missing_route_is_not_a_missing_resource(stub: StubService, stub_client: HttpServiceClient) -> None:
    with pytest.raises(ServiceError, match=r"has no route GET /api/experiments") as caught:
        stub_client.list_experiments()
    assert not isinstance(caught.value, LookupError)


def test_too_large_snapshot_file(stub: StubService, stub_client: HttpServiceClient, tmp_path: Path) -> None:
    (tmp_path / "big.bin").write_bytes(b"x" * 10)
    sha = file_sha256(tmp_path / "big.bin")
    stub.reply("POST", "/api/snapshots/missing", 200, {"missing": [sha]})
    stub.error("PUT", f"/api/snapshots/files/{sha}", 413, "TooLarge", "the file is larger than 300 MB")
    with pytest.raises(SnapshotException, match="larger than 300 MB.*amlignore"):
        stub_client.upload_snapshot(str(tmp_path))


def test_the_key_is_sent_as_a_header_and_never_shown(stub: StubService, stub_client: HttpServiceClient) -> None:
    stub.error("GET", "/api/computes", 401, "Unauthorized", "a valid function key is required")
    with pytest.raises(AuthenticationException, match="DURABLEML_KEY") as caught:
        stub_client.list_compute()
    assert isinstance(caught.value, PermissionError)
    assert stub.requests[0].headers["x-functions-key"] == STUB_KEY
    assert STUB_KEY not in stub.requests[0].path  # not in the URL either
    shown = [str(caught.value), repr(caught.value), repr(caught.value.details), repr(stub_client)]
    assert not any(STUB_KEY in text for text in shown)


def test_no_key_configured_says_so(stub: StubService) -> None:
    stub.error("GET", "/api/computes", 401, "Unauthorized", "a valid function key is required")
    with HttpServiceClient(WorkspaceConfig(endpoint=stub.base_url, source="/x/config.json")) as client:
        with pytest.raises(AuthenticationException, match=r"No function key.*'key' in config.json \(/x/config.json\)"):
            client.list_compute()
    assert "x-functions-key" not in stub.requests[0].headers


def test_idempotent_requests_are_retried_on_503(stub: StubService, stub_client: HttpServiceClient) -> None:
    stub.reply("GET", "/api/runs/r1", 503, "starting", times=2)
    stub.reply("GET", "/api/runs/r1", 200, {"id": "r1", "status": "Running"})
    assert stub_client.get_run("r1")["status"] == "Running"
    assert len(stub.requests) == 3


def test_submit_is_never_retried(stub: StubService, stub_client: HttpServiceClient) -> None:
    stub.reply("POST", SUBMIT, 503, "busy", times=3)
    with pytest.raises(ServiceError, match="HTTP 503"):
        _submit(stub_client)
    assert len(stub.requests) == 1


def test_submit_sends_the_documented_body(stub: StubService, stub_client: HttpServiceClient) -> None:
    stub.reply("POST", SUBMIT, 202, {"id": "run-1", "status": "NotStarted"})
    record = stub_client.submit_pipeline(
        {"schemaVersion": 1}, "exp", {"p": 1}, regenerate_outputs=True, continue_on_step_failure=False, tags={"t": "v"},
        properties={"azureml.git.commit": "abc"}, step_properties={"s1": {"azureml.git.dirty": "False"}},
    )  # fmt: skip
    assert record == {"id": "run-1", "status": "NotStarted"}
    import json

    assert json.loads(stub.requests[0].body) == {
        "document": {"schemaVersion": 1}, "parameters": {"p": 1}, "tags": {"t": "v"},
        "continueOnStepFailure": False, "regenerateOutputs": True,
        "properties": {"azureml.git.commit": "abc"}, "stepProperties": {"s1": {"azureml.git.dirty": "False"}},
    }  # fmt: skip


def _refusing_client(free_port: Any) -> HttpServiceClient:
    return HttpServiceClient(WorkspaceConfig(endpoint=f"http://127.0.0.1:{free_port()}", key=STUB_KEY))


def test_connection_refused_says_how_to_start_the_service(free_port: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []
    monkeypatch.setattr(time, "sleep", pauses.append)
    with _refusing_client(free_port) as client:
        with pytest.raises(ServiceNotConnectedError) as caught:
            client.get_run("r1")
    message = str(caught.value)
    assert f"'get_run' needs the durableml service at {client.endpoint}, which refused the connection" in message
    assert "python -m funchost start --app" in message and STUB_KEY not in message
    assert isinstance(caught.value, ConnectionError)
    assert pauses == list(http_client.RETRY_DELAYS)  # a GET is tried three times


def test_a_refused_submit_is_not_retried(free_port: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []
    monkeypatch.setattr(time, "sleep", pauses.append)
    with _refusing_client(free_port) as client:
        with pytest.raises(ServiceNotConnectedError, match="refused the connection") as caught:
            _submit(client)
    assert pauses == []
    assert "may have reached" not in str(caught.value)  # refused: it certainly did not


def test_a_remote_endpoint_gets_a_remote_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    client = HttpServiceClient(WorkspaceConfig(endpoint="http://durableml.invalid", key=STUB_KEY), timeout=(2, 2))
    with client, pytest.raises(ServiceNotConnectedError, match="Check that the Function App runs"):
        client.list_compute()


def test_a_hostile_listing_cannot_write_outside_the_target(
    stub: StubService, stub_client: HttpServiceClient, tmp_path: Path
) -> None:
    stub.reply("GET", "/api/datastores/ws/files", 200, ["ok.txt", "../escape.txt"])
    with pytest.raises(ServiceError, match="would leave"):
        stub_client.download_files("ws", None, str(tmp_path / "target"), True, False)
    assert not (tmp_path / "escape.txt").exists()


def test_a_failed_download_leaves_no_partial_file(
    stub: StubService, stub_client: HttpServiceClient, tmp_path: Path
) -> None:
    stub.reply("GET", "/api/datastores/ws/files", 200, ["a.txt"])
    stub.error("GET", "/api/datastores/ws/files/a.txt", 500, "InternalError", "boom", None)
    with pytest.raises(ServiceError, match="boom"):
        stub_client.download_files("ws", "", str(tmp_path), True, False)
    assert list(tmp_path.iterdir()) == []


PUBLISH_ROUTES = [  # every publish / endpoint / draft operation: (operation, args, method, path, status, answer)
    ("publish_pipeline", (None, {"sourceRunId": "r", "name": None}), "POST", "/api/published-pipelines", 201, {}),
    ("get_published_pipeline", ("p 1",), "GET", "/api/published-pipelines/p%201", 200, {}),
    ("list_published_pipelines", (False,), "GET", "/api/published-pipelines?activeOnly=false", 200, []),
    ("update_published_pipeline", ("p", {"status": "Disabled"}), "PATCH", "/api/published-pipelines/p", 200, {}),
    ("create_pipeline_endpoint", ({"name": "e"},), "POST", "/api/pipeline-endpoints", 201, {}),
    ("get_pipeline_endpoint", (None, "my endpoint"), "GET", "/api/pipeline-endpoints?name=my+endpoint", 200, {}),
    ("list_pipeline_endpoints", (True,), "GET", "/api/pipeline-endpoints?activeOnly=true", 200, []),
    ("update_pipeline_endpoint", ("e", {"name": "n"}), "PATCH", "/api/pipeline-endpoints/e", 200, {}),
    ("create_draft", ({"steps": []}, {"name": "d", "tags": None}), "POST", "/api/pipeline-drafts", 201, {}),
    ("get_draft", ("d",), "GET", "/api/pipeline-drafts/d", 200, {}),
    ("list_drafts", ({"dev": "true"},), "GET", "/api/pipeline-drafts?tags=%7B%22dev%22%3A+%22true%22%7D", 200, []),
    ("update_draft", ("d", None, {"name": "n"}), "PATCH", "/api/pipeline-drafts/d", 200, {}),
    ("submit_draft", ("d",), "POST", "/api/pipeline-drafts/d/submit", 202, {}),
    ("publish_draft", ("d",), "POST", "/api/pipeline-drafts/d/publish", 201, {}),
]


@pytest.mark.parametrize(
    ("operation", "args", "method", "path", "status", "answer"), PUBLISH_ROUTES, ids=[r[0] for r in PUBLISH_ROUTES]
)
def test_publish_operations_call_their_routes(
    stub: StubService,
    stub_client: HttpServiceClient,
    operation: str,
    args: tuple[Any, ...],
    method: str,
    path: str,
    status: int,
    answer: Any,
) -> None:
    stub.reply(method, path.split("?")[0], status, answer)
    assert getattr(stub_client, operation)(*args) == answer
    sent = stub.requests[-1]
    assert (sent.method, sent.path) == (method, path)
    if sent.body:
        assert None not in json.loads(sent.body).values()  # unset settings are left out, not sent as null


def test_published_runs_post_a_v1_body_with_an_idempotency_key(
    stub: StubService, stub_client: HttpServiceClient
) -> None:
    v1 = (
        "/api/pipelines/v1.0/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/"
        "workspaces/w/PipelineRuns/PipelineEndpointSubmit/Id/e"
    )
    stub.reply("GET", "/api/pipeline-endpoints/e", 200, {"endpoint": "http://elsewhere:1" + v1})
    stub.reply("POST", v1 + "/2", 200, {"Id": "r"})
    stub.reply("GET", "/api/runs/r", 200, {"id": "r"})
    assert stub_client.submit_pipeline_endpoint("e", "exp", "2", {"count": 3, "flag": True}) == {"id": "r"}
    posted = stub.requests[1]
    assert posted.path == v1 + "/2"  # the record's path on the configured host, not the record's host
    assert json.loads(posted.body) == {
        "ExperimentName": "exp",
        "RunSource": "SDK",
        "ParameterAssignments": {"count": 3, "flag": True},
    }
    assert posted.headers.get("Idempotency-Key")


def test_every_protocol_method_is_implemented() -> None:
    from durableml.client import ServiceClient

    names = [name for name in vars(ServiceClient) if not name.startswith("_")]
    missing = [name for name in names if not callable(getattr(HttpServiceClient, name, None))]
    assert names and missing == []


def test_a_slow_answer_is_a_timeout_error(stub: StubService, monkeypatch: pytest.MonkeyPatch) -> None:
    original = stub.take

    def slow(method: str, path: str) -> tuple[int, bytes, str]:
        time.sleep(0.5)
        return original(method, path)

    monkeypatch.setattr(stub, "take", slow)
    with HttpServiceClient(WorkspaceConfig(endpoint=stub.base_url, key=STUB_KEY), timeout=(1, 0.1)) as client:
        with pytest.raises(ServiceError, match=r"did not answer POST .* within.*may have reached.*get_runs"):
            _submit(client)
    assert len(stub.requests) == 1
