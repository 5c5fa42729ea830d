"""A replay harness for orchestrator tests: drives a real SDK orchestrator handle like the host does.

Each ``episode()`` sends the history (played events + this episode's new events) to the handle, then runs
funchost's replay shim to find the new decisions and appends their scheduling events, exactly as an
episode in funchost would, but without processes or storage.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from funchost.durable import history as h
from funchost.durable.history import EventType
from funchost.durable.replay import Decision, flatten_actions, replay
from funchost.functions import FunctionIndex

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


class ReplayRun:
    """Drives one orchestrator like the host: episodes of new events, decisions appended by the shim."""

    def __init__(self, app: FunctionIndex, name: str, input_value: Any = None) -> None:
        self.fn = app.durable("orchestrationTrigger", name)
        assert self.fn is not None, f"no orchestrator {name}"
        self.events: list[dict] = []
        self.now = T0
        text = None if input_value is None else json.dumps(json.dumps(input_value))
        self.input = None if text is None else json.loads(text)
        self.pending = [h.execution_started(T0, "i1", "e1", name, text)]

    def episode(self) -> tuple[dict, list[Decision]]:
        self.now += timedelta(seconds=1)
        chunk = [h.event(EventType.OrchestratorStarted, self.now), *self.pending]
        self.pending = []
        history = [{**e, "IsPlayed": True} for e in self.events] + chunk
        ctx = {
            "history": history,
            "input": self.input,
            "instanceId": "i1",
            "isReplaying": bool(self.events),
            "parentInstanceId": None,
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
        }
        state = json.loads(self.fn.user_fn(json.dumps(ctx)))
        result = replay(self.events + chunk, flatten_actions(state))
        scheduled = [_scheduling(d, self.now) for d in result.new]
        self.events += chunk + scheduled + [h.event(EventType.OrchestratorCompleted, self.now)]
        return state, result.new

    def complete(self, task_id: int, value: object = None) -> None:
        self.pending.append(
            h.event(EventType.TaskCompleted, self.now, TaskScheduledId=task_id, Result=json.dumps(value))
        )

    def fail(self, task_id: int, message: str = "boom") -> None:
        self.pending.append(
            h.event(
                EventType.TaskFailed,
                self.now,
                TaskScheduledId=task_id,
                Reason=f"Activity function 'A' failed:  ValueError: {message}",
                Details="{}",
            )
        )

    def fire(self, timer_id: int) -> None:
        fire_at = next(
            e["FireAt"] for e in self.events if e["EventType"] == EventType.TimerCreated and e["EventId"] == timer_id
        )
        self.pending.append(h.event(EventType.TimerFired, self.now, TimerId=timer_id, FireAt=fire_at))

    def complete_sub(self, task_id: int, value: object) -> None:
        self.pending.append(
            h.event(
                EventType.SubOrchestrationInstanceCompleted, self.now, TaskScheduledId=task_id, Result=json.dumps(value)
            )
        )

    def fail_sub(self, task_id: int, reason: str = "boom") -> None:
        self.pending.append(
            h.event(
                EventType.SubOrchestrationInstanceFailed, self.now, TaskScheduledId=task_id, Reason=reason, Details=None
            )
        )

    def raise_event(self, name: str, value: object) -> None:
        self.pending.append(h.event(EventType.EventRaised, self.now, Name=name, Input=json.dumps(value)))


def _scheduling(d: Decision, ts: datetime) -> dict:
    if d.kind == "timer":
        assert d.fire_at is not None
        return h.event(EventType.TimerCreated, ts, d.id, FireAt=h.fmt_time(d.fire_at))
    if d.kind == "suborch":
        return h.event(
            EventType.SubOrchestrationInstanceCreated, ts, d.id, Name=d.name, InstanceId=d.instance_id, Input=d.input
        )
    return h.event(EventType.TaskScheduled, ts, d.id, Name=d.name, Input=d.input)


def kinds(decisions: list[Decision]) -> list[tuple[int, str, str]]:
    return [(d.id, d.kind, d.name) for d in decisions]
