"""The orchestration store: instances, history, an inbox of messages and activity work items, in SQLite.

SQLite in WAL mode survives ``kill -9`` of the process: a transaction is either wholly on disk or
not at all. Every state change the engine makes is one transaction, so after a restart the store
holds exactly the committed episodes; uncommitted work is simply done again (at-least-once), like the
Azure Storage backend re-delivering queue messages.

Tables:
  instances  one row per orchestration instance (latest execution)
  history    the current execution's history events, in order
  inbox      messages for instances (start, completions, timers, events, control), visible from a time
  work       activity work items waiting to run (a running one stays until its result commits)
  entities   durable entities (``@name@key``): whether each exists and its state; their operations arrive in
             the inbox like an orchestration's messages
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

from funchost.durable.history import Event, RuntimeStatus

SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, execution_id TEXT NOT NULL, status INTEGER NOT NULL,
    input TEXT, output TEXT, custom_status TEXT, created TEXT NOT NULL, updated TEXT NOT NULL,
    parent TEXT, created_epoch REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS instances_created ON instances(created_epoch);
CREATE TABLE IF NOT EXISTS history (
    instance_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL, PRIMARY KEY (instance_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL, execution_id TEXT,
    visible_at REAL NOT NULL, control INTEGER NOT NULL DEFAULT 0, message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_visible ON inbox(visible_at);
CREATE INDEX IF NOT EXISTS inbox_instance ON inbox(instance_id, seq);
CREATE TABLE IF NOT EXISTS work (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL, execution_id TEXT NOT NULL,
    task_id INTEGER NOT NULL, name TEXT NOT NULL, input TEXT
);
CREATE TABLE IF NOT EXISTS entities (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, key TEXT NOT NULL, exists_ INTEGER NOT NULL, state TEXT,
    last_operation TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entities_name ON entities(name, key);
"""


@dataclass
class Instance:
    """One row of ``instances``."""

    id: str
    name: str
    execution_id: str
    status: RuntimeStatus
    input: Optional[str]
    output: Optional[str]
    custom_status: Optional[str]
    created: str
    updated: str
    parent: Optional[dict[str, Any]]

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Instance":
        return cls(
            row["id"],
            row["name"],
            row["execution_id"],
            RuntimeStatus(row["status"]),
            row["input"],
            row["output"],
            row["custom_status"],
            row["created"],
            row["updated"],
            json.loads(row["parent"]) if row["parent"] else None,
        )


@dataclass
class Message:
    """One inbox message: a history event for an instance (and execution), visible from a time."""

    seq: int
    instance_id: str
    execution_id: Optional[str]
    event: Event


@dataclass
class WorkItem:
    """An activity to run for (instance, execution, task id)."""

    seq: int
    instance_id: str
    execution_id: str
    task_id: int
    name: str
    input: Optional[str]


@dataclass
class EntityRow:
    """One row of ``entities``: ``state`` is the JSON text the entity function returned as ``entityState``."""

    id: str
    name: str
    key: str
    exists: bool
    state: Optional[str]
    last_operation: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "EntityRow":
        return cls(row["id"], row["name"], row["key"], bool(row["exists_"]), row["state"], row["last_operation"])


@dataclass
class NewMessage:
    instance_id: str
    execution_id: Optional[str]
    event: Event
    visible_at: float = 0.0
    control: bool = False


class Store:
    """Thread-safe access to the SQLite state file; every public method is one transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL+NORMAL: durable across process crashes
        self._db.executescript(SCHEMA)
        self._history_cache: dict[str, list[Event]] = {}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- transactions --
    def transaction(self) -> "_Tx":
        return _Tx(self)

    # -- reads --
    def get_instance(self, instance_id: str) -> Optional[Instance]:
        with self._lock:
            row = self._db.execute("SELECT * FROM instances WHERE id=?", (instance_id,)).fetchone()
        return Instance.from_row(row) if row else None

    def history(self, instance_id: str) -> list[Event]:
        """The current execution's history (cached; the cache is kept in step by every write)."""
        with self._lock:
            cached = self._history_cache.get(instance_id)
            if cached is not None:
                return list(cached)
            rows = self._db.execute(
                "SELECT event FROM history WHERE instance_id=? ORDER BY seq", (instance_id,)
            ).fetchall()
            events = [json.loads(r["event"]) for r in rows]
            self._history_cache[instance_id] = events
            return list(events)

    def query_instances(
        self, where: str = "1=1", params: Iterable[Any] = (), limit: int = 1000, offset: int = 0
    ) -> list[Instance]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM instances WHERE {where} ORDER BY created_epoch, id LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return [Instance.from_row(r) for r in rows]

    def ready_instances(self, now: float, exclude: set[str], limit: int) -> list[str]:
        """Instances with visible messages (control messages only, for suspended instances)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT i.instance_id FROM inbox i LEFT JOIN instances s ON s.id = i.instance_id "
                "WHERE i.visible_at <= ? AND (i.control = 1 OR s.status IS NULL OR s.status != ?) "
                "ORDER BY i.seq LIMIT ?",
                (now, int(RuntimeStatus.Suspended), limit + len(exclude)),
            ).fetchall()
        return [r[0] for r in rows if r[0] not in exclude][:limit]

    def next_visible_time(self) -> Optional[float]:
        with self._lock:
            row = self._db.execute("SELECT MIN(visible_at) FROM inbox").fetchone()
        return row[0] if row and row[0] is not None else None

    def messages(self, instance_id: str, now: float) -> list[Message]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM inbox WHERE instance_id=? AND visible_at <= ? ORDER BY seq", (instance_id, now)
            ).fetchall()
        return [Message(r["seq"], r["instance_id"], r["execution_id"], json.loads(r["message"])) for r in rows]

    def pending_work(self, exclude: set[int], limit: int) -> list[WorkItem]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM work ORDER BY seq LIMIT ?", (limit + len(exclude),)).fetchall()
        items = [
            WorkItem(r["seq"], r["instance_id"], r["execution_id"], r["task_id"], r["name"], r["input"])
            for r in rows
            if r["seq"] not in exclude
        ]
        return items[:limit]

    def get_entity(self, entity_id: str) -> Optional[EntityRow]:
        with self._lock:
            row = self._db.execute("SELECT * FROM entities WHERE id=?", (entity_id,)).fetchone()
        return EntityRow.from_row(row) if row else None

    def list_entities(self, name: str, limit: int, offset: int) -> list[EntityRow]:
        """Entities of one name that exist, ordered by key."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM entities WHERE name=? AND exists_=1 ORDER BY key LIMIT ? OFFSET ?", (name, limit, offset)
            ).fetchall()
        return [EntityRow.from_row(r) for r in rows]

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                t: self._db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("instances", "history", "inbox", "work", "entities")
            }


class _Tx:
    """A write transaction (``BEGIN IMMEDIATE`` … ``COMMIT``), rolled back on any exception."""

    def __init__(self, store: Store) -> None:
        self.s = store
        self.db = store._db
        self._history_updates: dict[str, Optional[list[Event]]] = {}

    def __enter__(self) -> "_Tx":
        self.s._lock.acquire()
        self.db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                self.db.execute("COMMIT")
                for iid, events in self._history_updates.items():
                    if events is None:
                        self.s._history_cache.pop(iid, None)
                    else:
                        self.s._history_cache[iid] = events
            else:
                self.db.execute("ROLLBACK")
        finally:
            self.s._lock.release()

    def put_instance(self, inst: Instance, created_epoch: Optional[float] = None) -> None:
        epoch = created_epoch if created_epoch is not None else time.time()
        self.db.execute(
            "INSERT INTO instances (id, name, execution_id, status, input, output, custom_status, created, "
            "updated, parent, created_epoch) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
            "name=excluded.name, execution_id=excluded.execution_id, status=excluded.status, "
            "input=excluded.input, output=excluded.output, custom_status=excluded.custom_status, "
            "created=excluded.created, updated=excluded.updated, parent=excluded.parent, "
            "created_epoch=excluded.created_epoch",
            (
                inst.id,
                inst.name,
                inst.execution_id,
                int(inst.status),
                inst.input,
                inst.output,
                inst.custom_status,
                inst.created,
                inst.updated,
                json.dumps(inst.parent) if inst.parent else None,
                epoch,
            ),
        )

    def update_instance(self, instance_id: str, **fields: Any) -> None:
        cols = ", ".join(f"{k}=?" for k in fields)
        values = [int(v) if isinstance(v, RuntimeStatus) else v for v in fields.values()]
        self.db.execute(f"UPDATE instances SET {cols} WHERE id=?", (*values, instance_id))

    def append_history(self, instance_id: str, old: list[Event], new: list[Event]) -> None:
        start = len(old)
        self.db.executemany(
            "INSERT INTO history (instance_id, seq, event) VALUES (?,?,?)",
            [(instance_id, start + i, json.dumps(e)) for i, e in enumerate(new)],
        )
        self._history_updates[instance_id] = old + new

    def reset_history(self, instance_id: str) -> None:
        self.db.execute("DELETE FROM history WHERE instance_id=?", (instance_id,))
        self._history_updates[instance_id] = []

    def send(self, messages: Iterable[NewMessage]) -> None:
        self.db.executemany(
            "INSERT INTO inbox (instance_id, execution_id, visible_at, control, message) VALUES (?,?,?,?,?)",
            [(m.instance_id, m.execution_id, m.visible_at, int(m.control), json.dumps(m.event)) for m in messages],
        )

    def consume(self, seqs: Iterable[int]) -> None:
        self.db.executemany("DELETE FROM inbox WHERE seq=?", [(s,) for s in seqs])

    def add_work(self, items: Iterable[tuple[str, str, int, str, Optional[str]]]) -> None:
        self.db.executemany(
            "INSERT INTO work (instance_id, execution_id, task_id, name, input) VALUES (?,?,?,?,?)", list(items)
        )

    def finish_work(self, seq: int) -> bool:
        """Remove a work item; False when it was already finished (a duplicate run)."""
        return self.db.execute("DELETE FROM work WHERE seq=?", (seq,)).rowcount == 1

    def drop_instance_work(self, instance_id: str) -> None:
        self.db.execute("DELETE FROM work WHERE instance_id=?", (instance_id,))

    def put_entity(self, row: EntityRow) -> None:
        self.db.execute(
            "INSERT INTO entities (id, name, key, exists_, state, last_operation) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET exists_=excluded.exists_, state=excluded.state, "
            "last_operation=excluded.last_operation",
            (row.id, row.name, row.key, int(row.exists), row.state, row.last_operation),
        )

    def purge(self, instance_id: str) -> bool:
        deleted = self.db.execute("DELETE FROM instances WHERE id=?", (instance_id,)).rowcount
        for table in ("history", "inbox", "work"):
            self.db.execute(f"DELETE FROM {table} WHERE instance_id=?", (instance_id,))
        self._history_updates[instance_id] = None
        return deleted == 1
