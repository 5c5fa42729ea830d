"""One orchestration episode: deliver new events, replay the orchestrator, commit the outcome atomically.

An episode takes every visible inbox message of one instance (completions ready together are delivered
together, durable-protocol.md §7), runs the SDK's orchestrator handle over the whole history, turns the
returned actions into new work with the replay shim, and commits history + work + status in one
transaction. Control messages (terminate, suspend, resume) are handled without running user code.
"""

from __future__ import annotations

import json
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Optional

from funchost.durable import history as h
from funchost.durable.entities import (
    REQUEST_EVENT,
    orchestration_input,
    request_message,
    split_scheduler_id,
    unknown_entity_message,
)
from funchost.durable.history import TERMINAL, Event, EventType, RuntimeStatus
from funchost.durable.replay import Decision, NonDeterminismError, UnsupportedActionError, flatten_actions, replay
from funchost.durable.store import Instance, Message, NewMessage, Store, _Tx
from funchost.functions import FunctionIndex

COMPLETIONS = {
    EventType.TaskCompleted,
    EventType.TaskFailed,
    EventType.SubOrchestrationInstanceCompleted,
    EventType.SubOrchestrationInstanceFailed,
}
HTTP_ACTIVITY = "BuiltIn::HttpActivity"
CONTROL = {EventType.ExecutionTerminated, EventType.ExecutionSuspended, EventType.ExecutionResumed}


@dataclass
class EpisodeOutcome:
    """What the dispatcher needs to know after an episode."""

    instance_id: str
    new_work: int = 0


def new_execution_id() -> str:
    return uuid.uuid4().hex


def status_output_text(value: Any) -> str:
    return json.dumps(value)


class EpisodeRunner:
    """Runs episodes for instances; called from worker threads, one episode per instance at a time."""

    def __init__(
        self, store: Store, index: FunctionIndex, log: Any, call_orchestrator: Callable[[Any, str], str]
    ) -> None:
        self.store = store
        self.index = index
        self.log = log
        self.call_orchestrator = call_orchestrator
        self.episodes = 0
        self.replay_seconds = 0.0

    # ---------------------------------------------------------------- entry point
    def run(self, instance_id: str) -> EpisodeOutcome:
        out = EpisodeOutcome(instance_id)
        msgs = self.store.messages(instance_id, time.time())
        if not msgs:
            return out
        inst = self.store.get_instance(instance_id)
        if inst is None:
            with self.store.transaction() as tx:
                tx.consume(m.seq for m in msgs)
            return out
        plan = self._plan(inst, msgs)
        if plan.terminate is not None:
            self._terminate(inst, plan)
        elif plan.deliver:
            self._run_orchestrator(inst, plan, out)
        else:
            self._commit_control_only(inst, plan)
        return out

    # ---------------------------------------------------------------- message triage
    @dataclass
    class _Plan:
        consumed: list[int] = field(default_factory=list)
        deliver: list[Event] = field(default_factory=list)
        control_events: list[Event] = field(default_factory=list)
        status: Optional[RuntimeStatus] = None
        terminate: Optional[Event] = None

    def _plan(self, inst: Instance, msgs: list[Message]) -> "EpisodeRunner._Plan":
        plan = self._Plan(status=inst.status)
        old = self.store.history(inst.id)
        done_ids, open_ids = _task_ids(old)
        for m in msgs:
            ev = m.event
            kind = EventType(ev["EventType"])
            if kind == EventType.ExecutionStarted:
                plan.consumed.append(m.seq)
                if m.execution_id == inst.execution_id and not old and not plan.deliver:
                    plan.deliver.insert(0, ev)
                continue
            if m.execution_id and m.execution_id != inst.execution_id:
                plan.consumed.append(m.seq)  # stale: for an execution that no longer exists
                continue
            if plan.status in TERMINAL or plan.terminate is not None:
                plan.consumed.append(m.seq)
                continue
            if kind in CONTROL:
                self._plan_control(plan, m, ev, kind)
                continue
            if plan.status == RuntimeStatus.Suspended:
                continue  # withheld until resumed
            plan.consumed.append(m.seq)
            if _is_duplicate(ev, kind, done_ids, open_ids):
                continue
            plan.deliver.append(ev)
        return plan

    def _plan_control(self, plan: "_Plan", m: Message, ev: Event, kind: EventType) -> None:
        plan.consumed.append(m.seq)
        if kind == EventType.ExecutionTerminated:
            plan.terminate = ev
        elif kind == EventType.ExecutionSuspended and plan.status in (RuntimeStatus.Running, RuntimeStatus.Pending):
            plan.status = RuntimeStatus.Suspended
            plan.control_events.append(ev)
        elif kind == EventType.ExecutionResumed and plan.status == RuntimeStatus.Suspended:
            plan.status = RuntimeStatus.Running
            plan.control_events.append(ev)

    # ---------------------------------------------------------------- outcomes
    def _commit_control_only(self, inst: Instance, plan: "_Plan") -> None:
        with self.store.transaction() as tx:
            tx.consume(plan.consumed)
            if plan.control_events:
                old = self.store.history(inst.id)
                ts = h.now()
                chunk = [
                    h.event(EventType.OrchestratorStarted, ts),
                    *plan.control_events,
                    h.event(EventType.OrchestratorCompleted, ts),
                ]
                if old:
                    tx.append_history(inst.id, old, chunk)
                tx.update_instance(inst.id, status=plan.status, updated=h.fmt_time(ts))

    def _terminate(self, inst: Instance, plan: "_Plan") -> None:
        assert plan.terminate is not None
        reason = plan.terminate.get("Input")
        ts = h.now()
        old = self.store.history(inst.id)
        chunk = [
            h.event(EventType.OrchestratorStarted, ts),
            plan.terminate,
            h.event(
                EventType.ExecutionCompleted,
                ts,
                OrchestrationStatus=int(RuntimeStatus.Terminated),
                Result=reason,
                FailureDetails=None,
            ),
            h.event(EventType.OrchestratorCompleted, ts),
        ]
        with self.store.transaction() as tx:
            tx.consume(plan.consumed)
            tx.append_history(inst.id, old, chunk)
            tx.drop_instance_work(inst.id)
            tx.update_instance(
                inst.id, status=RuntimeStatus.Terminated, output=status_output_text(reason), updated=h.fmt_time(ts)
            )
            self._notify_parent(tx, inst, failed=True, result=reason, details=None)

    def _run_orchestrator(self, inst: Instance, plan: "_Plan", out: EpisodeOutcome) -> None:
        old = self.store.history(inst.id)
        ts = _episode_time(plan.deliver)
        chunk = [h.event(EventType.OrchestratorStarted, ts), *plan.control_events, *plan.deliver]
        if not old and chunk[1]["EventType"] != EventType.ExecutionStarted:
            # completions for an execution that has not started: keep them for later
            return
        started = time.perf_counter()
        state, failure = self._invoke(inst, old, chunk)
        decisions = None
        oversized = _custom_status_too_big(state, inst.name) if failure is None else None
        failure = failure or oversized
        if failure is None:
            try:
                decisions = replay(old + chunk, flatten_actions(state), inst.id)
            except (NonDeterminismError, UnsupportedActionError) as exc:
                prefix = "Non-Deterministic workflow detected: " if isinstance(exc, NonDeterminismError) else ""
                failure = f"{prefix}{exc}"
            else:
                failure = self._unknown_function(decisions.new)
        self.replay_seconds += time.perf_counter() - started
        self.episodes += 1
        with self.store.transaction() as tx:
            tx.consume(plan.consumed)
            if failure is not None:
                keep = None if oversized or not state else state.get("customStatus")
                self._complete(tx, inst, old, chunk, ts, failed=True, result=failure, custom_status=keep)
                return
            assert decisions is not None and state is not None
            self._apply(tx, inst, old, chunk, ts, state, decisions.new, plan, out)

    def _invoke(self, inst: Instance, old: list[Event], chunk: list[Event]) -> tuple[dict[str, Any], Optional[str]]:
        fi = self.index.durable("orchestrationTrigger", inst.name)
        if fi is None:
            return {}, (
                f"The function '{inst.name}' doesn't exist, is disabled, or is not an orchestrator "
                f"function. Additional info: The following are the known orchestrator functions: "
                f"{_known(self.index.durable_names('orchestrationTrigger'))}."
            )
        ctx = _context_json(inst, old, chunk)
        try:
            return json.loads(self.call_orchestrator(fi, ctx)), None
        except Exception as exc:  # the SDK reports orchestrator failures by raising
            msg, sep, state_text = str(exc).partition("\n\n$OutOfProcData$:")
            if sep:
                state = json.loads(state_text)
                return state, f"Orchestrator function '{fi.durable_name}' failed: {state.get('error') or msg}"
            self.log.error(
                "orchestrator %s raised outside the SDK protocol: %s",
                inst.name,
                "".join(traceback.format_exception_only(type(exc), exc)).strip(),
            )
            return {}, f"Orchestrator function '{fi.durable_name}' failed: {type(exc).__name__}: {exc}"

    def _unknown_function(self, new: list[Decision]) -> Optional[str]:
        for d in new:
            if d.kind == "task" and d.name != HTTP_ACTIVITY and self.index.durable("activityTrigger", d.name) is None:
                return (
                    f"The function '{d.name}' doesn't exist, is disabled, or is not an activity function. "
                    f"Additional info: The following are the known activity functions: "
                    f"{_known(self.index.durable_names('activityTrigger'))}."
                )
            if d.kind == "send":
                entity = split_scheduler_id(d.instance_id or "@")[0]
                if self.index.durable("entityTrigger", entity) is None:
                    return unknown_entity_message(entity, self.index.durable_names("entityTrigger"))
            if d.kind == "suborch" and self.index.durable("orchestrationTrigger", d.name) is None:
                return (
                    f"The function '{d.name}' doesn't exist, is disabled, or is not an orchestrator function. "
                    f"Additional info: The following are the known orchestrator functions: "
                    f"{_known(self.index.durable_names('orchestrationTrigger'))}."
                )
        return None

    # ---------------------------------------------------------------- applying decisions
    def _apply(
        self,
        tx: _Tx,
        inst: Instance,
        old: list[Event],
        chunk: list[Event],
        ts: datetime,
        state: dict[str, Any],
        new: list[Decision],
        plan: "_Plan",
        out: EpisodeOutcome,
    ) -> None:
        custom = state.get("customStatus")
        actions = flatten_actions(state)
        can = next((a for a in actions if a.get("actionType") == 4), None)
        if state.get("isDone") and can is not None:
            self._continue_as_new(tx, inst, old, chunk, ts, can, custom)
            return
        scheduling = [self._schedule(tx, inst, d, ts, out) for d in new]
        if state.get("isDone"):
            self._complete(
                tx, inst, old, chunk + scheduling, ts, failed=False, result=state.get("output"), custom_status=custom
            )
            return
        tx.append_history(inst.id, old, [*chunk, *scheduling, h.event(EventType.OrchestratorCompleted, ts)])
        status = RuntimeStatus.Suspended if plan.status == RuntimeStatus.Suspended else RuntimeStatus.Running
        tx.update_instance(inst.id, status=status, custom_status=_custom_text(custom), updated=h.fmt_time(ts))

    def _schedule(self, tx: _Tx, inst: Instance, d: Decision, ts: datetime, out: EpisodeOutcome) -> Event:
        if d.kind == "task":
            tx.add_work([(inst.id, inst.execution_id, d.id, d.name, d.input)])
            out.new_work += 1
            return h.event(EventType.TaskScheduled, ts, d.id, Name=d.name, Version="", Input=_task_input(d))
        if d.kind == "send":
            return self._send_entity_message(tx, inst, d, ts)
        if d.kind == "timer":
            assert d.fire_at is not None
            fire = h.fmt_time(d.fire_at)
            tx.send(
                [
                    NewMessage(
                        inst.id,
                        inst.execution_id,
                        h.event(EventType.TimerFired, d.fire_at, TimerId=d.id, FireAt=fire),
                        d.fire_at.timestamp(),
                    )
                ]
            )
            return h.event(EventType.TimerCreated, ts, d.id, FireAt=fire)
        child_id = d.instance_id or f"{inst.execution_id}:{d.id}"
        self._start_child(tx, inst, d, child_id, ts)
        return h.event(
            EventType.SubOrchestrationInstanceCreated,
            ts,
            d.id,
            Name=d.name,
            Version="",
            InstanceId=child_id,
            Input=d.input,
        )

    def _send_entity_message(self, tx: _Tx, inst: Instance, d: Decision, ts: datetime) -> Event:
        """EventSent in this history, and the RequestMessage to the entity's inbox: both commit together, so the
        entity sees the operation only once this episode has committed (DTFx's SendEvent)."""
        assert d.instance_id is not None and d.request_id is not None
        req = request_message(
            d.operation or "",
            d.request_id,
            orchestration_input(d.input),
            d.signal,
            parent=inst.id,
            parent_execution=inst.execution_id,
        )
        tx.send([NewMessage(d.instance_id, None, h.event(EventType.EventRaised, ts, Name=REQUEST_EVENT, Input=req))])
        return h.event(EventType.EventSent, ts, d.id, InstanceId=d.instance_id, Name=REQUEST_EVENT, Input=req)

    def _start_child(self, tx: _Tx, inst: Instance, d: Decision, child_id: str, ts: datetime) -> None:
        parent = {"instance_id": inst.id, "execution_id": inst.execution_id, "task_id": d.id, "name": inst.name}
        input_text = json.dumps(d.input) if d.input is not None else None
        start_instance(tx, child_id, d.name, input_text, ts, parent=parent)

    def _continue_as_new(
        self,
        tx: _Tx,
        inst: Instance,
        old: list[Event],
        chunk: list[Event],
        ts: datetime,
        action: dict[str, Any],
        custom: Any,
    ) -> None:
        input_text = json.dumps(action.get("input")) if action.get("input") is not None else None
        tx.reset_history(inst.id)  # the ended execution's history goes whole: nothing of it is kept or shown
        execution_id = new_execution_id()
        started = h.execution_started(
            ts, inst.id, execution_id, inst.name, input_text, parent=_parent_instance(inst.parent)
        )
        tx.send([NewMessage(inst.id, execution_id, started)])
        tx.update_instance(
            inst.id,
            execution_id=execution_id,
            status=RuntimeStatus.ContinuedAsNew,
            input=input_text,
            output=None,
            custom_status=_custom_text(custom),
            created=h.fmt_time(ts),
            updated=h.fmt_time(ts),
        )

    def _complete(
        self,
        tx: _Tx,
        inst: Instance,
        old: list[Event],
        chunk: list[Event],
        ts: datetime,
        failed: bool,
        result: Any,
        custom_status: Any = None,
    ) -> None:
        status = RuntimeStatus.Failed if failed else RuntimeStatus.Completed
        result_text = result if failed else json.dumps(result)
        tx.append_history(
            inst.id,
            old,
            [
                *chunk,
                h.event(
                    EventType.ExecutionCompleted,
                    ts,
                    OrchestrationStatus=int(status),
                    Result=result_text,
                    FailureDetails=None,
                ),
                h.event(EventType.OrchestratorCompleted, ts),
            ],
        )
        tx.drop_instance_work(inst.id)
        tx.update_instance(
            inst.id,
            status=status,
            output=status_output_text(result),
            updated=h.fmt_time(ts),
            custom_status=_custom_text(custom_status),
        )
        self._notify_parent(tx, inst, failed=failed, result=result_text, details=None)

    def _notify_parent(
        self, tx: _Tx, inst: Instance, failed: bool, result: Optional[str], details: Optional[str]
    ) -> None:
        p = inst.parent
        if not p:
            return
        ts = h.now()
        if failed:
            ev = h.event(
                EventType.SubOrchestrationInstanceFailed,
                ts,
                TaskScheduledId=p["task_id"],
                Reason=result,
                Details=details,
                FailureDetails=None,
            )
        else:
            ev = h.event(EventType.SubOrchestrationInstanceCompleted, ts, TaskScheduledId=p["task_id"], Result=result)
        tx.send([NewMessage(p["instance_id"], p["execution_id"], ev)])


# -------------------------------------------------------------------- helpers shared with the client API
def start_instance(
    tx: _Tx,
    instance_id: str,
    name: str,
    input_text: Optional[str],
    ts: datetime,
    parent: Optional[dict[str, Any]] = None,
) -> str:
    """Create (or overwrite) an instance in Pending state and queue its ExecutionStarted; returns execution id."""
    execution_id = new_execution_id()
    tx.reset_history(instance_id)
    tx.db.execute("DELETE FROM inbox WHERE instance_id=?", (instance_id,))
    tx.drop_instance_work(instance_id)
    tx.put_instance(
        Instance(
            instance_id,
            name,
            execution_id,
            RuntimeStatus.Pending,
            input_text,
            None,
            None,
            h.fmt_time(ts),
            h.fmt_time(ts),
            parent,
        ),
        created_epoch=ts.timestamp(),
    )
    started = h.execution_started(ts, instance_id, execution_id, name, input_text, parent=_parent_instance(parent))
    tx.send([NewMessage(instance_id, execution_id, started)])
    return execution_id


def _task_input(d: Decision) -> Optional[str]:
    """TaskScheduled.Input: the JSON array of the activity's input; for the built-in HTTP activity the array holds
    the DurableHttpRequest object itself (the extension schedules it with the request object as input)."""
    if d.input is None:
        return None
    if d.name == HTTP_ACTIVITY:
        return f"[{d.input}]"
    return json.dumps([d.input])


def _parent_instance(parent: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
    if not parent:
        return None
    return {
        "Name": parent.get("name"),
        "Version": "",
        "TaskScheduleId": parent["task_id"],
        "OrchestrationInstance": {"InstanceId": parent["instance_id"], "ExecutionId": parent["execution_id"]},
    }


def _context_json(inst: Instance, old: list[Event], chunk: list[Event]) -> str:
    played = [{**e, "IsPlayed": True} for e in old]
    fresh = [{**e, "IsPlayed": False} for e in chunk]
    history = played + fresh
    started = history[1]
    return json.dumps(
        {
            "history": history,
            "input": _context_input(started.get("Input")),
            "instanceId": inst.id,
            "isReplaying": bool(old),
            "parentInstanceId": inst.parent["instance_id"] if inst.parent else None,
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
            "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
        }
    )


def _context_input(input_text: Optional[str]) -> Any:
    """The context's ``input``: a str of JSON text (see durable-protocol.md §1.1 and §3.14)."""
    if input_text is None:
        return None
    try:
        value = json.loads(input_text)
    except json.JSONDecodeError:
        return input_text
    return value if isinstance(value, (str, dict)) or value is None else input_text


def _episode_time(deliver: list[Event]) -> datetime:
    """Now, but never earlier than a timer being fired (the SDK compares against it)."""
    ts = h.now()
    for ev in deliver:
        if ev["EventType"] == EventType.TimerFired:
            ts = max(ts, h.parse_time(ev["FireAt"]))
    return ts


def _task_ids(events: list[Event]) -> tuple[set[int], set[int]]:
    """(ids already completed, ids scheduled and still open) in a history."""
    scheduled: set[int] = set()
    done: set[int] = set()
    for ev in events:
        kind = ev["EventType"]
        if kind in (EventType.TaskScheduled, EventType.SubOrchestrationInstanceCreated, EventType.TimerCreated):
            scheduled.add(ev["EventId"])
        elif kind in COMPLETIONS:
            done.add(ev["TaskScheduledId"])
        elif kind == EventType.TimerFired:
            done.add(ev["TimerId"])
    return done, scheduled - done


def _is_duplicate(ev: Event, kind: EventType, done: set[int], open_ids: set[int]) -> bool:
    """A completion for a task that is not open (already completed, or never scheduled here)."""
    if kind in COMPLETIONS:
        sid = ev["TaskScheduledId"]
    elif kind == EventType.TimerFired:
        sid = ev["TimerId"]
    else:
        return False
    if sid in done or sid not in open_ids:
        return True
    done.add(sid)
    open_ids.discard(sid)
    return False


CUSTOM_STATUS_LIMIT = 16 * 1024


def _custom_status_too_big(state: dict[str, Any], name: str) -> Optional[str]:
    """The extension refuses custom status whose UTF-16 JSON is over 16 KB, failing the orchestration."""
    value = state.get("customStatus")
    if value is None:
        return None
    size = len(json.dumps(value).encode("utf-16-le"))
    if size <= CUSTOM_STATUS_LIMIT:
        return None
    return (
        f"Orchestrator function '{name}' failed: The UTF-16 size of the JSON-serialized payload must not "
        f"exceed 16 KB. The current payload size is {size / 1024:.0f} KB."
    )


def _custom_text(value: Any) -> Optional[str]:
    return None if value is None else json.dumps(value)


def _known(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)
