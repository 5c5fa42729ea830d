"""Replay tests: real SDK orchestrator handles on hand-built histories, checked against the shim's ids.

These pin the id sequences of durable-protocol.md §3.2 and §3.6 (retries, the extra timer after the
last failed attempt, compound tasks) and the non-determinism check of §3.3.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from funchost.durable import history as h
from funchost.durable.history import EventType
from funchost.durable.replay import NonDeterminismError, replay
from funchost.functions import load_app
from tests.durable_replay import T0, ReplayRun, kinds

APP = load_app(Path(__file__).parent / "apps" / "replay_app")


def test_retry_inside_task_all_takes_ids_2_3_then_4() -> None:
    run = ReplayRun(APP, "retry_all")
    _, new = run.episode()
    assert kinds(new) == [(0, "task", "A"), (1, "task", "B")]
    run.fail(0)
    run.complete(1, "b")
    _, new = run.episode()
    assert kinds(new) == [(2, "timer", "")]
    assert new[0].fire_at == run.now + timedelta(milliseconds=1000)
    run.fire(2)
    _, new = run.episode()
    assert kinds(new) == [(3, "task", "A")]
    run.complete(3, "a")
    _, new = run.episode()
    assert kinds(new) == [(4, "task", "C")]
    run.complete(4, "c")
    state, new = run.episode()
    assert new == [] and state["isDone"] and state["output"] == "done"


def test_retry_to_the_end_has_the_extra_immediate_timer() -> None:
    """TS0 TF0 | TC1 TFi1 | TS2 TF2 | TC3 TFi3 | TS4 TF4 | TC5(FireAt=now) TFi5 -> the SDK raises."""
    run = ReplayRun(APP, "retry_to_end")
    expected = [
        (0, "task", "A"),
        (1, "timer", ""),
        (2, "task", "A"),
        (3, "timer", ""),
        (4, "task", "A"),
        (5, "timer", ""),
    ]
    seen = []
    _, new = run.episode()
    seen += kinds(new)
    for _ in range(5):
        d = new[0]
        if d.kind == "task":
            run.fail(d.id, f"attempt {d.id}")
        else:
            run.fire(d.id)
        state, new = run.episode()
        seen += kinds(new)
    assert seen == expected
    last_timer = [e for e in run.events if e["EventType"] == EventType.TimerCreated][-1]
    started = [e for e in run.events if e["EventType"] == EventType.OrchestratorStarted]
    assert last_timer["FireAt"] == started[-1]["Timestamp"]  # fires "now": no delay after the last attempt
    run.fire(5)
    state, new = run.episode()
    assert state["isDone"] and new == []
    assert state["output"].startswith("caught: Activity function 'A' failed:  ValueError: attempt 4")


def test_batched_completions_are_one_episode() -> None:
    run = ReplayRun(APP, "chain")
    run.episode()
    run.complete(0, 1)
    _, new = run.episode()
    assert kinds(new) == [(1, "task", "B")]
    run.complete(1, 2)
    state, _ = run.episode()
    assert state["output"] == 2


def test_renamed_activity_is_non_deterministic() -> None:
    history = [
        h.event(EventType.OrchestratorStarted, T0),
        h.execution_started(T0, "i1", "e1", "renamed", None),
        h.event(EventType.TaskScheduled, T0, 0, Name="A", Input=None),
        h.event(EventType.OrchestratorCompleted, T0),
    ]
    actions = [{"actionType": 0, "functionName": "Z", "input": "1"}]
    with pytest.raises(NonDeterminismError, match="scheduled an activity task named 'A'"):
        replay(history, actions)


def test_missing_action_is_non_deterministic_with_dtfx_text() -> None:
    history = [
        h.event(EventType.OrchestratorStarted, T0),
        h.execution_started(T0, "i1", "e1", "chain", None),
        h.event(EventType.TaskScheduled, T0, 0, Name="A", Input=None),
        h.event(EventType.TaskScheduled, T0, 1, Name="B", Input=None),
    ]
    with pytest.raises(NonDeterminismError) as info:
        replay(history, [{"actionType": 0, "functionName": "a", "input": None}])  # names compare case-insensitively
    assert (
        "sequence ID 1 and name 'B' (version ''), but the current replay execution hasn't (yet?) "
        "scheduled this task" in str(info.value)
    )


def test_event_raised_before_waiting_is_buffered() -> None:
    history = [
        h.event(EventType.OrchestratorStarted, T0),
        h.execution_started(T0, "i1", "e1", "x", None),
        h.event(EventType.EventRaised, T0, Name="Go", Input='"1"'),
    ]
    actions = [{"actionType": 6, "externalEventName": "Go"}, {"actionType": 0, "functionName": "A", "input": None}]
    assert kinds(replay(history, actions).new) == [(0, "task", "A")]
