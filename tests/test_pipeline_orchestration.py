"""Replay tests of pipeline_run and step_run: the DAG reacts to each completion, failures stop dependants."""
from __future__ import annotations

from pathlib import Path

from funchost.functions import load_app
from tests.durable_replay import ReplayRun, kinds

APP = load_app(Path(__file__).parent / "apps" / "pipeline_orchestrators")


def plan(edges: dict[str, list[str]], cont: bool = False) -> dict:
    return {"run_id": "r1", "continue_on_step_failure": cont,
            "steps": [{"id": s, "name": s, "depends_on": deps, "spec": {}} for s, deps in edges.items()]}


DIAMOND = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}


def subs(new: list) -> list[str]:
    return [d.instance_id for d in new if d.kind == "suborch"]


def start(p: dict) -> ReplayRun:
    run = ReplayRun(APP, "pipeline_run", p)
    _, new = run.episode()
    assert kinds(new) == [(0, "task", "pipeline_started")]
    run.complete(0)
    return run


def test_diamond_starts_each_step_as_soon_as_its_inputs_are_ready() -> None:
    run = start(plan(DIAMOND))
    _, new = run.episode()
    assert subs(new) == ["r1:a"]
    run.complete_sub(new[0].id, {"status": "Finished"})
    _, new = run.episode()
    assert subs(new) == ["r1:b", "r1:c"]  # both in the same episode
    ids = {d.instance_id: d.id for d in new}
    run.complete_sub(ids["r1:c"], {"status": "Finished"})
    _, new = run.episode()
    assert subs(new) == []  # d waits for b
    run.complete_sub(ids["r1:b"], {"status": "Finished"})
    _, new = run.episode()
    assert subs(new) == ["r1:d"]
    run.complete_sub(new[0].id, {"status": "Finished"})
    _, new = run.episode()
    assert [d.name for d in new] == ["pipeline_finished"]
    run.complete(new[0].id)
    state, _ = run.episode()
    assert state["output"] == {"run_id": "r1", "status": "Finished",
                               "steps": {"a": "Finished", "b": "Finished", "c": "Finished", "d": "Finished"}}


def test_failure_stops_dependants_unless_continue_on_step_failure() -> None:
    for cont, expected in ((False, {"a": "Finished", "b": "Failed", "c": "Finished", "d": "NotStarted"}),
                           (True, {"a": "Finished", "b": "Failed", "c": "Finished", "d": "NotStarted"})):
        run = start(plan(DIAMOND, cont))
        _, new = run.episode()
        run.complete_sub(new[0].id, {"status": "Finished"})
        _, new = run.episode()
        ids = {d.instance_id: d.id for d in new}
        run.complete_sub(ids["r1:b"], {"status": "Failed", "error": "boom"})
        run.complete_sub(ids["r1:c"], {"status": "Finished"})
        _, new = run.episode()
        assert subs(new) == [] and [d.name for d in new] == ["pipeline_finished"]
        run.complete(new[0].id)
        state, _ = run.episode()
        assert state["output"]["status"] == "Failed" and state["output"]["steps"] == expected


def test_continue_on_failure_runs_independent_branches() -> None:
    run = start(plan({"a": [], "b": [], "c": ["b"]}, cont=True))
    _, new = run.episode()
    ids = {d.instance_id: d.id for d in new}
    assert sorted(ids) == ["r1:a", "r1:b"]
    run.complete_sub(ids["r1:a"], {"status": "Failed"})
    _, new = run.episode()
    assert subs(new) == []
    run.complete_sub(ids["r1:b"], {"status": "Finished"})
    _, new = run.episode()
    assert subs(new) == ["r1:c"]  # still started: continue_on_step_failure


def test_cancel_event_cancels_running_steps_and_starts_nothing_new() -> None:
    run = start(plan({"a": [], "b": ["a"]}))
    _, new = run.episode()
    run.raise_event("cancel", None)
    _, new = run.episode()
    assert [(d.name) for d in new] == ["steps_cancel"]
    run.complete(new[0].id)
    _, new = run.episode()
    assert new == []
    run.complete_sub(0 + 1, {"status": "Canceled"})
    _, new = run.episode()
    assert [d.name for d in new] == ["pipeline_finished"]
    run.complete(new[0].id)
    state, _ = run.episode()
    assert state["output"]["status"] == "Canceled" and state["output"]["steps"]["b"] == "NotStarted"


def test_step_run_reuse_short_circuits_and_event_beats_timer() -> None:
    run = ReplayRun(APP, "step_run", {"run_id": "r1", "step": {"id": "a"}})
    _, new = run.episode()
    assert kinds(new) == [(0, "task", "step_start")]
    run.complete(0, {"result": {"status": "Finished", "reused": True}})
    state, _ = run.episode()
    assert state["output"] == {"status": "Finished", "reused": True}

    run = ReplayRun(APP, "step_run", {"run_id": "r1", "step": {"id": "a"}})
    run.episode()
    run.complete(0, {"result": None})
    _, new = run.episode()
    assert kinds(new) == [(1, "timer", "")]
    run.raise_event("step_done", {"status": "Finished"})
    _, new = run.episode()
    assert kinds(new) == [(2, "task", "step_complete")]
    run.complete(2, {"status": "Finished"})
    state, _ = run.episode()
    assert state["isDone"] and state["output"] == {"status": "Finished"}
