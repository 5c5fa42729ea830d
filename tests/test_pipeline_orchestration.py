"""Replay tests of pipeline_run and step_run: the DAG reacts to each completion, failures stop dependants,
chain edges hand an ended step's result to the next step_start, long runs continue as new."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from funchost.durable.replay import Decision, flatten_actions
from funchost.functions import load_app
from orchestrators.pipeline_run import GENERATION_STEPS
from tests.durable_replay import ReplayRun, kinds

APP = load_app(Path(__file__).parent / "apps" / "pipeline_orchestrators")


def plan(edges: dict[str, list[str]], cont: bool = False) -> dict:
    return {
        "run_id": "r1",
        "continue_on_step_failure": cont,
        "steps": [{"id": s, "name": s, "depends_on": deps} for s, deps in edges.items()],
    }


DIAMOND = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}


def subs(new: list[Decision]) -> list[str]:
    return [str(d.instance_id) for d in new if d.kind == "suborch"]


def inputs(new: list[Decision]) -> dict[str, Any]:
    """Step id (or activity name) -> the decision's input."""
    return {(d.instance_id or "").partition(":")[2] or d.name: json.loads(d.input or "null") for d in new}


def report(status: str = "Finished", **extra: Any) -> dict[str, Any]:
    return {
        "job_id": "j",
        "status": status,
        "exit_code": 0,
        "error": None,
        "outputs": {},
        "metrics": [],
        "complete": True,
        **extra,
    }


def start(p: dict) -> tuple[ReplayRun, list[Decision]]:
    run = ReplayRun(APP, "pipeline_run", p)
    _, new = run.episode()
    return run, new


def test_diamond_starts_each_step_as_soon_as_its_inputs_are_ready() -> None:
    run, new = start(plan(DIAMOND))
    assert subs(new) == ["r1:a"]
    assert inputs(new)["a"] == {"run_id": "r1", "step": plan(DIAMOND)["steps"][0], "pipeline_running": True}
    run.complete_sub(new[0].id, {"status": "Finished"})
    _, new = run.episode()
    assert subs(new) == ["r1:b", "r1:c"]  # both in the same episode
    assert all(set(i) == {"run_id", "step"} for i in inputs(new).values())  # no chain edge in a diamond
    ids = {d.instance_id: d.id for d in new}
    run.complete_sub(ids["r1:c"], {"status": "Finished"})
    _, new = run.episode()
    assert subs(new) == []  # d waits for b
    run.complete_sub(ids["r1:b"], {"status": "Finished"})
    _, new = run.episode()
    assert subs(new) == ["r1:d"]
    assert inputs(new)["d"]["defer_record"] is True  # the only sink: pipeline_finished records it
    run.complete_sub(new[0].id, {"status": "Finished", "report": report()})
    _, new = run.episode()
    assert [d.name for d in new] == ["pipeline_finished"]
    assert [r["step"]["id"] for r in inputs(new)["pipeline_finished"]["record_first"]] == ["d"]
    run.complete(new[0].id)
    state, _ = run.episode()
    assert state["output"] == {
        "run_id": "r1",
        "status": "Finished",
        "steps": {"a": "Finished", "b": "Finished", "c": "Finished", "d": "Finished"},
    }


def test_failure_stops_dependants_unless_continue_on_step_failure() -> None:
    for cont, expected in (
        (False, {"a": "Finished", "b": "Failed", "c": "Finished", "d": "NotStarted"}),
        (True, {"a": "Finished", "b": "Failed", "c": "Finished", "d": "NotStarted"}),
    ):
        run, new = start(plan(DIAMOND, cont))
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
    run, new = start(plan({"a": [], "b": [], "c": ["b"]}, cont=True))
    ids = {d.instance_id: d.id for d in new}
    assert sorted(ids) == ["r1:a", "r1:b"]
    assert [bool(i.get("pipeline_running")) for i in inputs(new).values()] == [True, False]  # only the first
    run.complete_sub(ids["r1:a"], {"status": "Failed"})
    _, new = run.episode()
    assert subs(new) == []
    run.complete_sub(ids["r1:b"], {"status": "Finished"})
    _, new = run.episode()
    assert subs(new) == ["r1:c"]  # still started: continue_on_step_failure


def test_cancel_event_cancels_running_steps_and_starts_nothing_new() -> None:
    run, new = start(plan({"a": [], "b": ["a"]}))
    run.raise_event("cancel", None)
    _, new = run.episode()
    assert [(d.name) for d in new] == ["steps_cancel"]
    run.complete(new[0].id)
    _, new = run.episode()
    assert new == []
    run.complete_sub(0, {"status": "Canceled"})
    _, new = run.episode()
    assert [d.name for d in new] == ["pipeline_finished"]
    run.complete(new[0].id)
    state, _ = run.episode()
    assert state["output"]["status"] == "Canceled" and state["output"]["steps"]["b"] == "NotStarted"


def test_a_chain_hands_each_ended_step_to_the_next_step_start() -> None:
    run, new = start(plan({"a": [], "b": ["a"], "c": ["b"]}))
    assert inputs(new)["a"]["defer_record"] is True
    run.complete_sub(new[0].id, {"status": "Finished", "report": report()})
    _, new = run.episode()
    assert subs(new) == ["r1:b"]  # no step_complete activity: b's step_start records a
    b = inputs(new)["b"]
    assert b["record_first"] == [{"step": plan({"a": []})["steps"][0], "report": report()}]
    assert b["defer_record"] is True and "pipeline_running" not in b
    run.complete_sub(new[0].id, {"status": "Finished", "report": report()})
    _, new = run.episode()
    c = inputs(new)["c"]
    assert subs(new) == ["r1:c"] and [r["step"]["id"] for r in c["record_first"]] == ["b"]
    assert c["defer_record"] is True  # the only sink
    run.complete_sub(new[0].id, {"status": "Finished", "report": report()})
    _, new = run.episode()
    assert [d.name for d in new] == ["pipeline_finished"]  # records c, then the run
    finished = inputs(new)["pipeline_finished"]
    assert [r["step"]["id"] for r in finished["record_first"]] == ["c"] and finished["status"] == "Finished"


def test_an_ended_step_nobody_starts_after_is_recorded_by_step_complete() -> None:
    run, new = start(plan({"a": [], "b": ["a"], "c": []}))
    assert subs(new) == ["r1:a", "r1:c"] and "defer_record" not in inputs(new)["c"]  # two sinks: b and c
    failed = report("Failed", exit_code=1, error="boom")
    run.complete_sub(new[0].id, {"status": "Failed", "report": failed})
    _, new = run.episode()
    assert kinds(new) == [(2, "task", "step_complete")]  # a failed, b never starts, c still runs: record a now
    assert inputs(new)["step_complete"] == {"run_id": "r1", "step": plan({"a": []})["steps"][0], "report": failed}
    run.complete_sub(1, {"status": "Finished"})
    _, new = run.episode()
    assert new == []  # still recording a
    run.complete(2, {"status": "Failed"})
    _, new = run.episode()
    assert [d.name for d in new] == ["pipeline_finished"] and inputs(new)["pipeline_finished"]["record_first"] == []
    run.complete(new[0].id)
    state, _ = run.episode()
    assert state["output"]["steps"] == {"a": "Failed", "b": "NotStarted", "c": "Finished"}


def test_a_failed_step_at_the_end_is_recorded_by_pipeline_finished() -> None:
    run, new = start(plan({"a": [], "b": ["a"], "c": ["b"]}))
    run.complete_sub(new[0].id, {"status": "Finished", "report": report()})
    _, new = run.episode()
    failed = report("Failed", exit_code=1, error="boom")
    run.complete_sub(new[0].id, {"status": "Failed", "report": failed})
    _, new = run.episode()
    assert [d.name for d in new] == ["pipeline_finished"]  # nothing else runs: no separate step_complete
    assert inputs(new)["pipeline_finished"]["record_first"] == [
        {"step": plan({"b": ["a"]})["steps"][0], "report": failed}
    ]
    run.complete(new[0].id)
    state, _ = run.episode()
    assert state["output"]["steps"] == {"a": "Finished", "b": "Failed", "c": "NotStarted"}


def test_a_failed_step_orchestration_gives_back_what_it_was_to_record() -> None:
    run, new = start(plan({"a": [], "b": ["a"]}))
    run.complete_sub(new[0].id, {"status": "Finished", "report": report()})
    _, new = run.episode()
    run.fail_sub(new[0].id, "step_start crashed")
    _, new = run.episode()
    assert [d.name for d in new] == ["pipeline_finished"]
    handed = inputs(new)["pipeline_finished"]["record_first"]
    assert [r["step"]["id"] for r in handed] == ["a", "b"]  # b's record gets the reason its orchestration failed
    assert handed[1]["report"]["status"] == "Failed" and "step_start crashed" in handed[1]["report"]["error"]
    run.complete(new[0].id)
    state, _ = run.episode()
    assert state["output"]["steps"] == {"a": "Finished", "b": "Failed"}


def test_a_long_chain_continues_as_new_between_steps_with_its_state() -> None:
    n = GENERATION_STEPS + 3
    edges = {f"s{i:02d}": ([f"s{i - 1:02d}"] if i else []) for i in range(n)}
    run, new = start(plan(edges))
    for i in range(GENERATION_STEPS):
        assert subs(new) == [f"r1:s{i:02d}"]
        run.complete_sub(new[0].id, {"status": "Finished", "report": report()})
        state, new = run.episode()
    assert new == [] and state["isDone"]
    carried = next(a for a in flatten_actions(state) if a.get("actionType") == 4)["input"]
    nxt = ReplayRun(APP, "pipeline_run", json.loads(carried))  # the next generation
    _, new = nxt.episode()
    following = f"s{GENERATION_STEPS:02d}"
    assert subs(new) == [f"r1:{following}"]
    work = inputs(new)[following]
    assert [r["step"]["id"] for r in work["record_first"]] == [f"s{GENERATION_STEPS - 1:02d}"]
    assert "pipeline_running" not in work
    for i in range(GENERATION_STEPS, n):
        nxt.complete_sub(new[0].id, {"status": "Finished", "report": report()} if i < n - 1 else {"status": "Finished"})
        state, new = nxt.episode()
    assert [d.name for d in new] == ["pipeline_finished"]
    nxt.complete(new[0].id)
    state, _ = nxt.episode()
    assert state["output"]["status"] == "Finished" and set(state["output"]["steps"].values()) == {"Finished"}


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
    run.raise_event("step_done", report())
    _, new = run.episode()
    assert kinds(new) == [(2, "task", "step_complete")]
    assert json.loads(new[0].input or "")["report"] == report()  # recorded from the event, no poll
    run.complete(2, {"status": "Finished"})
    state, _ = run.episode()
    assert state["isDone"] and state["output"] == {"status": "Finished"}


def test_step_run_polls_on_the_timer_and_for_an_incomplete_report() -> None:
    run = ReplayRun(APP, "step_run", {"run_id": "r1", "step": {"id": "a"}, "defer_record": True})
    run.episode()
    run.complete(0, {})
    run.episode()
    run.fire(1)
    _, new = run.episode()
    assert kinds(new) == [(2, "task", "step_complete")] and json.loads(new[0].input or "")["report"] is None
    run.complete(2, None)  # still running
    _, new = run.episode()
    assert kinds(new) == [(3, "timer", "")] and new[0].fire_at is not None
    run.raise_event("step_done", {"job_id": "j", "status": "Finished", "exit_code": 0, "complete": False})
    _, new = run.episode()
    assert kinds(new) == [(4, "task", "step_complete")] and json.loads(new[0].input or "")["report"] is None


def test_step_run_with_defer_record_returns_the_report_unrecorded() -> None:
    step = {"id": "a", "step_run_id": "r1_a"}
    run = ReplayRun(
        APP,
        "step_run",
        {
            "run_id": "r1",
            "step": step,
            "defer_record": True,
            "record_first": [{"step": {"id": "z"}, "report": report()}],
            "pipeline_running": True,
        },
    )
    _, new = run.episode()
    assert json.loads(new[0].input or "")["record_first"][0]["step"] == {"id": "z"}
    run.complete(0, {})
    run.episode()
    run.raise_event("step_done", report("Failed", error="boom"))
    state, new = run.episode()
    assert new == [] and state["isDone"]
    assert state["output"] == {
        "status": "Failed",
        "step_run_id": "r1_a",
        "error": "boom",
        "reused_from": None,
        "report": report("Failed", error="boom"),
    }


def test_the_run_finished_notice_is_retried_with_backoff_and_never_fails_the_run() -> None:
    run, new = start({**plan({"a": []}), "notify": True})
    run.complete_sub(new[0].id, {"status": "Finished"})
    _, new = run.episode()
    assert [d.name for d in new] == ["pipeline_finished"]
    run.complete(new[0].id)
    delays = []
    for _attempt in range(6):  # every attempt refused by the receiver
        _, new = run.episode()
        assert [d.name for d in new] == ["notify_run_finished"]
        run.fail(new[0].id, "receiver answered 503")
        state, new = run.episode()
        if not new:
            break
        assert [d.kind for d in new] == ["timer"]
        delays.append(new[0].fire_at)
        run.fire(new[0].id)
    assert state["isDone"] and state["output"]["status"] == "Finished"  # the notice's failure changes nothing
    assert len(delays) == 5
    gaps = [(later - earlier).total_seconds() for earlier, later in zip(delays, delays[1:], strict=False)]
    assert gaps == sorted(gaps) and gaps[-1] > 2 * gaps[0]  # the waits grow: backoff


def test_a_run_without_a_receiver_sends_no_notice() -> None:
    run, new = start(plan({"a": []}))
    run.complete_sub(new[0].id, {"status": "Finished"})
    _, new = run.episode()
    run.complete(new[0].id)
    state, new = run.episode()
    assert new == [] and state["isDone"]


def test_a_cancel_while_a_later_step_runs_cancels_it() -> None:
    """The cancel event waited for beside the first step, then beside the second: it must still be seen."""
    run, new = start(plan({"a": [], "b": ["a"], "c": ["b"]}))
    run.complete_sub(new[0].id, {"status": "Finished", "report": report()})
    _, new = run.episode()
    assert subs(new) == ["r1:b"]
    run.raise_event("cancel", None)
    _, new = run.episode()
    assert [d.name for d in new] == ["steps_cancel"], new
    assert inputs(new)["steps_cancel"]["step_ids"] == ["b"]


def test_a_cancel_while_only_steps_started_earlier_run_cancels_them() -> None:
    """After b ends, the round waits on c alone (started a round earlier): the cancel must still be seen."""
    run, new = start(plan(DIAMOND))
    run.complete_sub(new[0].id, {"status": "Finished", "report": report()})
    _, new = run.episode()
    assert subs(new) == ["r1:b", "r1:c"]
    b = next(d for d in new if d.instance_id == "r1:b")
    run.complete_sub(b.id, {"status": "Finished", "report": report()})
    _, new = run.episode()
    assert subs(new) == []  # d waits for c too
    run.raise_event("cancel", None)
    _, new = run.episode()
    assert [d.name for d in new] == ["steps_cancel"], new
    assert inputs(new)["steps_cancel"]["step_ids"] == ["c"]


def test_reuse_ahead_records_the_reused_steps_in_one_activity_and_starts_only_the_others() -> None:
    p = {**plan({"a": [], "b": ["a"], "c": ["b"], "x": []}), "reuse_ahead": True}
    run, new = start(p)
    assert [d.name for d in new] == ["steps_reuse"] and subs(new) == []  # before any step_run
    assert inputs(new)["steps_reuse"] == {
        "run_id": "r1",
        "ready": ["a", "x"],
        "depends_on": {"a": [], "b": ["a"], "c": ["b"], "x": []},
    }
    reused = {"a": {"status": "Finished", "step_run_id": "ra", "error": None, "reused_from": "o-a"}}
    run.complete(new[0].id, {"reused": {**reused, "b": {**reused["a"], "step_run_id": "rb"}}})
    _, new = run.episode()
    assert subs(new) == ["r1:c", "r1:x"]  # a and b are done: c is ready, x was
    assert not any(i.get("pipeline_running") for i in inputs(new).values())  # steps_reuse set the run Running
    assert "record_first" not in inputs(new)["c"]  # b's record is written already
    ids = {d.instance_id: d.id for d in new}
    run.complete_sub(ids["r1:c"], {"status": "Finished"})
    run.complete_sub(ids["r1:x"], {"status": "Finished"})
    _, new = run.episode()
    assert [d.name for d in new] == ["pipeline_finished"]
    run.complete(new[0].id)
    state, _ = run.episode()
    assert state["output"]["status"] == "Finished" and set(state["output"]["steps"].values()) == {"Finished"}


def test_a_fully_reused_run_and_a_failed_reuse_ahead() -> None:
    p = {**plan({"a": [], "b": ["a"]}), "reuse_ahead": True}
    run, new = start(p)
    done = {"status": "Finished", "step_run_id": "s", "error": None, "reused_from": "o"}
    run.complete(new[0].id, {"reused": {"a": done, "b": done}})
    _, new = run.episode()
    assert [d.name for d in new] == ["pipeline_finished"]  # nothing left to start
    run, new = start(p)
    run.fail(new[0].id, "ValueError: not what anybody expected")
    _, new = run.episode()
    assert subs(new) == ["r1:a"] and inputs(new)["a"]["pipeline_running"] is True  # the usual way


def test_step_run_polls_a_job_still_queued_less_often_than_a_running_one() -> None:
    def next_poll_after(pending: object) -> float:
        run = ReplayRun(APP, "step_run", {"run_id": "r1", "step": {"id": "a"}})
        run.episode()
        run.complete(0, {})
        run.episode()
        run.fire(1)
        _, new = run.episode()
        assert kinds(new) == [(2, "task", "step_complete")]
        run.complete(2, pending)
        _, new = run.episode()
        assert kinds(new) == [(3, "timer", "")] and new[0].fire_at is not None
        return (new[0].fire_at - run.now).total_seconds()

    assert next_poll_after({"pending": "Running"}) < 2  # 0.5 s doubled
    assert next_poll_after(None) < 2  # the answer of a step_complete from before "pending"
    assert next_poll_after({"pending": "Queued"}) >= 4.9  # waits for a node: its end is not near
