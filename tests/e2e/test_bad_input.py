"""Bad input from the SDK and over raw HTTP: each gives a clear error and leaves nothing half-created.

"Nothing half-created" is checked by listing the experiment's runs (over HTTP and through the SDK):
a rejected submission has no run record, and its experiment does not appear.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any, Callable

import pytest

from durableml.core import Datastore, Experiment
from durableml.data.data_reference import DataReference
from durableml.exceptions import (
    AzureMLException,
    DatastoreNotFoundError,
    RunNotFoundError,
    UserErrorException,
    ValidationError,
)
from durableml.pipeline.core import Pipeline, PipelineData, PipelineRun
from durableml.pipeline.core.graph import PipelineParameter
from durableml.pipeline.steps import PythonScriptStep
from durableml.pipeline.submission import attach_snapshots

from ._helpers import STEPS_DIR, ensure_compute, step


@pytest.fixture(scope="module")
def env(service: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ws = service.workspace()
    return {
        "ws": ws,
        "compute": ensure_compute(ws),
        "service": service,
        "journal": tmp_path_factory.mktemp("bad") / "journal.txt",
    }


def new_experiment(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def assert_no_runs(env: dict[str, Any], experiment: str) -> None:
    listed = env["service"].api("GET", f"/api/experiments/{experiment}/runs")
    assert listed.status_code == 200 and listed.json() == [], f"runs left behind: {listed.text}"
    assert Experiment(env["ws"], experiment).get_runs() == []
    assert experiment not in env["ws"].experiments, "a rejected submission created its experiment"


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text}"
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"]), body
    assert body["error"]["message"], body
    return dict(body["error"])


# ---------------------------------------------------------------------------------------------- the SDK
def test_unknown_compute_target_name(env: dict[str, Any]) -> None:
    experiment = new_experiment("e2e-bad-compute")
    lost = PythonScriptStep(
        script_name="step.py",
        arguments=["--name", "lost"],
        compute_target="no-such-compute",
        source_directory=str(STEPS_DIR),
    )
    with pytest.raises(AzureMLException) as raised:
        Experiment(env["ws"], experiment).submit(Pipeline(workspace=env["ws"], steps=[lost]))
    assert "no-such-compute" in str(raised.value)
    assert_no_runs(env, experiment)


def test_unknown_datastore(env: dict[str, Any]) -> None:
    for lookup in (lambda: Datastore(env["ws"], "no-such-store"), lambda: Datastore.get(env["ws"], "no-such-store")):
        with pytest.raises(DatastoreNotFoundError) as raised:
            lookup()
        assert isinstance(raised.value, UserErrorException)  # what v1 notebooks catch
        assert "no-such-store" in str(raised.value)


def test_missing_script_is_rejected_before_submit(env: dict[str, Any]) -> None:
    experiment = new_experiment("e2e-bad-script")
    missing = PythonScriptStep(script_name="missing.py", compute_target=env["compute"], source_directory=str(STEPS_DIR))
    with pytest.raises(ValidationError) as raised:
        Experiment(env["ws"], experiment).submit(Pipeline(workspace=env["ws"], steps=[missing]))
    assert "missing.py" in str(raised.value)
    assert_no_runs(env, experiment)


def test_undeclared_pipeline_parameter_is_rejected(env: dict[str, Any]) -> None:
    experiment = new_experiment("e2e-bad-param")
    count = PipelineParameter(name="count", default_value=1)
    counted = step("counted", env["journal"], env["compute"], extra=["--value", count])
    pipeline = Pipeline(workspace=env["ws"], steps=[counted])
    with pytest.raises(ValidationError) as raised:
        Experiment(env["ws"], experiment).submit(pipeline, pipeline_parameters={"count": "many"})
    assert "count" in str(raised.value)
    assert_no_runs(env, experiment)


# ---------------------------------------------------------------------------------------------- raw HTTP
def valid_document(env: dict[str, Any]) -> dict[str, Any]:
    """A compiled, snapshot-attached document: read_ref (a DataReference input) -> use_ref (PipelineData)."""
    ws = env["ws"]
    store = ws.get_default_datastore()
    store.upload_files([str(STEPS_DIR / "step.py")], target_path="bad-input", overwrite=True, show_progress=False)
    ref = DataReference(datastore=store, data_reference_name="script_ref", path_on_datastore="bad-input/step.py")
    between = PipelineData("between", datastore=store)
    first = PythonScriptStep(
        script_name="step.py",
        name="read_ref",
        compute_target=env["compute"],
        arguments=["--name", "read_ref", "--in", ref, "--out", between],
        inputs=[ref],
        outputs=[between],
        source_directory=str(STEPS_DIR),
    )
    second = step("use_ref", env["journal"], env["compute"], inputs=[between])
    document = Pipeline(workspace=ws, steps=[first, second]).to_document()
    attach_snapshots(document, ws._client)
    return document


def submit_raw(env: dict[str, Any], experiment: str, body: Any) -> Any:
    if isinstance(body, (bytes, str)):
        return env["service"].api(
            "POST", f"/api/experiments/{experiment}/runs", data=body, headers={"content-type": "application/json"}
        )
    return env["service"].api("POST", f"/api/experiments/{experiment}/runs", json=body)


def test_valid_raw_document_is_accepted(env: dict[str, Any]) -> None:
    """The base document of the bad-document cases below is itself fine: it runs to Finished."""
    experiment = new_experiment("e2e-raw-ok")
    response = submit_raw(env, experiment, {"document": valid_document(env)})
    assert response.status_code == 202, response.text
    run = PipelineRun(Experiment(env["ws"], experiment), response.json()["id"])
    assert run.wait_for_completion(show_output=False, timeout_seconds=60) == "Finished"


def _steps(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in doc["steps"]}


def _cycle(doc: dict[str, Any]) -> None:
    steps = _steps(doc)
    steps["read_ref"]["runAfter"] = [steps["use_ref"]["id"]]


def _unknown_compute(doc: dict[str, Any]) -> None:
    _steps(doc)["use_ref"]["computeTarget"] = "no-such-compute"


def _unknown_datastore(doc: dict[str, Any]) -> None:
    for binding in _steps(doc)["read_ref"]["inputs"].values():
        if binding["source"]["kind"] == "datastore":
            binding["source"]["datastore"] = "no-such-store"


def _unbound_input(doc: dict[str, Any]) -> None:
    for binding in _steps(doc)["use_ref"]["inputs"].values():
        binding["source"]["step"] = "no_such_step"


def _duplicate_output(doc: dict[str, Any]) -> None:
    steps = _steps(doc)
    steps["use_ref"]["outputs"] = copy.deepcopy(steps["read_ref"]["outputs"])


def _bad_parameter_type(doc: dict[str, Any]) -> None:
    doc["parameters"]["weird"] = {"type": "complex", "default": 1}


def _not_a_document(doc: dict[str, Any]) -> None:
    doc.clear()
    doc.update({"schemaVersion": 1, "steps": "none"})


BAD_DOCUMENTS: dict[str, tuple[Callable[[dict[str, Any]], None], tuple[str, ...]]] = {
    "cycle": (_cycle, ("cycle",)),
    "unknown compute": (_unknown_compute, ("no-such-compute",)),
    "unknown datastore": (_unknown_datastore, ("no-such-store",)),
    "unbound input": (_unbound_input, ("no_such_step",)),
    "duplicate output": (_duplicate_output, ("between",)),
    "unknown parameter type": (_bad_parameter_type, ("complex",)),
    "not a document": (_not_a_document, ()),
}


@pytest.mark.parametrize("case", list(BAD_DOCUMENTS))
def test_invalid_document_is_rejected_with_issues(env: dict[str, Any], case: str) -> None:
    mutate, mentions = BAD_DOCUMENTS[case]
    document = valid_document(env)
    mutate(document)
    experiment = new_experiment("e2e-raw-bad")
    response = submit_raw(env, experiment, {"document": document})
    error = error_of(response, 400) if response.status_code != 404 else error_of(response, 404)
    text = (error["message"] + " " + repr(error.get("details"))).lower()
    for mention in mentions:
        assert mention.lower() in text, f"{case}: the error does not mention {mention!r}: {error}"
    if case not in ("unknown compute", "unknown datastore"):
        assert response.status_code == 400 and error["details"], f"{case}: 400 with a list of issues: {error}"
    assert_no_runs(env, experiment)


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b""], ids=["not json", "a list", "empty"])
def test_malformed_body_is_rejected(env: dict[str, Any], body: bytes) -> None:
    experiment = new_experiment("e2e-raw-body")
    error_of(submit_raw(env, experiment, body), 400)
    assert_no_runs(env, experiment)


def test_missing_document_is_rejected(env: dict[str, Any]) -> None:
    experiment = new_experiment("e2e-raw-empty")
    error_of(submit_raw(env, experiment, {"parameters": {}}), 400)
    assert_no_runs(env, experiment)


# ---------------------------------------------------------------------------------------------- unknown runs
@pytest.mark.parametrize(
    "method,route",
    [
        ("GET", "/api/runs/{id}"),
        ("GET", "/api/runs/{id}/steps"),
        ("GET", "/api/runs/{id}/logs"),
        ("GET", "/api/runs/{id}/metrics"),
        ("GET", "/api/runs/{id}/files"),
        ("POST", "/api/runs/{id}/cancel"),
    ],
)
def test_unknown_run_id_is_404(env: dict[str, Any], method: str, route: str) -> None:
    run_id = str(uuid.uuid4())
    error = error_of(env["service"].api(method, route.format(id=run_id)), 404)
    assert run_id in error["message"], error


def test_unknown_run_id_through_the_sdk(env: dict[str, Any]) -> None:
    run = PipelineRun(Experiment(env["ws"], "e2e-no-such-run"), "no-such-run-id")
    for call in (run.get_status, run.get_details, run.get_metrics, run.cancel):
        with pytest.raises(RunNotFoundError) as raised:
            call()
        assert isinstance(raised.value, UserErrorException)  # v1's family for a bad run id
        assert "no-such-run-id" in str(raised.value)


def test_unknown_run_id_steps_through_the_sdk(env: dict[str, Any]) -> None:
    run = PipelineRun(Experiment(env["ws"], "e2e-no-such-run"), "no-such-run-id")
    with pytest.raises(RunNotFoundError):
        run.get_steps()
    with pytest.raises(RunNotFoundError):
        run.find_step_run("anything")
