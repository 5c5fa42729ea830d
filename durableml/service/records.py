"""Records of the service (runs, step runs, experiments, ...) in Azure Tables, JSON documents inside.

Each record is an entity whose ``doc`` property holds the record as JSON (split over ``doc``, ``doc1``,
``doc2``... because a table property holds at most 32K characters), plus a few top-level properties
worth filtering on (``status``, ``experiment``). Large, immutable documents belong in blobs instead.
Updates are read-modify-write with the entity's ETag (optimistic concurrency), retried on conflict, so
concurrent activities never lose a field another one wrote.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any, Callable, Optional, TypeVar

from durableml._names import table_key_problem
from durableml.exceptions import ConfigurationError, ValidationError
from durableml.service import state

RUNS, STEPS, EXPERIMENTS = "dmlRuns", "dmlStepRuns", "dmlExperiments"
CHUNK = 30_000  # characters per property (the limit is 32K UTF-16 characters)
MAX_CHUNKS = 30  # ~900 KB of JSON: below the 1 MB entity limit
T = TypeVar("T")
_INDEXED = ("status", "experiment", "name", "created", "kind", "parent_id")


def storage_connection() -> str:
    """The service's storage account: the Function App's ``AzureWebJobsStorage`` connection string, or, when the
    app has identity-based storage settings instead (``AzureWebJobsStorage__blobServiceUri`` ..., as in Azure),
    their connection text (:func:`durableml.storage_accounts.identity_connection`: endpoints and the identity's
    client id, no key)."""
    conn = os.environ.get("DURABLEML_STORAGE") or os.environ.get("AzureWebJobsStorage")
    if not conn:
        from durableml.storage_accounts import identity_connection

        identity = identity_connection(os.environ)
        if identity:
            return identity
        raise ConfigurationError(
            "no storage account configured: set AzureWebJobsStorage (for example "
            "UseDevelopmentStorage=true with Azurite) in local.settings.json, or the identity-based settings "
            "AzureWebJobsStorage__blobServiceUri/__queueServiceUri/__tableServiceUri (+ __credential, __clientId)"
        )
    if conn.strip().lower() == "usedevelopmentstorage=true":
        from funchost.azurite import connection_string

        return connection_string(10000, 10001, 10002)
    return conn


class Records:
    """Typed access to the record tables (created on first use)."""

    def __init__(self, connection_string: Optional[str] = None) -> None:
        from durableml.storage_accounts import table_service

        self._service = table_service(connection_string or storage_connection())
        self._tables: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _table(self, name: str) -> Any:
        with self._lock:
            if name not in self._tables:
                self._tables[name] = self._service.create_table_if_not_exists(name)
            return self._tables[name]

    def _on_table(self, name: str, operation: Callable[[Any], T]) -> T:
        """``operation(table client)``; once more after creating the table again when storage lost it (a hard kill
        of the local emulator before it saved its tables: see docs/design/faults.md)."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return operation(self._table(name))
        except ResourceNotFoundError as exc:
            if "TableNotFound" not in str(getattr(exc, "error_code", None) or exc):
                raise
            with self._lock:
                self._tables.pop(name, None)
            return operation(self._table(name))

    def put(self, table: str, pk: str, rk: str, doc: dict[str, Any]) -> None:
        from azure.data.tables import UpdateMode

        _check_keys(pk, rk)
        self._on_table(table, lambda t: t.upsert_entity(_entity(pk, rk, doc), mode=UpdateMode.REPLACE))

    def insert(self, table: str, pk: str, rk: str, doc: dict[str, Any]) -> bool:
        """Create the record; False (nothing written) when it exists already."""
        from azure.core.exceptions import ResourceExistsError

        _check_keys(pk, rk)
        try:
            self._on_table(table, lambda t: t.create_entity(_entity(pk, rk, doc)))
        except ResourceExistsError:
            return False
        return True

    def get(self, table: str, pk: str, rk: str) -> Optional[dict[str, Any]]:
        """The record, or None (also for a key no record can have: a name or id from a request, say)."""
        from azure.core.exceptions import ResourceNotFoundError

        if table_key_problem(pk) or table_key_problem(rk):
            return None
        try:
            entity = self._table(table).get_entity(pk, rk)
        except ResourceNotFoundError:
            return None
        return dict(json.loads(_text(entity)))

    def delete(self, table: str, pk: str, rk: str) -> None:
        self._table(table).delete_entity(pk, rk)

    def update(self, table: str, pk: str, rk: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Apply ``change`` to the stored doc with ETag concurrency; returns the new doc."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        if table_key_problem(pk) or table_key_problem(rk):
            raise LookupError(f"no record {table}/{pk[:80]}/{rk[:80]}")
        table_client = self._table(table)
        for _ in range(20):
            try:
                entity = table_client.get_entity(pk, rk)
            except ResourceNotFoundError as exc:
                raise LookupError(f"no record {table}/{pk}/{rk}") from exc
            doc = dict(json.loads(_text(entity)))
            change(doc)
            try:
                table_client.update_entity(
                    _entity(pk, rk, doc),
                    mode=UpdateMode.REPLACE,
                    etag=entity.metadata["etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
                return doc
            except ResourceModifiedError:
                continue
        raise RuntimeError(f"record {table}/{pk}/{rk} kept changing; gave up after 20 tries")

    def query(
        self, table: str, pk: str, where: str = "", parameters: Optional[dict[str, Any]] = None
    ) -> list[dict[str, Any]]:
        """Records of partition ``pk``, optionally filtered by an OData ``where`` on indexed properties."""
        flt = "PartitionKey eq @pk" + (f" and ( {where} )" if where else "")  # spaces: the SDK reads "@p)" as a name
        return self._on_table(
            table,
            lambda t: [
                dict(json.loads(_text(e))) for e in t.query_entities(flt, parameters={"pk": pk, **(parameters or {})})
            ],
        )


def _check_keys(pk: str, rk: str) -> None:
    for key in (pk, rk):
        problem = table_key_problem(key)
        if problem:
            raise ValidationError(f"{key[:80]!r} cannot name a record: {problem}")


def _text(entity: Any) -> str:
    parts, i = [entity["doc"]], 1
    while f"doc{i}" in entity:
        parts.append(entity[f"doc{i}"])
        i += 1
    return "".join(parts)


def _entity(pk: str, rk: str, doc: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(doc, sort_keys=True)
    chunks = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]
    if len(chunks) > MAX_CHUNKS:
        raise ValidationError(
            f"the record {pk}/{rk} would hold {len(text)} characters of JSON, more than a table "
            f"entity can ({CHUNK * MAX_CHUNKS}); log fewer or smaller values"
        )
    entity: dict[str, Any] = {"PartitionKey": pk, "RowKey": rk, "doc": chunks[0]}
    entity.update({f"doc{i}": chunk for i, chunk in enumerate(chunks[1:], start=1)})
    for key in _INDEXED:
        if isinstance(doc.get(key), str):
            entity[key] = doc[key]
    return entity


def _blob_service() -> Any:
    from durableml.storage_accounts import blob_service

    return blob_service(storage_connection())


_BLOB_SERVICE = state.singleton(
    "blob service client", "one client for the account: thread-safe, and costly to build", _blob_service
)
_CREATED = state.cache("containers created", "a container, once created, is never deleted by the service")
_blob_lock = threading.Lock()


def forget_lost_container(exc: BaseException) -> Optional[str]:
    """When ``exc`` says that one of the service's own containers is gone (storage lost it: a hard kill of the local
    emulator before it saved; docs/design/faults.md), forget that it was created, so the next use creates it again;
    returns its name, else None (someone else's container, or another error)."""
    if str(getattr(exc, "error_code", "") or "") != "ContainerNotFound":
        return None
    url = str(getattr(getattr(getattr(exc, "response", None), "request", None), "url", "") or "")
    segments = set(url.split("?", 1)[0].split("/"))
    lost = next((name for name in list(_CREATED) if name in segments), None)
    if lost is not None:
        _CREATED.pop(lost, None)
    return lost


def blob_container(name: str, create: bool = True) -> Any:
    """A ContainerClient of the service's storage account (one shared client; created once per process)."""
    from azure.core.exceptions import ResourceExistsError

    client = _BLOB_SERVICE.get().get_container_client(name)
    if create and name not in _CREATED:
        with _blob_lock:
            if name not in _CREATED:
                try:
                    client.create_container()
                except ResourceExistsError:
                    pass
                _CREATED[name] = True
    return client


_RECORDS = state.singleton("records", "the table clients: thread-safe, and costly to build", lambda: Records())


def records() -> Records:
    """The process-wide Records (clients are thread-safe and expensive to build)."""
    return _RECORDS.get()
