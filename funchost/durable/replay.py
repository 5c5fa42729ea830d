"""Turning an orchestrator's actions into new work: a port of the extension's OutOfProcOrchestrationShim.

The Python SDK returns the full list of actions it has ever yielded. The C# extension replays that list
against the history with DTFx semantics: actions are awaited one after another, each atomic action takes
the next sequence number, retries expand into attempts and timers (RetryInterceptor). Sequence numbers
already present in history as scheduling events are old work; the others are new decisions. Replaying
the same way here reproduces the extension's ids exactly (durable-protocol.md §3.2), detects
non-determinism (§3.3), and is safe for any number of completions per episode.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Generator, Optional

from funchost.durable.history import SCHEDULING, Event, EventType, parse_time

KIND_OF_EVENT = {
    EventType.TaskScheduled: "task",
    EventType.TimerCreated: "timer",
    EventType.SubOrchestrationInstanceCreated: "suborch",
    EventType.EventSent: "send",
}
_DTFX_ACTION = {
    "task": "ScheduleTaskOrchestratorAction",
    "timer": "CreateTimerOrchestratorAction",
    "suborch": "CreateSubOrchestrationAction",
    "send": "SendEventOrchestratorAction",
}
_MAX_RETRY_INTERVAL = timedelta(days=6)


class NonDeterminismError(Exception):
    """The replay produced different work than the history records."""


class UnsupportedActionError(Exception):
    """The orchestrator returned an action funchost does not know (an action type the Python SDK never sends)."""


@dataclass
class Decision:
    """One piece of work the orchestrator scheduled, identified by its sequence number."""

    id: int
    kind: str  # task | timer | suborch | send (an entity operation: call_entity or signal_entity)
    name: str = ""
    input: Optional[str] = None
    instance_id: Optional[str] = None  # sub-orchestrations: None means the default id; send: "@name@key"
    fire_at: Optional[datetime] = None
    operation: Optional[str] = None  # send: the entity operation
    signal: bool = False  # send: signal_entity (no response)
    request_id: Optional[str] = None  # send: the RequestMessage id, the name of the EventRaised response


class _Future:
    __slots__ = ("done", "failed", "callbacks")

    def __init__(self) -> None:
        self.done = False
        self.failed = False
        self.callbacks: list[Callable[[_Future], None]] = []

    def resolve(self, failed: bool = False) -> None:
        if self.done:
            return
        self.done, self.failed = True, failed
        callbacks, self.callbacks = self.callbacks, []
        for cb in callbacks:
            cb(self)

    def then(self, cb: Callable[[_Future], None]) -> None:
        if self.done:
            cb(self)
        else:
            self.callbacks.append(cb)


Coroutine = Generator[_Future, bool, bool]


@dataclass
class ReplayResult:
    """What the replay found: every allocated decision, and which of them are new."""

    decisions: dict[int, Decision] = field(default_factory=dict)
    new: list[Decision] = field(default_factory=list)


class _Shim:
    """Simulates the extension's async action processing for one replay."""

    def __init__(self, now: datetime, instance_id: str = "", sent: Optional[dict[int, str]] = None) -> None:
        self.now = now
        self.instance_id = instance_id
        self.sent = sent or {}  # EventSent ids in history -> their request ids
        self.guids = 0
        self.counter = 0
        self.decisions: dict[int, Decision] = {}
        self.pending: dict[int, _Future] = {}
        self.early: dict[int, bool] = {}
        self.waiters: dict[str, list[_Future]] = {}
        self.buffered: dict[str, int] = {}

    # -- driving coroutines (a trampoline, so long chains of finished futures do not recurse) --
    def spawn(self, coro: Coroutine) -> _Future:
        done = _Future()

        def advance(value: Optional[bool]) -> None:
            while True:
                try:
                    fut = coro.send(value)  # type: ignore[arg-type]
                except StopIteration as stop:
                    done.resolve(bool(stop.value))
                    return
                if not fut.done:
                    fut.then(lambda f: advance(f.failed))
                    return
                value = fut.failed

        advance(None)
        return done

    def allocate(self, decision_kind: str, **fields: Any) -> _Future:
        sid = self.counter
        self.counter += 1
        self.decisions[sid] = Decision(id=sid, kind=decision_kind, **fields)
        fut = _Future()
        self.pending[sid] = fut
        if sid in self.early:
            fut.resolve(self.early.pop(sid))
        return fut

    def complete(self, sid: int, failed: bool) -> None:
        fut = self.pending.get(sid)
        if fut is None:
            self.early[sid] = failed
        else:
            fut.resolve(failed)

    def raise_event(self, name: str, failed: bool = False) -> None:
        stack = self.waiters.get(name.lower())
        if stack:
            stack.pop().resolve(failed)
        else:
            self.buffered[name.lower()] = self.buffered.get(name.lower(), 0) + 1

    # -- actions --
    def run_all(self, actions: list[dict[str, Any]]) -> Coroutine:
        for action in actions:
            yield self.invoke(action)  # failures are swallowed: the SDK decides what they mean
        return False

    def invoke(self, a: dict[str, Any]) -> _Future:
        kind = int(a.get("actionType", -1))
        if kind == 0:
            return self.allocate("task", name=a["functionName"], input=a.get("input"))
        if kind == 8:
            return self.allocate("task", name="BuiltIn::HttpActivity", input=_json_text(a.get("httpRequest")))
        if kind == 2:
            return self.allocate(
                "suborch", name=a["functionName"], input=a.get("input"), instance_id=a.get("instanceId")
            )
        if kind in (1, 3):
            return self.spawn(self.retry(a, "task" if kind == 1 else "suborch"))
        if kind == 5:
            fut = self.allocate("timer", fire_at=parse_time(a["fireAt"]))
            if a.get("isCanceled"):
                fut.resolve(False)
            return fut
        if kind == 6:
            return self.wait_event(str(a["externalEventName"]))
        if kind == 4:
            done = _Future()
            done.resolve(False)
            return done
        if kind in (11, 12):
            return self.compound([self.invoke(c) for c in a.get("compoundActions", [])], any_=kind == 11)
        if kind in (7, 9):
            return self.entity_operation(a, signal=kind == 9)
        raise UnsupportedActionError(f"unknown orchestrator action type {kind}: {a}")

    def entity_operation(self, a: dict[str, Any], signal: bool) -> _Future:
        """The extension's CallEntityAsync / SignalEntity: one EventSent (an id), then for a call the wait for
        the EventRaised named by the request id (DurableOrchestrationContext.CallDurableTaskFunctionAsync)."""
        sid = self.counter
        request_id = self.sent.get(sid) or self.new_guid()
        sent = self.allocate(
            "send",
            name="op",
            input=a.get("input"),
            instance_id=str(a["instanceId"]),
            operation=str(a.get("operation")),
            signal=signal,
            request_id=request_id,
        )
        sent.resolve(False)  # SendEvent completes at once; only a call waits for the response
        return sent if signal else self.wait_event(request_id)

    def new_guid(self) -> str:
        """A replayable request id: name-based from the instance id, the orchestration time and a counter, as the
        extension's NewGuid (ids already in history are reused, so only new requests take one)."""
        name = f"{self.instance_id}_{self.now.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}_{self.guids}"
        self.guids += 1
        return str(uuid.uuid5(uuid.NAMESPACE_URL, name))

    def wait_event(self, name: str) -> _Future:
        fut = _Future()
        key = name.lower()
        if self.buffered.get(key):
            self.buffered[key] -= 1
            fut.resolve(False)
        else:
            self.waiters.setdefault(key, []).append(fut)
        return fut

    def compound(self, children: list[_Future], any_: bool) -> _Future:
        done = _Future()
        remaining = [len(children)]
        if not children:
            done.resolve(False)

        def on_child(f: _Future) -> None:
            remaining[0] -= 1
            if any_:
                done.resolve(f.failed)
            elif remaining[0] == 0:
                done.resolve(any(c.failed for c in children))

        for child in children:
            child.then(on_child)
        return done

    def retry(self, a: dict[str, Any], kind: str) -> Coroutine:
        opts = a.get("retryOptions") or {}
        attempts = max(1, int(opts.get("maxNumberOfAttempts", 1)))
        first = timedelta(milliseconds=float(opts.get("firstRetryIntervalInMilliseconds", 0)))
        coef = float(opts.get("backoffCoefficient", 1.0))
        cap_ms = opts.get("maxRetryIntervalInMilliseconds")
        cap = timedelta(milliseconds=float(cap_ms)) if cap_ms else _MAX_RETRY_INTERVAL
        for attempt in range(attempts):
            if kind == "task":
                fut = self.allocate("task", name=a["functionName"], input=a.get("input"))
            else:
                fut = self.allocate(
                    "suborch", name=a["functionName"], input=a.get("input"), instance_id=a.get("instanceId")
                )
            failed = yield fut
            if not failed:
                return False
            if attempt + 1 == attempts:  # the extension's "dummy timer for back-compat"
                yield self.allocate("timer", fire_at=self.now)
                return True
            delay = min(first * (coef**attempt), cap)
            yield self.allocate("timer", fire_at=self.now + delay)
        return True


def _json_text(value: Any) -> Optional[str]:
    return None if value is None else json.dumps(value)


def flatten_actions(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The action list of an OrchestratorState (V2/V3: ``actions[0]``; V1: the lists concatenated)."""
    actions = state.get("actions") or []
    if state.get("schemaVersion") is not None:
        return list(actions[0]) if actions else []
    return [a for group in actions for a in group]


def replay(history: list[Event], actions: list[dict[str, Any]], instance_id: str = "") -> ReplayResult:
    """Replay ``actions`` against ``history``; return all decisions and the new ones (sorted by id).

    Raises NonDeterminismError when the history holds scheduling events the actions do not reproduce.
    """
    sent = {ev["EventId"]: _request_id(ev) for ev in history if ev["EventType"] == EventType.EventSent}
    shim = _Shim(now=parse_time(history[0]["Timestamp"]), instance_id=instance_id, sent=sent)
    requests = set(sent.values())
    scheduled: dict[int, Event] = {}
    for ev in history:
        kind = ev["EventType"]
        if kind == EventType.OrchestratorStarted:
            shim.now = max(shim.now, parse_time(ev["Timestamp"]))
        elif kind == EventType.ExecutionStarted:
            shim.spawn(shim.run_all(actions))
        elif kind in SCHEDULING:
            scheduled[ev["EventId"]] = ev
        elif kind in (EventType.TaskCompleted, EventType.SubOrchestrationInstanceCompleted):
            shim.complete(ev["TaskScheduledId"], failed=False)
        elif kind in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed):
            shim.complete(ev["TaskScheduledId"], failed=True)
        elif kind == EventType.TimerFired:
            shim.complete(ev["TimerId"], failed=False)
        elif kind == EventType.EventRaised:
            name = str(ev.get("Name", ""))
            shim.raise_event(name, failed=name in requests and _is_error_response(ev))
    check_determinism(scheduled, shim.decisions)
    new = [d for sid, d in sorted(shim.decisions.items()) if sid not in scheduled]
    return ReplayResult(decisions=shim.decisions, new=new)


def _request_id(ev: Event) -> str:
    try:
        return str(json.loads(ev.get("Input") or "{}").get("id") or "")
    except (TypeError, ValueError, AttributeError):
        return ""


def _is_error_response(ev: Event) -> bool:
    """An entity's ResponseMessage with ``exceptionType``: the call fails (WaitForEntityResponse throws)."""
    try:
        body = json.loads(ev.get("Input") or "{}")
    except (TypeError, ValueError):
        return False
    return isinstance(body, dict) and body.get("exceptionType") is not None


def check_determinism(scheduled: dict[int, Event], decisions: dict[int, Decision]) -> None:
    """DTFx's check: every scheduling event in history must be reproduced with the same kind and name."""
    for sid, ev in sorted(scheduled.items()):
        kind = KIND_OF_EVENT[EventType(ev["EventType"])]
        got = decisions.get(sid)
        if got is None:
            raise NonDeterminismError(_missing_message(kind, sid, ev))
        if got.kind != kind:
            raise NonDeterminismError(
                f"A previous execution of this orchestration scheduled {_describe(kind, ev)} with sequence "
                f"number {sid}, but the current orchestration replay instead produced a "
                f"{_DTFX_ACTION[got.kind]} action with this sequence number. Was a change made to the "
                "orchestrator code after this instance had already started running?"
            )
        # names are compared case-insensitively; an EventSent only by its name ("op" for every entity message),
        # not its target instance, as DTFx's HandleEventSentEvent
        if kind in ("task", "suborch", "send") and str(ev.get("Name", "")).lower() != got.name.lower():
            raise NonDeterminismError(
                f"A previous execution of this orchestration scheduled {_describe(kind, ev)} with sequence "
                f"ID {sid}, but the current replay execution instead scheduled one named '{got.name}'. "
                "Was a change made to the orchestrator code after this instance had already started running?"
            )


def _describe(kind: str, ev: Event) -> str:
    if kind == "task":
        return f"an activity task named '{ev.get('Name')}'"
    if kind == "suborch":
        return f"a sub-orchestration named '{ev.get('Name')}'"
    return "a timer task" if kind == "timer" else "an event"


def _missing_message(kind: str, sid: int, ev: Event) -> str:
    tail = (
        "but the current replay execution hasn't (yet?) scheduled this task. Was a change made to "
        "the orchestrator code after this instance had already started running?"
    )
    if kind == "task":
        return (
            f"A previous execution of this orchestration scheduled an activity task with sequence ID "
            f"{sid} and name '{ev.get('Name')}' (version ''), {tail}"
        )
    if kind == "suborch":
        return (
            f"A previous execution of this orchestration scheduled a sub-orchestration task with "
            f"sequence ID {sid}, type '{ev.get('Name')}', and instance ID '{ev.get('InstanceId')}', {tail}"
        )
    if kind == "timer":
        return f"A previous execution of this orchestration scheduled a timer task with sequence ID {sid}, {tail}"
    return f"A previous execution of this orchestration sent an event with sequence ID {sid}, {tail}"
