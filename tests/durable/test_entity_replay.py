"""Entity actions in funchost's replay shim, driven by the real SDK handle (no host): the ids the extension gives
call_entity / signal_entity, request ids that stay the same on every replay, responses matched by request id
(``exceptionType`` making the call fail), and the non-determinism check on EventSent."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import azure.durable_functions as df
import pytest

from funchost.durable import history as h
from funchost.durable.history import EventType
from funchost.durable.replay import Decision, NonDeterminismError, flatten_actions, replay

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
COUNTER, OTHER = df.EntityId("Counter", "a"), df.EntityId("Counter", "b")


def _orchestrator(context: df.DurableOrchestrationContext):
    context.signal_entity(COUNTER, "add", 1)
    first = yield context.call_entity(COUNTER, "get")
    try:
        both = yield context.task_all([context.call_entity(OTHER, "add", 2), context.call_activity("A", first)])
    except Exception as exc:
        return {"first": first, "error": str(exc)}
    return {"first": first, "both": both}


HANDLE = df.Orchestrator.create(_orchestrator)


class _Run:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.pending = [h.execution_started(T0, "i1", "e1", "orch", None)]
        self.now = T0

    def episode(self) -> tuple[dict[str, Any], list[Decision]]:
        self.now += timedelta(seconds=1, microseconds=1234)
        chunk = [h.event(EventType.OrchestratorStarted, self.now), *self.pending]
        self.pending = []
        state = self.run(self.events + chunk)
        new = replay(self.events + chunk, flatten_actions(state), "i1").new
        self.events += chunk + [_scheduling(d, self.now) for d in new]
        self.events.append(h.event(EventType.OrchestratorCompleted, self.now))
        return state, new

    def run(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        n = len([e for e in events if e["EventType"] == EventType.OrchestratorStarted])
        ctx = {
            "history": [{**e, "IsPlayed": i < len(self.events)} for i, e in enumerate(events)],
            "input": None,
            "instanceId": "i1",
            "isReplaying": n > 1,
            "parentInstanceId": None,
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
        }
        return dict(json.loads(HANDLE(json.dumps(ctx))))

    def respond(self, request_id: str, result: Any, error: bool = False) -> None:
        body: dict[str, Any] = {"result": json.dumps(result)}
        if error:
            body["exceptionType"] = "Error"
        self.pending.append(h.event(EventType.EventRaised, self.now, Name=request_id, Input=json.dumps(body)))


def _scheduling(d: Decision, ts: datetime) -> dict[str, Any]:
    if d.kind == "send":
        req = json.dumps({"op": d.operation, "id": d.request_id, "input": d.input})
        return h.event(EventType.EventSent, ts, d.id, InstanceId=d.instance_id, Name=d.name, Input=req)
    return h.event(EventType.TaskScheduled, ts, d.id, Name=d.name, Input=d.input)


def test_ids_request_ids_and_responses() -> None:
    run = _Run()
    _, new = run.episode()
    assert [(d.id, d.kind, d.instance_id, d.operation, d.signal) for d in new] == [
        (0, "send", "@counter@a", "add", True),
        (1, "send", "@counter@a", "get", False),
    ]
    call_id = new[1].request_id
    assert call_id and call_id != new[0].request_id
    # replaying the same history gives the same decisions and request ids (nothing new)
    assert replay(run.events, flatten_actions(run.run(run.events)), "i1").new == []

    run.respond(str(call_id), 5)
    _, new = run.episode()
    assert [(d.id, d.kind, d.name) for d in new] == [(2, "send", "op"), (3, "task", "A")]
    assert new[0].instance_id == "@counter@b" and new[1].input == "5"

    run.respond(str(new[0].request_id), 7)
    run.pending.append(h.event(EventType.TaskCompleted, run.now, TaskScheduledId=3, Result=json.dumps("a")))
    state, new = run.episode()
    assert new == [] and state["isDone"] and state["output"] == {"first": 5, "both": [7, "a"]}


def test_an_error_response_fails_the_call() -> None:
    run = _Run()
    _, new = run.episode()
    run.respond(str(new[1].request_id), 5)
    _, new = run.episode()
    run.respond(str(new[0].request_id), "no such operation", error=True)
    state, _ = run.episode()
    assert state["isDone"] and state["output"] == {"first": 5, "error": "no such operation"}


def test_an_event_sent_the_replay_does_not_produce_is_non_determinism() -> None:
    run = _Run()
    run.episode()
    changed = [dict(e) for e in run.events]
    for e in changed:
        if e["EventType"] == EventType.EventSent and e["EventId"] == 1:
            e["Name"] = "release"
    with pytest.raises(NonDeterminismError, match="sequence ID 1"):
        replay(changed, flatten_actions(run.run(run.events)), "i1")
