"""DTFx history events, serialized the way the Durable extension hands them to the Python SDK.

Property names are the PascalCase ``[DataMember]`` names of ``DurableTask.Core.History``; ``EventType``
and ``OrchestrationStatus`` are integers; timestamps are ISO-8601 UTC with 7 fractional digits.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import IntEnum
from typing import Any

Event = dict[str, Any]


class EventType(IntEnum):
    """``DurableTask.Core.History.EventType``."""

    ExecutionStarted = 0
    ExecutionCompleted = 1
    ExecutionFailed = 2
    ExecutionTerminated = 3
    TaskScheduled = 4
    TaskCompleted = 5
    TaskFailed = 6
    SubOrchestrationInstanceCreated = 7
    SubOrchestrationInstanceCompleted = 8
    SubOrchestrationInstanceFailed = 9
    TimerCreated = 10
    TimerFired = 11
    OrchestratorStarted = 12
    OrchestratorCompleted = 13
    EventSent = 14
    EventRaised = 15
    ContinueAsNew = 16
    GenericEvent = 17
    HistoryState = 18
    ExecutionSuspended = 19
    ExecutionResumed = 20


class RuntimeStatus(IntEnum):
    """``OrchestrationStatus`` as DTFx numbers it; names are what the HTTP API shows."""

    Running = 0
    Completed = 1
    ContinuedAsNew = 2
    Failed = 3
    Canceled = 4
    Terminated = 5
    Pending = 6
    Suspended = 7


TERMINAL = {RuntimeStatus.Completed, RuntimeStatus.Failed, RuntimeStatus.Terminated, RuntimeStatus.Canceled}

#: scheduling events whose EventId is a sequence number the replay must reproduce
SCHEDULING = {
    EventType.TaskScheduled,
    EventType.TimerCreated,
    EventType.SubOrchestrationInstanceCreated,
    EventType.EventSent,
}


def now() -> datetime:
    return datetime.now(timezone.utc)


def fmt_time(dt: datetime) -> str:
    """``2024-01-01T00:00:00.1234567Z``: .NET round-trip format, as Newtonsoft writes UTC times."""
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}0Z"


def parse_time(text: str) -> datetime:
    """Parse the timestamps this module writes (and plain ISO-8601)."""
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    if "." in t:
        head, _, rest = t.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        tz = rest[len(digits) :]
        t = f"{head}.{digits[:6].ljust(6, '0')}{tz}"
    dt = datetime.fromisoformat(t)
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def event(kind: EventType, timestamp: datetime, event_id: int = -1, **fields: Any) -> Event:
    """A history event with the common fields (``IsPlayed`` is set when the history is sent)."""
    return {"EventType": int(kind), "EventId": event_id, "IsPlayed": False, "Timestamp": fmt_time(timestamp), **fields}


def execution_started(
    ts: datetime,
    instance_id: str,
    execution_id: str,
    name: str,
    input_text: str | None,
    parent: dict[str, Any] | None = None,
) -> Event:
    return event(
        EventType.ExecutionStarted,
        ts,
        OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
        ParentInstance=parent,
        Name=name,
        Version="",
        Input=input_text,
        Tags=None,
        Correlation=None,
        ParentTraceContext=None,
        ScheduledStartTime=None,
        Generation=0,
    )
