"""What the remote backends (Ray jobs, Container Apps job executions) share: :class:`RemoteCompute`.

A remote backend runs each step as one job of an engine that shares no disk with the service. All of it but the
engine calls is the same and lives here:

* ``submit`` records the job in the target's state directory (``<state>/jobs/<id>/spec.json``, mode 0600, created
  once) and queues it; at most ``max_nodes`` jobs of the target run at once, the rest wait here, oldest first, and
  are dispatched by whoever next submits or polls, or by a dispatcher thread while jobs wait (under a file lock,
  ``<state>/dispatch.lock``, shared with other processes).
* Dispatching an attempt uploads a local-directory snapshot as a content-addressed snapshot (attempt 1), puts the
  spec blob ``durableml-jobs/<id>/spec.json`` once (:mod:`durableml.compute.layout`), and has the engine start the
  attempt; ``<state>/jobs/<id>/dispatched.json`` records ``{"attempt", <REF_KEY>: the engine's name of it,
  "dispatched"}``. A start that fails fails the step with the reason.
* ``poll`` asks the engine for the attempt's status and, once it ended, takes the runner's ``result.json`` from
  storage, which is the truth when present. Without it: stopped or cancel asked → Canceled; lost (the engine says
  how) → the next attempt, at most ``max_attempts``; else Failed with the engine's reason. The spec blob is deleted
  once the job ended.
* ``cancel`` drops a waiting job, or has the engine stop the attempt.

The engine-specific part is the small protocol of abstract methods below: start an attempt (:meth:`_launch`), its
native status (:meth:`_native`), whether a failed attempt was lost (:meth:`_lost`), why it failed
(:meth:`_failure`), stop it (:meth:`_stop`), plus ``logs`` and :meth:`_describe`.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Literal, Mapping, Optional

from durableml.compute.base import JobSpec, JobState, JobStatus, status_from_report, wait_until_ended
from durableml.compute.layout import JOBS_CONTAINER, RESULT_BLOB, SPEC_BLOB, blob_name
from durableml.compute.local.job_files import JobFiles, StateDir, now_iso, read_json
from durableml.compute.local.job_files import write_json_atomic
from durableml.compute.notify import send_notification
from durableml.exceptions import ComputeTargetException, RunNotFoundError
from durableml.jobs import NO_SNAPSHOT, job_report
from durableml.runner.storage import SNAPSHOTS_CONTAINER, BlobStore, get_store

__all__ = [
    "DISPATCHED",
    "NativeStatus",
    "RemoteCompute",
    "drop_spec_blob",
    "ended_result",
    "first_line",
    "put",
    "put_once",
    "with_uploaded_snapshot",
]

DISPATCHED = "dispatched.json"  # {"attempt", <REF_KEY>, "dispatched"} of the attempt that was started


@dataclass(frozen=True)
class NativeStatus:
    """What the engine says of one started attempt."""

    phase: Literal["queued", "running", "ended"]
    state: str  # the engine's own word: "PENDING", "SUCCEEDED", "Running", "Stopped"...
    started: Optional[str] = None  # ISO time, while running
    info: Any = None  # the engine's status object, handed back to _lost / _failure


class RemoteCompute(ABC):
    """The compute protocol (:mod:`durableml.compute.base`) for an engine that runs each attempt remotely."""

    REF_KEY: str = "ref"  # the key of the engine's name of an attempt in dispatched.json
    STOPPED: str = "Stopped"  # the engine's state of an attempt that was stopped
    START_FAILED: str = "the step could not start"  # the start of the reason when an attempt cannot start
    DISPATCH_THREAD: str = "remote-dispatch"

    def __init__(self, state_dir: Path | str, *, max_nodes: int, max_attempts: int, dispatch_interval: float) -> None:
        if max_nodes < 1:
            raise ComputeTargetException(f"max_nodes must be at least 1, not {max_nodes}")
        self.state = StateDir(state_dir)
        self.max_nodes = max_nodes
        self.max_attempts = max(1, max_attempts)
        self.dispatch_interval = dispatch_interval
        self._lock = threading.Lock()
        self._dispatcher: Optional[threading.Thread] = None
        self._client: Any = None

    # -- the engine ------------------------------------------------------------------------------
    @abstractmethod
    def _describe(self) -> str:
        """The target as errors name it: ``the Ray compute at http://head:8265``."""

    @abstractmethod
    def _make_client(self) -> Any:
        """The engine's API client (its SDK imported only now); raises ComputeTargetException."""

    @abstractmethod
    def _launch(self, store: BlobStore, spec: JobSpec, attempt: int) -> str:
        """Start ``attempt`` of ``spec`` (its spec blob is in ``store``), adopting one started before; returns the
        engine's name of it. Called with the dispatch lock held."""

    @abstractmethod
    def _native(self, dispatched: Mapping[str, Any]) -> NativeStatus:
        """The engine's status of the attempt ``dispatched`` records."""

    @abstractmethod
    def _lost(self, native: NativeStatus) -> bool:
        """True when an attempt that ended without a result lost its process (worth running again)."""

    @abstractmethod
    def _failure(self, dispatched: Mapping[str, Any], native: NativeStatus) -> tuple[str, dict[str, Any]]:
        """Why an attempt ended without a result, and more fields for the result document."""

    @abstractmethod
    def _stop(self, dispatched: Mapping[str, Any]) -> None:
        """Stop the attempt ``dispatched`` records (called without the dispatch lock)."""

    def _cancel_started(self, files: JobFiles, dispatched: Mapping[str, Any]) -> None:
        """Called with the dispatch lock held when a started job is canceled, before :meth:`_stop` (nothing here)."""
        return None

    def _first_line(self, exc: BaseException) -> str:
        """The line of an engine's error that says what went wrong."""
        return first_line(exc)

    # -- the protocol ----------------------------------------------------------------------------
    def submit(self, job: JobSpec) -> str:
        """Accept ``job`` (idempotent on ``job.job_id``); it starts as soon as a slot is free."""
        self.state.accept(job)
        self._dispatch()
        self._keep_dispatching()
        return job.job_id

    def poll(self, job_id: str) -> JobStatus:
        """The job's status (see the module docstring)."""
        files = self._existing(job_id)
        result = files.read_result()
        if result is not None:
            return status_from_report(job_id, result)
        dispatched = read_json(files.dir / DISPATCHED)
        if dispatched is None:
            self._dispatch()
            dispatched = read_json(files.dir / DISPATCHED)
            result = files.read_result()
            if result is not None:
                return status_from_report(job_id, result)
            if dispatched is None:
                self._keep_dispatching()
                return JobStatus(job_id, JobState.QUEUED)
        return self._status(files, dispatched)

    def cancel(self, job_id: str) -> None:
        """Stop the job: a waiting one never starts, a started one is stopped by the engine."""
        files = self._existing(job_id)
        with self._dispatching():
            if files.result.exists():
                return
            files.cancel.touch()
            dispatched = read_json(files.dir / DISPATCHED)
            if dispatched is None:
                self._finish(files, ended_result(job_id, JobState.CANCELED, "canceled before it started"), notify=True)
                return
            self._cancel_started(files, dispatched)
        self._stop(dispatched)

    @abstractmethod
    def logs(self, job_id: str, offset: int = 0) -> str:
        """The driver log from character ``offset``."""

    # -- extras ----------------------------------------------------------------------------------
    def result(self, job_id: str) -> Optional[dict[str, Any]]:
        """The full result document once the job ended (polling it first), else None."""
        self.poll(job_id)
        return self._existing(job_id).read_result()

    def wait(self, job_id: str, timeout: float = 60.0, interval: float = 0.1) -> JobStatus:
        """Poll until the job ends; raises TimeoutError after ``timeout`` seconds."""
        return wait_until_ended(self.poll, job_id, timeout, interval, lambda: f" on {self!r}")

    def client(self) -> Any:
        """The engine's API client, made on first use."""
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def _current(self, job_id: str) -> Optional[str]:
        """The engine's name of the job's current attempt, once it was started."""
        found = read_json(self._existing(job_id).dir / DISPATCHED)
        return str(found[self.REF_KEY]) if found else None

    # -- dispatching -------------------------------------------------------------------------------
    @contextmanager
    def _dispatching(self) -> Iterator[None]:
        """Held while jobs are counted and dispatched (by threads of this process and other processes alike)."""
        self.state.ensure()
        fd = os.open(self.state.root / "dispatch.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _dispatch(self) -> int:
        """Dispatch waiting jobs while fewer than ``max_nodes`` run; returns how many still wait."""
        with self._dispatching():
            waiting, active = [], 0
            for job_id in self.state.job_ids():
                files = self.state.job(job_id)
                if files.result.exists():
                    continue
                dispatched = read_json(files.dir / DISPATCHED)
                if dispatched is None:
                    waiting.append(files)
                elif not self._status(files, dispatched, locked=True).is_terminal:
                    active += 1
            for files in waiting:
                if files.cancel_requested():
                    self._finish(
                        files, ended_result(files.job_id, JobState.CANCELED, "canceled before it started"), True
                    )
                elif active < self.max_nodes:
                    self._start(files, attempt=1)
                    active += 1
            return sum(1 for files in waiting if not files.result.exists() and not (files.dir / DISPATCHED).exists())

    def _keep_dispatching(self) -> None:
        """Run a dispatcher thread while jobs wait (so they start without waiting for the next poll)."""
        with self._lock:
            if self._dispatcher is not None and self._dispatcher.is_alive():
                return
            self._dispatcher = threading.Thread(target=self._dispatch_loop, name=self.DISPATCH_THREAD, daemon=True)
            self._dispatcher.start()

    def _dispatch_loop(self) -> None:
        while True:
            time.sleep(self.dispatch_interval)
            try:
                if self._dispatch() == 0:
                    return
            except Exception:  # noqa: BLE001 - the next submit or poll dispatches (and reports) instead
                return

    def _start(self, files: JobFiles, attempt: int) -> None:
        """Start ``attempt`` of a job (adopting one that exists already); caller holds the lock."""
        spec = self._spec(files)
        try:
            if attempt == 1:
                spec = with_uploaded_snapshot(spec)
            store = get_store(spec.connection_string)
            put_once(store, blob_name(spec.job_id, SPEC_BLOB), spec.to_dict())
            ref = self._launch(store, spec, attempt)
        except Exception as exc:  # noqa: BLE001 - the step fails with the reason instead of waiting forever
            what = f"{type(exc).__name__}: {self._first_line(exc)}"
            reason = exc if isinstance(exc, ComputeTargetException) else what
            self._finish(files, ended_result(spec.job_id, JobState.FAILED, f"{self.START_FAILED}: {reason}"), True)
            return
        write_json_atomic(files.dir / DISPATCHED, {"attempt": attempt, self.REF_KEY: ref, "dispatched": now_iso()})

    # -- status ------------------------------------------------------------------------------------
    def _status(self, files: JobFiles, dispatched: Mapping[str, Any], locked: bool = False) -> JobStatus:
        """The status of a started job; finishes it (result.json here) once its attempt ended."""
        ref = str(dispatched[self.REF_KEY])
        native = self._native(dispatched)
        if native.phase == "queued":
            return JobStatus(files.job_id, JobState.QUEUED)
        if native.phase == "running":
            return JobStatus(files.job_id, JobState.RUNNING, started=native.started)
        if locked:
            return self._ended(files, dispatched, native)
        with self._dispatching():
            result = files.read_result()
            if result is not None:
                return status_from_report(files.job_id, result)
            current = read_json(files.dir / DISPATCHED) or dispatched
            if current.get(self.REF_KEY) != ref:  # another caller moved on to a new attempt meanwhile
                return self._status(files, current, locked=True)
            return self._ended(files, dispatched, native)

    def _ended(self, files: JobFiles, dispatched: Mapping[str, Any], native: NativeStatus) -> JobStatus:
        spec = self._spec(files)
        store = get_store(spec.connection_string)
        raw = store.read_bytes(JOBS_CONTAINER, blob_name(files.job_id, RESULT_BLOB))
        attempt = int(dispatched.get("attempt") or 1)
        if raw is not None:
            self._finish(files, dict(json.loads(raw)), notify=False)  # the node told the orchestration itself
        elif native.state == self.STOPPED or files.cancel_requested():
            self._finish(files, ended_result(files.job_id, JobState.CANCELED, "canceled while the script ran"), True)
        elif self._lost(native) and attempt < self.max_attempts:
            self._start(files, attempt + 1)  # the attempt's process was killed or its node died: run it again
            rerun = files.read_result()  # set when the rerun could not even be started
            return status_from_report(files.job_id, rerun) if rerun else JobStatus(files.job_id, JobState.QUEUED)
        else:
            why, more = self._failure(dispatched, native)
            if attempt > 1:
                why = f"{why} (attempt {attempt} of {self.max_attempts})"
            self._finish(files, {**ended_result(files.job_id, JobState.FAILED, why), **more}, notify=True)
        drop_spec_blob(store, files.job_id)
        return status_from_report(files.job_id, files.read_result() or {})

    def _finish(self, files: JobFiles, result: dict[str, Any], notify: bool) -> None:
        write_json_atomic(files.result, result)
        if notify:
            spec = self._spec(files)
            if spec.notify:
                send_notification(spec.notify, job_report(result))

    def _spec(self, files: JobFiles) -> JobSpec:
        return JobSpec.from_dict(read_json(files.spec) or {})

    def _existing(self, job_id: str) -> JobFiles:
        files = self.state.job(job_id)
        if not files.spec.exists():
            raise RunNotFoundError(
                f"no job {job_id!r} was submitted to {self._describe()} from this service; "
                "submit it first (or check the step run id)"
            )
        return files


def put(store: BlobStore, name: str, data: Mapping[str, Any]) -> None:
    """Write blob ``name`` in the jobs container."""
    store.container(JOBS_CONTAINER).get_blob_client(name).upload_blob(json.dumps(data).encode(), overwrite=True)


def put_once(store: BlobStore, name: str, data: Mapping[str, Any]) -> bool:
    """Create blob ``name`` in the jobs container; False when it exists already."""
    from azure.core.exceptions import ResourceExistsError

    try:
        store.container(JOBS_CONTAINER).get_blob_client(name).upload_blob(json.dumps(data).encode(), overwrite=False)
    except ResourceExistsError:
        return False
    return True


def drop_spec_blob(store: BlobStore, job_id: str) -> None:
    """Delete a job's spec blob (once the job ended)."""
    try:
        store.container(JOBS_CONTAINER).get_blob_client(blob_name(job_id, SPEC_BLOB)).delete_blob()
    except Exception:  # noqa: BLE001 - gone already (a signed URL to it expires anyway)
        pass


def with_uploaded_snapshot(spec: JobSpec) -> JobSpec:
    """The spec with a local-directory snapshot replaced by a snapshot id in storage (nodes share no disk)."""
    if spec.snapshot == NO_SNAPSHOT or not Path(spec.snapshot).is_dir():
        return spec
    from durableml.source_snapshot import snapshot_files, snapshot_manifest

    files = snapshot_files(spec.snapshot)
    snapshot_id, manifest = snapshot_manifest({f.path: f.sha256 for f in files})
    store = get_store(spec.connection_string)
    name = f"manifests/{snapshot_id}.json"
    if store.read_bytes(SNAPSHOTS_CONTAINER, name) is None:
        unique = {f.sha256: f for f in files}
        store.upload_files(SNAPSHOTS_CONTAINER, [(Path(f.local_path), f"files/{sha}") for sha, f in unique.items()])
        store.container(SNAPSHOTS_CONTAINER).get_blob_client(name).upload_blob(manifest, overwrite=True)
    return JobSpec.from_dict({**spec.to_dict(), "snapshot": snapshot_id})


def ended_result(job_id: str, state: JobState, error: str) -> dict[str, Any]:
    """The result document of a job that ended without the runner's own result."""
    return {
        "job_id": job_id,
        "status": state.value,
        "exit_code": None,
        "error": error,
        "metrics": [],
        "outputs": {},
        "started": None,
        "ended": now_iso(),
        "attempt": 0,
    }


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an error's text."""
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else ""
