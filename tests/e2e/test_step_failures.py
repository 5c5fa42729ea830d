"""Every place a step can fail, and the reason the user sees for it in each place they look.

Places: bad settings and step kinds durableml cannot run (refused at submit), a compute target that is
gone when the step starts, a backend that cannot take the job (submit error), an input that cannot be
staged, the script itself, and an output that cannot be uploaded. For each run that starts, the reason is
checked in the step record (``find_step_run(...)[0].get_details()["error"]``), ``get_status()``, the run's
error, ``wait_for_completion`` with and without output, and the HTTP API's step list.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from durableml.core import Experiment
from durableml.data.data_reference import DataReference
from durableml.exceptions import ActivityFailedException
from durableml.pipeline.core import Pipeline, PipelineData
from durableml.pipeline.steps import PythonScriptStep

from ._helpers import ensure_compute, step

EXPERIMENT = "e2e-step-failures"
PROJECT = Path(__file__).resolve().parent / "projects" / "failures"


@pytest.fixture(scope="module")
def env(service: Any) -> dict[str, Any]:
    ws = service.workspace()
    return {"ws": ws, "compute": ensure_compute(ws), "service": service}


def fails_with(env: dict[str, Any], pipeline: Pipeline, step_name: str, reason: str, capsys: Any) -> None:
    """Run ``pipeline``; the step ``step_name`` must fail with ``reason`` shown everywhere a user looks."""
    run: Any = Experiment(env["ws"], EXPERIMENT).submit(pipeline)
    with pytest.raises(ActivityFailedException) as quiet:
        run.wait_for_completion(show_output=False, timeout_seconds=120)
    assert step_name in str(quiet.value) and reason in str(quiet.value), str(quiet.value)
    with pytest.raises(ActivityFailedException) as loud:
        run.wait_for_completion(show_output=True, timeout_seconds=60)
    assert reason in str(loud.value), str(loud.value)
    capsys.readouterr()

    assert run.get_status() == "Failed"
    run_error = str(run.get_details().get("error"))
    assert f"step '{step_name}' failed" in run_error and reason.splitlines()[-1] in run_error, run_error

    found = run.find_step_run(step_name)
    assert len(found) == 1, f"no step record for {step_name}: {[s.name for s in run.get_steps()]}"
    assert found[0].get_status() == "Failed"
    assert reason in str(found[0].get_details().get("error")), found[0].get_details()

    answer = env["service"].api("GET", f"/api/runs/{run.id}/steps")
    assert answer.status_code == 200, answer.text
    steps = answer.json()
    steps = steps.get("value", steps) if isinstance(steps, dict) else steps
    record = next(s for s in steps if s.get("name") == step_name)
    assert record["status"] == "Failed" and reason in str(record.get("error")), record


def test_the_script_fails(env: dict[str, Any], tmp_path: Path, capsys: Any) -> None:
    bad = step("bad", tmp_path / "journal.txt", env["compute"], extra=["--fail"])
    fails_with(env, Pipeline(env["ws"], [bad]), "bad", "step bad failed on purpose", capsys)
    # one structured line per finished step in the host's log (what the docs' KQL query parses)
    events = [
        json.loads(line.split("durableml.step_end ", 1)[1])
        for line in env["service"].host.output().splitlines()
        if "durableml.step_end {" in line
    ]
    failed = [e for e in events if e["step_name"] == "bad" and e["status"] == "Failed"]
    assert len(failed) == 1, events
    assert "step bad failed on purpose" in failed[0]["error"] and failed[0]["run_id"], failed
    assert isinstance(failed[0]["duration_s"], float) and failed[0]["duration_s"] >= 0, failed


def test_an_input_cannot_be_staged(env: dict[str, Any], tmp_path: Path, capsys: Any) -> None:
    store = env["ws"].get_default_datastore()
    (tmp_path / "other.txt").write_text("the datastore has data, just not at the path the step reads\n")
    store.upload_files([str(tmp_path / "other.txt")], target_path="e2e-step-failures", overwrite=True)
    missing = DataReference(store, "missing", "no/such/folder-e2e", mode="download")
    reader = PythonScriptStep(
        "read_input.py", name="reader", arguments=[missing], inputs=[missing],
        compute_target=env["compute"], source_directory=str(PROJECT), allow_reuse=False,
    )  # fmt: skip
    fails_with(env, Pipeline(env["ws"], [reader]), "reader", "nothing found at", capsys)


def test_an_output_cannot_be_uploaded(env: dict[str, Any], capsys: Any) -> None:
    out = PipelineData("deep", datastore=env["ws"].get_default_datastore())
    writer = PythonScriptStep(
        "deep_output.py", name="writer", arguments=[out], outputs=[out],
        compute_target=env["compute"], source_directory=str(PROJECT), allow_reuse=False,
    )  # fmt: skip
    fails_with(env, Pipeline(env["ws"], [writer]), "writer", "Azure Storage allows at most 1024 characters", capsys)


def test_the_compute_target_is_gone_when_the_step_starts(env: dict[str, Any], tmp_path: Path, capsys: Any) -> None:
    doomed = ensure_compute(env["ws"], "e2e-doomed", max_nodes=1)
    first = step("first", tmp_path / "journal.txt", env["compute"], extra=["--sleep", "2"], allow_reuse=False)
    second = step("second", tmp_path / "journal.txt", doomed, allow_reuse=False)
    second.run_after(first)
    run: Any = Experiment(env["ws"], EXPERIMENT).submit(Pipeline(env["ws"], [second]))
    assert env["service"].api("DELETE", "/api/computes/e2e-doomed").status_code in (200, 204)
    with pytest.raises(ActivityFailedException) as failed:
        run.wait_for_completion(show_output=False, timeout_seconds=120)
    reason = "no compute target named 'e2e-doomed'"
    assert "second" in str(failed.value) and reason in str(failed.value), str(failed.value)
    record = run.find_step_run("second")[0]
    assert record.get_status() == "Failed" and reason in str(record.get_details()["error"])
    assert run.find_step_run("first")[0].get_status() == "Finished"


def test_the_backend_cannot_take_the_job(env: dict[str, Any], tmp_path: Path, capsys: Any) -> None:
    broken = ensure_compute(env["ws"], "e2e-broken", max_nodes=1)
    state = Path(env["service"].state_dir) / "compute" / "e2e-broken"
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text("not a directory: the local backend cannot keep its jobs here\n")
    try:
        lonely = step("lonely", tmp_path / "journal.txt", broken, allow_reuse=False)
        fails_with(env, Pipeline(env["ws"], [lonely]), "lonely", "e2e-broken", capsys)
    finally:
        state.unlink()


def test_bad_settings_are_refused_at_submit(env: dict[str, Any]) -> None:
    document = Pipeline(env["ws"], [step("fine", "journal.txt", env["compute"])]).to_document()
    document["steps"][0]["settings"]["scriptName"] = 42
    answer = env["service"].api(
        "POST", f"/api/experiments/{EXPERIMENT}/runs", data=json.dumps({"document": document, "parameters": {}})
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "InvalidDocument" and "settings.scriptName" in json.dumps(error), error


def test_a_step_kind_on_a_target_it_does_not_run_on_is_refused_at_submit(env: dict[str, Any]) -> None:
    """A DatabricksStep whose compute target is an AmlCompute: refused before anything starts, naming the step."""
    document = Pipeline(env["ws"], [step("shell", "journal.txt", env["compute"])]).to_document()
    settings = {"target": {"kind": "notebook_path", "value": "/x"}}
    document["steps"][0].update(kind="databricks", settings=settings)  # a DatabricksStep
    answer = env["service"].api(
        "POST", f"/api/experiments/{EXPERIMENT}/runs", data=json.dumps({"document": document, "parameters": {}})
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "NotSupported" and "step 'shell'" in error["message"], error
    assert "DatabricksStep" in error["message"] and "Nothing was started" in error["message"], error
    runs = env["service"].api("GET", f"/api/experiments/{EXPERIMENT}/runs").json()
    runs = runs.get("value", runs) if isinstance(runs, dict) else runs
    assert not any("shell" in json.dumps(r) for r in runs), "nothing was started"


def test_a_step_on_a_compute_type_its_kind_does_not_run_on_is_refused(env: dict[str, Any]) -> None:
    answer = env["service"].api("PUT", "/api/computes/e2e-spark", data=json.dumps({"type": "DatabricksCompute"}))
    assert answer.status_code in (200, 201), answer.text
    document = Pipeline(env["ws"], [step("sparky", "journal.txt", env["compute"])]).to_document()
    document["steps"][0]["computeTarget"] = "e2e-spark"
    answer = env["service"].api(
        "POST", f"/api/experiments/{EXPERIMENT}/runs", data=json.dumps({"document": document, "parameters": {}})
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "NotSupported" and "step 'sparky'" in error["message"], error
    assert "'e2e-spark' is DatabricksCompute" in error["message"], error
