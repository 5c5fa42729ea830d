"""Operations of the Durable client API (start, status, events, terminate, purge, ...) on the store.

These are what the Durable extension's HttpApiHandler does behind both the rpcBaseUrl API that
``DurableOrchestrationClient`` calls and the public ``/runtime/webhooks/durabletask`` API. Errors are
typed so the HTTP layer maps each to the extension's status code in one place.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Any, Optional

from funchost.durable import entities
from funchost.durable import history as h
from funchost.durable.episode import start_instance
from funchost.durable.history import TERMINAL, Event, EventType, RuntimeStatus
from funchost.durable.store import Instance, NewMessage, Store
from funchost.functions import FunctionIndex


class ClientOpError(Exception):
    """Base of the errors the client API maps to HTTP statuses.

    ``public_message`` is the ``Message`` of the extension's ASP.NET error body when it differs from the
    exception's own text (``ExceptionMessage``).
    """

    status = 500

    def __init__(self, message: str, public_message: Optional[str] = None) -> None:
        super().__init__(message)
        self.public_message = public_message


class BadRequest(ClientOpError, ValueError):
    status = 400


class NotFound(ClientOpError, LookupError):
    status = 404


class Gone(ClientOpError):
    status = 410


class Conflict(ClientOpError):
    status = 409


class InvalidState(ClientOpError):
    """The extension's InvalidOperationException, which its HTTP API answers with 500."""

    status = 500


_BAD_ID = re.compile(r"[/\\#?\x00-\x1f\x7f]")
ACTIVE = {RuntimeStatus.Running, RuntimeStatus.Pending, RuntimeStatus.Suspended, RuntimeStatus.ContinuedAsNew}


def validate_instance_id(instance_id: str) -> str:
    """The extension's rules: non-empty, at most 256 chars, no '/', '\\', '#', '?', control chars, no '@' start."""
    if not instance_id or not instance_id.strip():
        raise BadRequest("Instance ID must not be empty.")
    if len(instance_id) > 256:
        raise BadRequest(f"Instance ID length must not exceed 256 characters (got {len(instance_id)}).")
    if instance_id.startswith("@"):
        raise BadRequest(f"Orchestration instance ids must not start with @: '{instance_id}'.")
    if _BAD_ID.search(instance_id):
        raise BadRequest(
            f"Instance ID '{instance_id}' contains invalid characters "
            "('/', '\\', '#', '?' and control characters are not allowed)."
        )
    return instance_id


class DurableClientOps:
    """The client operations; ``on_change`` is called after every write so the engine looks for work."""

    def __init__(self, store: Store, index: FunctionIndex, on_change: Any) -> None:
        self.store = store
        self.index = index
        self.on_change = on_change

    def _instance(self, instance_id: str) -> Instance:
        inst = self.store.get_instance(instance_id)
        if inst is None:
            raise NotFound(f"No instance with ID '{instance_id}' found.")
        return inst

    def start(self, name: str, instance_id: Optional[str], input_text: Optional[str]) -> str:
        fi = self.index.durable("orchestrationTrigger", name)
        if fi is None:
            known = ", ".join(f"'{n}'" for n in self.index.durable_names("orchestrationTrigger"))
            raise BadRequest(
                f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator "
                f"function. Additional info: The following are the known orchestrator functions: {known}.",
                public_message="One or more of the arguments submitted is incorrect",
            )
        iid = validate_instance_id(instance_id) if instance_id else uuid.uuid4().hex
        with self.store.transaction() as tx:
            existing = self.store.get_instance(iid)
            if existing is not None and existing.status in ACTIVE:
                raise Conflict(
                    f"An Orchestration instance with the status {existing.status.name} already exists "
                    f"for instance ID '{iid}'."
                )
            start_instance(tx, iid, fi.durable_name, input_text, h.now())
        self.on_change()
        return iid

    def raise_event(self, instance_id: str, name: str, input_text: Optional[str]) -> None:
        inst = self._instance(instance_id)
        if inst.status in TERMINAL:
            raise Gone(f"Instance with ID {instance_id} is gone: either completed or failed")
        ev = h.event(EventType.EventRaised, h.now(), Name=name, Input=input_text)
        with self.store.transaction() as tx:
            tx.send([NewMessage(instance_id, None, ev)])
        self.on_change()

    def _control(self, instance_id: str, kind: EventType, reason: Optional[str], allowed: set[RuntimeStatus]) -> None:
        inst = self._instance(instance_id)
        if inst.status not in allowed:
            action = kind.name.removeprefix("Execution").lower()
            message = f"Instance '{instance_id}' is {inst.status.name}; it cannot be {action}."
            raise (Gone if inst.status in TERMINAL else InvalidState)(message) from None
        fields: dict[str, Any] = {"Input" if kind == EventType.ExecutionTerminated else "Reason": reason}
        ev = h.event(kind, h.now(), **fields)
        with self.store.transaction() as tx:
            tx.send([NewMessage(instance_id, inst.execution_id, ev, control=True)])
        self.on_change()

    def terminate(self, instance_id: str, reason: Optional[str]) -> None:
        self._control(instance_id, EventType.ExecutionTerminated, reason, ACTIVE)

    def suspend(self, instance_id: str, reason: Optional[str]) -> None:
        self._control(
            instance_id,
            EventType.ExecutionSuspended,
            reason,
            {RuntimeStatus.Running, RuntimeStatus.Pending, RuntimeStatus.ContinuedAsNew},
        )

    def resume(self, instance_id: str, reason: Optional[str]) -> None:
        self._control(instance_id, EventType.ExecutionResumed, reason, {RuntimeStatus.Suspended})

    def restart(self, instance_id: str, new_instance_id: bool) -> str:
        inst = self.store.get_instance(instance_id)
        if inst is None:  # RestartAsync throws ArgumentException, answered 400
            raise BadRequest("InstanceId does not match a valid orchestration instance.")
        if not new_instance_id and inst.status in ACTIVE:
            raise Conflict(
                f"Instance '{instance_id}' is {inst.status.name}; it can be restarted only when it "
                "has finished, or with restartWithNewInstanceId=true."
            )
        target = uuid.uuid4().hex if new_instance_id else instance_id
        with self.store.transaction() as tx:
            start_instance(tx, target, inst.name, inst.input, h.now())
        self.on_change()
        return target

    def rewind(self, instance_id: str, reason: Optional[str]) -> None:
        """Re-run a failed instance: failed tasks (and their scheduling events) are dropped from history."""
        inst = self._instance(instance_id)
        if inst.status != RuntimeStatus.Failed:
            raise Gone("The rewind operation is only supported on failed orchestration instances.")
        old = self.store.history(instance_id)
        kept = _rewound(old)
        ts = h.now()
        with self.store.transaction() as tx:
            tx.reset_history(instance_id)
            if kept:
                tx.append_history(instance_id, [], kept)
            tx.update_instance(instance_id, status=RuntimeStatus.Running, output=None, updated=h.fmt_time(ts))
            # an EventRaised-free wake-up: a generic event makes the dispatcher replay the instance
            tx.send(
                [
                    NewMessage(
                        instance_id,
                        inst.execution_id,
                        h.event(EventType.GenericEvent, ts, Data=f"Rewound: {reason or ''}"),
                    )
                ]
            )
        self.on_change()

    def purge(self, instance_id: str) -> int:
        with self.store.transaction() as tx:
            return 1 if tx.purge(instance_id) else 0

    def purge_by(
        self, created_from: Optional[datetime], created_to: Optional[datetime], statuses: Optional[list[RuntimeStatus]]
    ) -> int:
        if created_from is None:
            raise BadRequest("createdTimeFrom is required to purge instance history by filter.")
        where, params = _filter_sql(created_from, created_to, statuses, None)
        where += " AND status IN (" + ",".join(str(int(s)) for s in TERMINAL) + ")" if statuses is None else ""
        count = 0
        for inst in self.store.query_instances(where, params, limit=100000):
            count += self.purge(inst.id)
        return count

    # -- entities (HttpApiHandler's /entities routes; the Python client's signal_entity and read_entity_state) --
    def signal_entity(self, name: str, key: str, operation: str, input_text: Optional[str]) -> None:
        """Queue a signal for entity ``name``/``key`` (SignalEntityAsync: the entity function must exist)."""
        entity_id = self._entity_id(name, key)
        if self.index.durable("entityTrigger", name) is None:
            raise BadRequest(entities.unknown_entity_message(name, self.index.durable_names("entityTrigger")))
        with self.store.transaction() as tx:
            tx.send([entities.signal_event(entity_id, operation, input_text)])
        self.on_change()

    def read_entity(self, name: str, key: str) -> Any:
        """The entity's state as a JSON value; NotFound when it does not exist (never operated on, or deleted)."""
        row = self.store.get_entity(self._entity_id(name, key))
        if row is None or not row.exists:
            raise NotFound(f"Entity '@{name.lower()}@{key}' does not exist.")
        return _json_value(row.state)

    def list_entities(self, name: str, fetch_state: bool, top: int, skip: int) -> list[dict[str, Any]]:
        """DurableEntityStatus objects of the existing entities named ``name`` (``state`` null unless fetched)."""
        found = []
        for row in self.store.list_entities(name.lower(), top, skip):
            found.append(
                {
                    "entityId": {"name": row.name, "key": row.key},
                    "lastOperationTime": row.last_operation,
                    "state": _json_value(row.state) if fetch_state else None,
                }
            )
        return found

    @staticmethod
    def _entity_id(name: str, key: str) -> str:
        try:
            return entities.scheduler_id(name, "" if key == "$" else key)
        except entities.EntityIdError as exc:
            raise BadRequest(str(exc)) from exc

    def status(self, instance_id: str) -> Instance:
        return self._instance(instance_id)

    def list(
        self,
        created_from: Optional[datetime],
        created_to: Optional[datetime],
        statuses: Optional[list[RuntimeStatus]],
        prefix: Optional[str],
        top: int,
        skip: int,
    ) -> list[Instance]:
        where, params = _filter_sql(created_from, created_to, statuses, prefix)
        return self.store.query_instances(where, params, limit=top, offset=skip)


def _filter_sql(
    created_from: Optional[datetime],
    created_to: Optional[datetime],
    statuses: Optional[list[RuntimeStatus]],
    prefix: Optional[str],
) -> tuple[str, list[Any]]:
    clauses: list[str] = ["1=1"]
    params: list[Any] = []
    if created_from is not None:
        clauses.append("created_epoch >= ?")
        params.append(created_from.timestamp())
    if created_to is not None:
        clauses.append("created_epoch <= ?")
        params.append(created_to.timestamp())
    if statuses:
        clauses.append("status IN (" + ",".join("?" for _ in statuses) + ")")
        params.extend(int(s) for s in statuses)
    if prefix:
        clauses.append("substr(id, 1, ?) = ?")
        params.extend([len(prefix), prefix])
    return " AND ".join(clauses), params


def _rewound(events: list[Event]) -> list[Event]:
    """History minus the failure: ExecutionCompleted(Failed), TaskFailed and their TaskScheduled, failed children."""
    failed_ids = {
        e["TaskScheduledId"]
        for e in events
        if e["EventType"] in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed)
    }
    kept = []
    for e in events:
        kind = e["EventType"]
        if kind == EventType.ExecutionCompleted:
            continue
        if kind in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed):
            continue
        if kind in (EventType.TaskScheduled, EventType.SubOrchestrationInstanceCreated) and e["EventId"] in failed_ids:
            continue
        kept.append(e)
    return kept


# ------------------------------------------------------------------ status JSON (HttpApiHandler shapes)
def status_json(
    inst: Instance, events: Optional[list[Event]], show_input: bool, show_history: bool, show_history_output: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": inst.name,
        "instanceId": inst.id,
        "runtimeStatus": _public_status(inst.status).name,
        "input": _json_value(inst.input) if show_input else None,
        "customStatus": _json_value(inst.custom_status),
        "output": _json_value(inst.output),
        "createdTime": _short_time(inst.created),
        "lastUpdatedTime": _short_time(inst.updated),
    }
    if show_history and events is not None:
        body["historyEvents"] = friendly_history(events, show_history_output, show_input)
    return body


def _public_status(status: RuntimeStatus) -> RuntimeStatus:
    return RuntimeStatus.Running if status == RuntimeStatus.ContinuedAsNew else status


def http_status_for(inst: Instance, server_error_on_failure: bool = False) -> int:
    """HttpApiHandler's GET status codes: 202 in progress; 200 finished (Failed is 500 when asked for)."""
    if inst.status == RuntimeStatus.Failed and server_error_on_failure:
        return 500
    if inst.status in TERMINAL:
        return 200
    return 202


def _json_value(text: Optional[str]) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _short_time(text: str) -> str:
    return h.parse_time(text).strftime("%Y-%m-%dT%H:%M:%SZ")


_HIDDEN = {
    EventType.OrchestratorStarted,
    EventType.OrchestratorCompleted,
    EventType.TaskScheduled,
    EventType.SubOrchestrationInstanceCreated,
}


def friendly_history(events: list[Event], show_output: bool, show_input: bool) -> list[dict[str, Any]]:
    """The history as the extension's status API shows it: event names, function names, no bookkeeping."""
    scheduled = {
        e["EventId"]: e
        for e in events
        if e["EventType"] in (EventType.TaskScheduled, EventType.SubOrchestrationInstanceCreated)
    }
    out = []
    for e in events:
        kind = EventType(e["EventType"])
        if kind in _HIDDEN:
            continue
        item: dict[str, Any] = {"EventType": kind.name, "Timestamp": e["Timestamp"]}
        if kind == EventType.ExecutionStarted:
            item["FunctionName"] = e.get("Name")
            if show_input:
                item["Input"] = _json_value(e.get("Input"))
        elif kind in (
            EventType.TaskCompleted,
            EventType.TaskFailed,
            EventType.SubOrchestrationInstanceCompleted,
            EventType.SubOrchestrationInstanceFailed,
        ):
            src = scheduled.get(e["TaskScheduledId"], {})
            item["FunctionName"] = src.get("Name")
            item["ScheduledTime"] = src["Timestamp"] if src else None
            if kind in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed):
                item["Reason"], item["Details"] = e.get("Reason"), e.get("Details")
            elif show_output:
                item["Result"] = _json_value(e.get("Result"))
        elif kind == EventType.ExecutionCompleted:
            item["OrchestrationStatus"] = RuntimeStatus(e["OrchestrationStatus"]).name
            if show_output:
                item["Result"] = _json_value(e.get("Result"))
        elif kind in (EventType.TimerCreated, EventType.TimerFired):
            item["FireAt"] = e.get("FireAt")
        elif kind == EventType.EventRaised:
            item["Name"] = e.get("Name")
            if show_output:
                item["Input"] = _json_value(e.get("Input"))
        elif kind in (EventType.ExecutionTerminated,):
            item["Input"] = e.get("Input")
        out.append(item)
    return out
