"""Step reuse: an unchanged resubmission reuses every step; allow_reuse=False and regenerate_outputs=True
run the steps again. The journal counts how often each script really ran.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from durableml.core import Experiment
from durableml.pipeline.core import Pipeline, PipelineData

from ._helpers import ensure_compute, journal_counts, step, step_summary

EXPERIMENT = "e2e-reuse"


@pytest.fixture(scope="module")
def env(service: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ws = service.workspace()
    return {
        "ws": ws,
        "compute": ensure_compute(ws),
        "service": service,
        "journal": tmp_path_factory.mktemp("reuse") / "journal.txt",
        "runs": {},
    }


def build(env: dict[str, Any], allow_reuse_a: bool = True) -> Pipeline:
    """A -> B over PipelineData, built afresh each time as a rerun notebook would."""
    store = env["ws"].get_default_datastore()
    a_out = PipelineData("a_out", datastore=store)
    step("A", env["journal"], env["compute"], output=a_out, allow_reuse=allow_reuse_a)
    b = step("B", env["journal"], env["compute"], inputs=[a_out])
    return Pipeline(workspace=env["ws"], steps=[b])


def submit(env: dict[str, Any], pipeline: Pipeline, **options: Any) -> tuple[Any, float]:
    started = time.monotonic()
    run: Any = Experiment(env["ws"], EXPERIMENT).submit(pipeline, **options)
    status = run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
    took = time.monotonic() - started
    assert status == "Finished", f"{status}\n{step_summary(run)}\n{env['service'].log_tail()}"
    return run, took


def reused_from(run: Any) -> dict[str, Any]:
    return {s.name: s.get_details().get("reused_from") for s in run.get_steps()}


def test_first_run_runs_every_step(env: dict[str, Any]) -> None:
    run, _took = submit(env, build(env))
    env["runs"]["first"] = run
    assert reused_from(run) == {"A": None, "B": None}
    assert journal_counts(env["journal"], "end") == {"A": 1, "B": 1}


def test_unchanged_resubmission_reuses_every_step(env: dict[str, Any]) -> None:
    first = env["runs"]["first"]
    run, took = submit(env, build(env))
    assert run.id != first.id
    ids = {s.name: s.id for s in first.get_steps()}
    assert reused_from(run) == ids
    assert {s.name: s.get_status() for s in run.get_steps()} == {"A": "Finished", "B": "Finished"}
    assert journal_counts(env["journal"], "end") == {"A": 1, "B": 1}, "no script ran again"
    reused_a = run.find_step_run("A")[0].get_output_data("a_out").path_on_datastore
    assert reused_a == first.find_step_run("A")[0].get_output_data("a_out").path_on_datastore


def test_allow_reuse_false_runs_again(env: dict[str, Any]) -> None:
    run, _took = submit(env, build(env, allow_reuse_a=False))
    # A runs again; B's input (A's new output) changed, so B runs again too.
    assert reused_from(run) == {"A": None, "B": None}
    assert journal_counts(env["journal"], "end") == {"A": 2, "B": 2}


def test_regenerate_outputs_runs_again(env: dict[str, Any]) -> None:
    run, _took = submit(env, build(env), regenerate_outputs=True)
    assert reused_from(run) == {"A": None, "B": None}
    assert journal_counts(env["journal"], "end") == {"A": 3, "B": 3}
