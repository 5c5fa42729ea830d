"""Durable entities: the extension's entity scheduler for out-of-proc (Python) entity functions.

As in the Durable extension (docs/durable-protocol-extra.md, part 1):

* An entity is the instance ``@<name lower-cased>@<key>``. Its operations are messages in its inbox: the
  EventRaised events named ``op`` whose ``Input`` is a RequestMessage (``{"op", "id", "input"?, "signal"?,
  "parent"?, "parentExecution"?}``), sent by an orchestration's ``call_entity`` / ``signal_entity`` when that
  episode commits (with its EventSent), or by a client's ``signal_entity`` / ``POST /entities/{name}/{key}``.
* One batch runs at a time per entity, operations in the order they arrived, at most
  ``maxEntityOperationBatchSize`` per batch (host.json; 5000, the extension's default outside Consumption).
* The entity function is called once per batch with ``{"self": {"name", "key"}, "exists", "state", "batch":
  [{"name", "input", "isSignal"}]}`` and returns ``{"entityExists", "entityState", "results": [{"isError",
  "result", "duration", "startTime"}], "signals"}``.
* Every call (not signal) gets a response: EventRaised named by the request id, with ``{"result": <JSON text>}``,
  plus ``"exceptionType": "Error"`` when the operation raised, sent to the calling orchestration's execution.
* The new state, the responses and the removal of the batch's messages commit in one transaction.
"""

from __future__ import annotations

import json
import time
import traceback
import uuid
from typing import Any, Callable, Optional

from funchost.durable import history as h
from funchost.durable.history import EventType
from funchost.durable.store import EntityRow, Message, NewMessage, Store
from funchost.functions import FunctionIndex, FunctionInfo

DEFAULT_BATCH_SIZE = 5000
REQUEST_EVENT = "op"
_BAD_KEY_CHARS = set("/\\#?")


class EntityIdError(ValueError):
    """An entity name or key the extension refuses (empty name, '/', '\\', '#', '?' or control characters)."""


def scheduler_id(name: str, key: str) -> str:
    """``@name@key`` with the name lower-cased, as ``EntityId.GetSchedulerId``."""
    if not name:
        raise EntityIdError("Invalid entity id: entity name must not be a null or empty string.")
    if any(c in _BAD_KEY_CHARS or ord(c) < 32 or ord(c) == 127 for c in key):
        raise EntityIdError("Entity keys must not contain /, \\, #, ?, or control characters.")
    return f"@{name.lower()}@{key}"


def split_scheduler_id(entity_id: str) -> tuple[str, str]:
    """``("name", "key")`` of ``@name@key`` (the key may itself contain '@')."""
    name, sep, key = entity_id[1:].partition("@")
    if not entity_id.startswith("@") or not sep:
        raise EntityIdError(f"'{entity_id}' is not an entity instance id (@name@key)")
    return name, key


def unknown_entity_message(name: str, known: list[str]) -> str:
    """The extension's GetInvalidEntityFunctionMessage."""
    tail = (
        "The following are the known entity functions: '" + "', '".join(known) + "'."
        if known
        else "No entity functions are currently registered!"
    )
    return f"The function '{name}' doesn't exist, is disabled, or is not an entity function. Additional info: {tail}"


def is_entity(instance_id: str) -> bool:
    return instance_id.startswith("@")


def compact_json(value: Any) -> str:
    """JSON as Newtonsoft's ``Formatting.None`` writes it (no spaces, non-ASCII kept)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def request_message(
    operation: str,
    request_id: str,
    input_text: Optional[str],
    signal: bool,
    parent: Optional[str] = None,
    parent_execution: Optional[str] = None,
) -> str:
    """A RequestMessage as the extension serializes it (null and false members left out)."""
    body: dict[str, Any] = {"op": operation}
    if signal:
        body["signal"] = True
    if input_text is not None:
        body["input"] = input_text
    body["id"] = request_id
    if parent:
        body["parent"] = parent
    if parent_execution:
        body["parentExecution"] = parent_execution
    return compact_json(body)


def orchestration_input(action_input: Optional[str]) -> Optional[str]:
    """The RequestMessage ``input`` for an orchestration's call/signal: the extension serializes the action's
    input string once more (``RequestMessage.SetInput``), so the entity's ``get_input`` decodes it twice."""
    return None if action_input is None else compact_json(action_input)


def client_input(body: Optional[bytes], content_type: Optional[str]) -> Optional[str]:
    """The RequestMessage ``input`` for a signal posted to ``/entities/{name}/{key}`` (HttpApiHandler): JSON
    content is re-serialized compactly; other content is sent as a JSON string. Raises ValueError for bad JSON."""
    if not body:
        return None
    text = body.decode("utf-8")
    if (content_type or "").split(";")[0].strip().lower() == "application/json":
        return compact_json(json.loads(text))
    return compact_json(text)


def signal_event(entity_id: str, operation: str, input_text: Optional[str]) -> NewMessage:
    """The message a client's signal sends: a RequestMessage without parent, a random id."""
    req = request_message(operation, str(uuid.uuid4()), input_text, signal=True)
    return NewMessage(entity_id, None, h.event(EventType.EventRaised, h.now(), Name=REQUEST_EVENT, Input=req))


class EntityRunner:
    """Runs entity batches; like EpisodeRunner, called from worker threads, one batch per entity at a time."""

    def __init__(
        self,
        store: Store,
        index: FunctionIndex,
        log: Any,
        call_entity: Callable[[FunctionInfo, str], str],
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self.store = store
        self.index = index
        self.log = log
        self.call_entity = call_entity
        self.batch_size = max(1, batch_size)
        self.batches = 0
        self.operations = 0

    def run(self, entity_id: str) -> int:
        """Run one batch of ``entity_id``'s visible operations; returns how many ran."""
        msgs = self.store.messages(entity_id, time.time())[: self.batch_size]
        if not msgs:
            return 0
        requests = [r for r in (_request(m) for m in msgs) if r is not None]
        name, key = split_scheduler_id(entity_id)
        row = self.store.get_entity(entity_id) or EntityRow(entity_id, name, key, False, None, h.fmt_time(h.now()))
        fi = self.index.durable("entityTrigger", name)
        if fi is None:
            results = [_error_result(self._unknown(name)) for _ in requests]
            exists, state = row.exists, row.state
        elif requests:
            exists, state, results = self._execute(fi, row, requests)
        else:
            exists, state, results = row.exists, row.state, []
        with self.store.transaction() as tx:
            tx.consume(m.seq for m in msgs)
            if requests:
                tx.put_entity(EntityRow(entity_id, name, key, exists, state, h.fmt_time(h.now())))
            tx.send(_responses(requests, results))
        self.batches += 1
        self.operations += len(requests)
        return len(requests)

    def _execute(
        self, fi: FunctionInfo, row: EntityRow, requests: list[dict[str, Any]]
    ) -> tuple[bool, Optional[str], list[dict[str, Any]]]:
        context = {
            "self": {"name": row.name, "key": row.key},
            "exists": row.exists,
            "state": row.state if row.exists else None,
            "batch": [
                {"name": r.get("op"), "input": r.get("input"), "isSignal": bool(r.get("signal"))} for r in requests
            ],
        }
        try:
            out = json.loads(self.call_entity(fi, json.dumps(context)))
            results = list(out["results"])
            if len(results) != len(requests):
                raise ValueError(f"{len(results)} results for a batch of {len(requests)} operations")
            exists = bool(out.get("entityExists"))
            state = out.get("entityState") if exists else None
        except Exception as exc:  # the batch as a whole failed: every operation fails, the state is kept
            self.log.error(
                "entity function '%s' failed for %s outside its operations:\n%s",
                fi.durable_name,
                row.id,
                traceback.format_exc(),
            )
            message = f"Entity function '{fi.durable_name}' failed: {type(exc).__name__}: {exc}"
            return row.exists, row.state, [_error_result(message) for _ in requests]
        for req, result in zip(requests, results, strict=True):
            if result.get("isError"):
                self.log.warning(
                    "entity %s: operation '%s' failed: %s", row.id, req.get("op"), _text_of(result.get("result"))
                )
        return exists, state, results

    def _unknown(self, name: str) -> str:
        return unknown_entity_message(name, self.index.durable_names("entityTrigger"))


def _request(m: Message) -> Optional[dict[str, Any]]:
    ev = m.event
    if ev.get("EventType") != EventType.EventRaised or not str(ev.get("Name", "")).startswith(REQUEST_EVENT):
        return None
    try:
        body = json.loads(ev.get("Input") or "")
    except (TypeError, ValueError):
        return None
    return body if isinstance(body, dict) and body.get("id") else None


def _error_result(message: str) -> dict[str, Any]:
    return {"isError": True, "result": json.dumps(message), "duration": 0}


def _text_of(result_text: Any) -> str:
    try:
        return str(json.loads(result_text))
    except (TypeError, ValueError):
        return str(result_text)


def _responses(requests: list[dict[str, Any]], results: list[dict[str, Any]]) -> list[NewMessage]:
    """ResponseMessages for the calls of a batch (signals get none), to the calling execution."""
    out = []
    for req, result in zip(requests, results, strict=True):
        if req.get("signal") or not req.get("parent"):
            continue
        body: dict[str, Any] = {"result": result.get("result")}
        if result.get("isError"):
            body["exceptionType"] = "Error"
        ev = h.event(EventType.EventRaised, h.now(), Name=str(req["id"]), Input=compact_json(body))
        out.append(NewMessage(str(req["parent"]), req.get("parentExecution"), ev))
    return out
