"""Resume (issue 4 item 6): ``PipelineRun.resume()`` and ``POST /api/runs/{id}/resume`` start a new run of the
same pipeline, with the same parameters, that reuses every step that finished (allow_reuse=False ones too)
and runs exactly the failed and canceled steps and everything downstream of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from durableml.core import Experiment
from durableml.pipeline.core import Pipeline, PipelineData, PipelineParameter

from ._helpers import ensure_compute, journal_counts, step, step_summary, wait_until

EXPERIMENT = "e2e-resume"


@pytest.fixture(scope="module")
def env(service: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ws = service.workspace()
    work = tmp_path_factory.mktemp("resume")
    return {
        "ws": ws,
        "compute": ensure_compute(ws),
        "service": service,
        "journal": work / "journal.txt",
        "flag": work / "break-b",
        "runs": {},
    }


def build(env: dict[str, Any]) -> Pipeline:
    """A -> B -> C, A -> E, and D alone (allow_reuse=False); B fails while the flag file exists."""
    store = env["ws"].get_default_datastore()
    a_out, b_out = PipelineData("a_out", datastore=store), PipelineData("b_out", datastore=store)
    value = PipelineParameter("value", default_value="default")
    journal, compute = env["journal"], env["compute"]
    step("A", journal, compute, output=a_out, extra=["--value", value])
    step("B", journal, compute, inputs=[a_out], output=b_out, extra=["--fail-if", str(env["flag"])])
    c = step("C", journal, compute, inputs=[b_out])
    d = step("D", journal, compute, allow_reuse=False)
    e = step("E", journal, compute, inputs=[a_out])
    return Pipeline(env["ws"], [c, d, e])


def statuses(run: Any) -> dict[str, str]:
    return {s.name: s.get_status() for s in run.get_steps()}


def reused_from(run: Any) -> dict[str, Any]:
    return {s.name: s.get_details().get("reusedFrom") for s in run.get_steps()}


def test_a_failed_run(env: dict[str, Any]) -> None:
    env["flag"].write_text("B fails while this file exists")
    run: Any = Experiment(env["ws"], EXPERIMENT).submit(
        build(env), pipeline_parameters={"value": "chosen"}, continue_on_step_failure=True
    )
    assert run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False) == "Failed"
    assert statuses(run) == {"A": "Finished", "B": "Failed", "C": "NotStarted", "D": "Finished", "E": "Finished"}
    env["runs"]["failed"] = run


def test_resume_runs_exactly_the_failed_subgraph(env: dict[str, Any]) -> None:
    failed = env["runs"]["failed"]
    env["flag"].unlink()
    resumed = failed.resume()
    assert resumed.id != failed.id
    assert resumed.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished", step_summary(resumed)
    original = {s.name: s.id for s in failed.get_steps()}
    assert reused_from(resumed) == {"A": original["A"], "B": None, "C": None, "D": original["D"], "E": original["E"]}
    assert journal_counts(env["journal"], "start") == {"A": 1, "B": 2, "C": 1, "D": 1, "E": 1}
    assert journal_counts(env["journal"], "end") == {"A": 1, "B": 1, "C": 1, "D": 1, "E": 1}
    details = resumed.get_details()
    assert details["parameters"] == {"value": "chosen"} and details["resumedFrom"] == failed.id
    # C read the data of the reused A through B: the chain is whole.
    c_out = resumed.find_step_run("B")[0].get_output_data("b_out").path_on_datastore
    assert resumed.find_step_run("B")[0].id in c_out
    explanation = resumed.find_step_run("B")[0].get_reuse_explanation()
    assert f"this run resumes {failed.id}" in str(explanation)
    env["runs"]["resumed"] = resumed


def test_resuming_a_finished_run_reuses_everything(env: dict[str, Any]) -> None:
    resumed = env["runs"]["resumed"]
    answer = env["service"].api("POST", f"/api/runs/{resumed.id}/resume")
    assert answer.status_code == 202, answer.text
    from durableml.pipeline.core import PipelineRun

    again = PipelineRun(Experiment(env["ws"], EXPERIMENT), answer.json()["id"])
    assert again.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished", step_summary(again)
    first = {s.name: s.id for s in env["runs"]["failed"].get_steps()}
    second = {s.name: s.id for s in resumed.get_steps()}
    # Each reused step names the run that produced its outputs, not the run that reused them.
    assert reused_from(again) == {"A": first["A"], "B": second["B"], "C": second["C"], "D": first["D"], "E": first["E"]}
    assert journal_counts(env["journal"], "end") == {"A": 1, "B": 1, "C": 1, "D": 1, "E": 1}


def test_bad_resume_requests(env: dict[str, Any], tmp_path: Path) -> None:
    api = env["service"].api
    assert api("POST", "/api/runs/no-such-run/resume").status_code == 404
    step_run = env["runs"]["failed"].find_step_run("B")[0].id
    answer = api("POST", f"/api/runs/{step_run}/resume")
    assert answer.status_code == 400 and "is a step run" in answer.json()["error"]["message"]

    slow = step("slow", tmp_path / "journal.txt", env["compute"], extra=["--sleep", "30"], allow_reuse=False)
    running: Any = Experiment(env["ws"], EXPERIMENT).submit(Pipeline(env["ws"], [slow]))
    try:
        wait_until(lambda: running.get_status() == "Running", timeout=60, interval=0.2, what="the slow run to start")
        answer = api("POST", f"/api/runs/{running.id}/resume")
        assert answer.status_code == 409, answer.text
        assert "resume it once it has ended" in answer.json()["error"]["message"]
    finally:
        running.cancel()
    assert running.wait_for_completion(show_output=False, timeout_seconds=60, raise_on_error=False) == "Canceled"
