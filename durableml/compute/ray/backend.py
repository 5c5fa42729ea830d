"""RayCompute: each step is a Ray job, submitted through Ray's Jobs API (``JobSubmissionClient``).

``submit`` records the job in the target's state directory (``<state>/jobs/<id>/spec.json``, mode 0600,
created once) and queues it; at most ``max_nodes`` jobs of the target run on the cluster at once, the rest wait
here, oldest first, and are dispatched by whoever next submits or polls, or by a dispatcher thread while jobs
wait. Dispatching a job:

1. a step whose snapshot is a local directory has it uploaded as a content-addressed snapshot (the node reads
   it from ``durableml-snapshots``, as it reads every snapshot);
2. the spec goes to ``durableml-jobs/<id>/spec.json`` in the job's storage account (:mod:`.layout`);
3. ``submit_job(entrypoint="python -m durableml.compute.ray.node", submission_id=<step run id>, ...)`` with the
   spec blob's read-only URL in ``runtime_env.env_vars`` and the resource requests of :func:`resource_requests`.
   A submission id that exists already (a retried submit, another process) is adopted, never duplicated.

``poll`` maps Ray's status (PENDING → Queued, RUNNING → Running) and, once the job ended, takes the runner's
``result.json`` from storage: the step's own Finished / Failed / Canceled with its reason, outputs and metrics.
A Ray job that ended without a result was lost with its process: killed by a signal, or its node died, it is
submitted again (``<id>@attempt-<n>``, at most ``max_attempts``; steps run at least once, as on the local
backend); one whose entrypoint failed otherwise fails the step with Ray's message. ``cancel`` stops the Ray job
(the node's SIGTERM handler cancels the runner) or drops a waiting one. ``logs`` reads the Ray job's log while
it runs (the node copies the driver log to it) and the driver log blob once it ended.

Nothing here assumes the node shares this machine's filesystem: the node entrypoint (:mod:`.node`) gets
everything from storage. The auth header (a secret) goes to the Jobs API in request headers only; it never
reaches a log, a record or an error message.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shlex
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional

from durableml.compute.base import JobSpec, JobState, JobStatus, status_from_report
from durableml.compute.local.job_files import JobFiles, StateDir, create_json_once, now_iso, read_json
from durableml.compute.local.job_files import write_json_atomic
from durableml.compute.notify import send_notification
from durableml.compute.ray.layout import (
    ATTEMPT_ENV,
    JOBS_CONTAINER,
    LOG_MARKER,
    RESULT_BLOB,
    SPEC_BLOB,
    SPEC_URL_ENV,
    blob_name,
    submission_id,
)
from durableml.exceptions import ComputeTargetException, RunNotFoundError
from durableml.jobs import NO_SNAPSHOT, job_report
from durableml.runner.storage import LOGS_CONTAINER, SNAPSHOTS_CONTAINER, BlobStore, get_store

__all__ = ["AZURE_GPU_SIZES", "RayCompute", "resource_requests", "parse_auth_header", "NODE_MODULE"]

NODE_MODULE = "durableml.compute.ray.node"
DISPATCHED = "dispatched.json"  # {"attempt", "submission_id", "dispatched"} of the attempt on the cluster
SPEC_URL_DAYS = 7  # the spec URL's lifetime; the blob itself is deleted once the job ended
AZURE_GPU_SIZES = {  # vm_sizes="azure": Azure VM sizes with GPUs -> GPUs per VM (other sizes ask for none)
    "standard_nc6": 1, "standard_nc12": 2, "standard_nc24": 4, "standard_nc6s_v2": 1, "standard_nc12s_v2": 2,
    "standard_nc24s_v2": 4, "standard_nc6s_v3": 1, "standard_nc12s_v3": 2, "standard_nc24s_v3": 4,
    "standard_nc4as_t4_v3": 1, "standard_nc8as_t4_v3": 1, "standard_nc16as_t4_v3": 1, "standard_nc64as_t4_v3": 4,
    "standard_nc24ads_a100_v4": 1, "standard_nc48ads_a100_v4": 2, "standard_nc96ads_a100_v4": 4,
    "standard_nd6s": 1, "standard_nd12s": 2, "standard_nd24s": 4, "standard_nd40rs_v2": 8,
    "standard_nd96asr_v4": 8, "standard_nv6": 1, "standard_nv12": 2, "standard_nv24": 4,
}  # fmt: skip


def resource_requests(
    vm_size: Optional[str] = None,
    num_cpus: Optional[float] = None,
    num_gpus: Optional[float] = None,
    resources: Optional[Mapping[str, float]] = None,
    memory: Optional[int] = None,
    vm_sizes: Optional[str | Mapping[str, Mapping[str, Any]]] = None,
) -> dict[str, Any]:
    """The ``submit_job`` resource arguments of one step of a target.

    A v1 target's ``vm_size`` names an Azure VM, which a Ray cluster does not have; ``vm_sizes`` says what it
    means there: None (the default) ignores it; ``"azure"`` asks for the GPUs of an Azure GPU size
    (:data:`AZURE_GPU_SIZES`: ``STANDARD_NC6`` → 1 GPU, ``Standard_ND40rs_v2`` → 8; other sizes ask for none);
    a mapping ``{vm size: {"num_cpus", "num_gpus", "resources", "memory"}}`` (sizes compared without case) gives
    each size its own requests. Explicit ``num_cpus`` / ``num_gpus`` / ``resources`` / ``memory`` win over both.

    * ``entrypoint_num_cpus``: default 1 (a step is one script process: a 2-CPU node runs two steps at once;
      ``max_nodes`` bounds the target as a whole).
    * ``entrypoint_num_gpus``, ``entrypoint_resources`` (custom resources the cluster's nodes declare, e.g.
      ``{"azure_vm": 1}``), ``entrypoint_memory`` (bytes): only when asked for.
    """
    size = str(vm_size or "").lower()
    mapped: dict[str, Any] = {}
    if vm_sizes == "azure":
        mapped = {"num_gpus": AZURE_GPU_SIZES[size]} if size in AZURE_GPU_SIZES else {}
    elif isinstance(vm_sizes, Mapping):
        mapped = dict(next((v for k, v in vm_sizes.items() if str(k).lower() == size), {}))
    elif vm_sizes is not None:
        raise ComputeTargetException(f"vm_sizes must be None, 'azure' or a mapping of VM sizes, not {vm_sizes!r}")
    num_cpus = mapped.get("num_cpus") if num_cpus is None else num_cpus
    num_gpus = mapped.get("num_gpus") if num_gpus is None else num_gpus
    resources = mapped.get("resources") if resources is None else resources
    memory = mapped.get("memory") if memory is None else memory
    requests: dict[str, Any] = {"entrypoint_num_cpus": 1.0 if num_cpus is None else float(num_cpus)}
    gpus = num_gpus or 0
    if gpus:
        requests["entrypoint_num_gpus"] = float(gpus)
    if resources:
        requests["entrypoint_resources"] = {str(k): float(v) for k, v in resources.items()}
    if memory:
        requests["entrypoint_memory"] = int(memory)
    return requests


def parse_auth_header(value: Optional[str | Mapping[str, str]]) -> dict[str, str]:
    """Request headers from an auth header: ``{"Name": "value"}``, ``"Name: value"``, or a bare value, which is
    sent as ``Authorization``."""
    if not value:
        return {}
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    name, sep, rest = str(value).partition(":")
    if sep and re.fullmatch(r"[A-Za-z0-9-]+", name.strip()):
        return {name.strip(): rest.strip()}
    return {"Authorization": str(value).strip()}


class RayCompute:
    """The Ray backend of the compute protocol (see :mod:`durableml.compute.base`)."""

    def __init__(
        self,
        address: str,
        state_dir: Path | str,
        *,
        max_nodes: int = 1,
        auth_header: Optional[str | Mapping[str, str]] = None,
        vm_size: Optional[str] = None,
        num_cpus: Optional[float] = None,
        num_gpus: Optional[float] = None,
        resources: Optional[Mapping[str, float]] = None,
        memory: Optional[int] = None,
        vm_sizes: Optional[str | Mapping[str, Mapping[str, Any]]] = None,
        python: str = "python",
        runtime_env: Optional[Mapping[str, Any]] = None,
        max_attempts: int = 3,
        dispatch_interval: float = 0.2,
    ) -> None:
        if not address:
            raise ComputeTargetException("a Ray compute target needs the address of the cluster's dashboard")
        if max_nodes < 1:
            raise ComputeTargetException(f"max_nodes must be at least 1, not {max_nodes}")
        self.address = address if "://" in address else f"http://{address}"
        self.state = StateDir(state_dir)
        self.max_nodes = max_nodes
        self.requests = resource_requests(vm_size, num_cpus, num_gpus, resources, memory, vm_sizes)
        self.python = python
        self.runtime_env = dict(runtime_env or {})
        self.max_attempts = max(1, max_attempts)
        self.dispatch_interval = dispatch_interval
        self._headers = parse_auth_header(auth_header)
        self._client: Any = None
        self._lock = threading.Lock()
        self._dispatcher: Optional[threading.Thread] = None

    def __repr__(self) -> str:  # never the headers
        return f"RayCompute({self.address!r}, max_nodes={self.max_nodes})"

    # -- the protocol ----------------------------------------------------------------------------
    def submit(self, job: JobSpec) -> str:
        """Accept ``job`` (idempotent on ``job.job_id``); it runs on the cluster as soon as a node is free."""
        self.state.ensure()
        files = self.state.job(job.job_id)
        files.dir.mkdir(mode=0o700, exist_ok=True)
        create_json_once(files.spec, job.to_dict(), mode=0o600)
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
        """Stop the job: a waiting one never starts, a running one gets Ray's stop (SIGTERM, SIGKILL later)."""
        files = self._existing(job_id)
        with self._dispatching():
            if files.result.exists():
                return
            files.cancel.touch()
            dispatched = read_json(files.dir / DISPATCHED)
            if dispatched is None:
                self._finish(files, _ended_result(job_id, JobState.CANCELED, "canceled before it started"), notify=True)
                return
            sid = str(dispatched["submission_id"])
            if str(getattr(self._ray_status(dispatched), "value", "")) == "PENDING":
                # Ray cannot stop a job whose supervisor waits for resources (the stop waits with it): the step
                # ends Canceled here, and a late start finds the result (and no spec) in storage and runs nothing
                self._cancel_pending(files)
        try:
            self._call("stop_job", sid)
        except ComputeTargetException:
            if not self._ray_status(dispatched).is_terminal:
                raise

    def _cancel_pending(self, files: JobFiles) -> None:
        from azure.core.exceptions import ResourceExistsError

        spec = self._spec(files)
        store = get_store(spec.connection_string)
        result = _ended_result(files.job_id, JobState.CANCELED, "canceled before it started")
        blob = store.container(JOBS_CONTAINER).get_blob_client(blob_name(files.job_id, RESULT_BLOB))
        try:
            blob.upload_blob(json.dumps(result).encode(), overwrite=False)
        except ResourceExistsError:  # it started and ended meanwhile: its own result stands
            return
        self._drop_spec_blob(store, files.job_id)
        self._finish(files, result, notify=True)

    def logs(self, job_id: str, offset: int = 0) -> str:
        """The driver log from character ``offset``: the Ray job's log while it runs, the log blob once it ended."""
        files = self._existing(job_id)
        result = files.read_result()
        if result is not None:
            where = result.get("log") or {}
            text = None
            if where.get("blob"):
                store = get_store(self._spec(files).connection_string)
                raw = store.read_bytes(str(where.get("container") or LOGS_CONTAINER), str(where["blob"]))
                text = raw.decode("utf-8", errors="replace") if raw is not None else None
            return (text if text is not None else str(result.get("ray_log") or ""))[offset:]
        dispatched = read_json(files.dir / DISPATCHED)
        if dispatched is None:
            return ""
        return _driver_part(self._call("get_job_logs", str(dispatched["submission_id"])))[offset:]

    # -- extras ----------------------------------------------------------------------------------
    def result(self, job_id: str) -> Optional[dict[str, Any]]:
        """The full result document once the job ended (polling it first), else None."""
        self.poll(job_id)
        return self._existing(job_id).read_result()

    def wait(self, job_id: str, timeout: float = 60.0, interval: float = 0.1) -> JobStatus:
        """Poll until the job ends; raises TimeoutError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.poll(job_id)
            if status.is_terminal:
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {status.state.value} after {timeout} s on {self!r}")
            time.sleep(interval)

    def submission(self, job_id: str) -> Optional[str]:
        """The Ray submission id of the job's current attempt, once it was dispatched."""
        found = read_json(self._existing(job_id).dir / DISPATCHED)
        return str(found["submission_id"]) if found else None

    # -- Ray ---------------------------------------------------------------------------------------
    def client(self) -> Any:
        """The cluster's ``JobSubmissionClient`` (made on first use; ray is imported only then)."""
        with self._lock:
            if self._client is None:
                try:
                    from ray.job_submission import JobSubmissionClient
                except ImportError as exc:
                    raise ComputeTargetException(
                        "the Ray backend needs the ray package with its Jobs API client: pip install 'ray[default]'"
                    ) from exc
                try:
                    self._client = JobSubmissionClient(self.address, headers=dict(self._headers) or None)
                except Exception as exc:  # noqa: BLE001 - ConnectionError, version mismatch...: name the cluster
                    raise ComputeTargetException(
                        f"the Ray cluster at {self.address} cannot be reached through its Jobs API: "
                        f"{type(exc).__name__}: {_first_line(exc)}"
                    ) from None
            return self._client

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        client = self.client()
        try:
            return getattr(client, method)(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - one error type for the service, without the headers
            raise ComputeTargetException(
                f"the Ray cluster at {self.address} answered {method} with {type(exc).__name__}: {_first_line(exc)}"
            ) from None

    def _ray_status(self, dispatched: Mapping[str, Any]) -> Any:
        return self._info(str(dispatched["submission_id"])).status

    def _info(self, sid: str) -> Any:
        return self._call("get_job_info", sid)

    # -- dispatching -------------------------------------------------------------------------------
    @contextmanager
    def _dispatching(self) -> Iterator[None]:
        """Held while jobs are counted and dispatched (by threads of this process and other processes alike)."""
        self.state.ensure()
        with self._lock_file():
            yield

    @contextmanager
    def _lock_file(self) -> Iterator[None]:
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
                        files, _ended_result(files.job_id, JobState.CANCELED, "canceled before it started"), True
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
            self._dispatcher = threading.Thread(target=self._dispatch_loop, name="ray-dispatch", daemon=True)
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
        """Submit ``attempt`` of a job to Ray (adopting a submission that exists already); caller holds the lock."""
        spec = self._spec(files)
        sid = submission_id(spec.job_id, attempt)
        try:
            if attempt == 1:
                spec = self._with_uploaded_snapshot(spec)
            url = self._spec_url(spec)
            self._submit(sid, url, attempt, spec)
        except Exception as exc:  # noqa: BLE001 - the step fails with the reason instead of waiting forever
            reason = exc if isinstance(exc, ComputeTargetException) else f"{type(exc).__name__}: {_first_line(exc)}"
            self._finish(
                files, _ended_result(spec.job_id, JobState.FAILED, f"the step could not start on Ray: {reason}"), True
            )
            return
        write_json_atomic(files.dir / DISPATCHED, {"attempt": attempt, "submission_id": sid, "dispatched": now_iso()})

    def _submit(self, sid: str, url: str, attempt: int, spec: JobSpec) -> None:
        client = self.client()
        try:
            client.get_job_info(sid)
            return  # submitted before (a retried submit, or another process): adopt it
        except Exception:  # noqa: BLE001 - 404: not submitted yet
            pass
        runtime_env = {**self.runtime_env}
        runtime_env["env_vars"] = {
            **dict(runtime_env.get("env_vars") or {}),
            SPEC_URL_ENV: url,
            ATTEMPT_ENV: str(attempt),
        }
        try:
            client.submit_job(
                entrypoint=f"{shlex.quote(self.python)} -m {NODE_MODULE}",
                submission_id=sid,
                runtime_env=runtime_env,
                metadata={"durableml_step": spec.step_name[:200], "durableml_run": spec.run_id},
                **self.requests,
            )
        except Exception as exc:  # noqa: BLE001
            if "already exists" in str(exc):
                return  # another process submitted it just now: adopt it
            raise ComputeTargetException(
                f"the Ray cluster at {self.address} refused the job: {type(exc).__name__}: {_first_line(exc)}"
            ) from None

    def _with_uploaded_snapshot(self, spec: JobSpec) -> JobSpec:
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

    def _spec_url(self, spec: JobSpec) -> str:
        """Upload the spec blob (once) and return its URL with a read-only SAS for that blob alone."""
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        store = get_store(spec.connection_string)
        blob = store.container(JOBS_CONTAINER).get_blob_client(blob_name(spec.job_id, SPEC_BLOB))
        try:
            blob.upload_blob(json.dumps(spec.to_dict()).encode(), overwrite=False)
        except ResourceExistsError:
            pass
        expiry = datetime.now(timezone.utc) + timedelta(days=SPEC_URL_DAYS)
        key = getattr(blob.credential, "account_key", None)
        sign: dict[str, Any] = {"account_key": key} if key else {}
        if not key:
            try:
                start = datetime.now(timezone.utc) - timedelta(minutes=5)
                sign = {"user_delegation_key": store._service.get_user_delegation_key(start, expiry)}
            except Exception as exc:  # noqa: BLE001
                raise ComputeTargetException(
                    "the Ray backend hands nodes the job's spec through a read-only blob URL, which it signs with "
                    "the storage account key or a user delegation key; the service's storage connection has "
                    f"neither ({type(exc).__name__})"
                ) from None
        sas = generate_blob_sas(
            str(blob.account_name),
            JOBS_CONTAINER,
            blob_name(spec.job_id, SPEC_BLOB),
            permission=BlobSasPermissions(read=True),
            expiry=expiry,
            **sign,
        )
        return f"{blob.url}?{sas}"

    # -- status ------------------------------------------------------------------------------------
    def _status(self, files: JobFiles, dispatched: Mapping[str, Any], locked: bool = False) -> JobStatus:
        """The status of a dispatched job; finishes it (result.json here) once its Ray job ended."""
        sid = str(dispatched["submission_id"])
        info = self._info(sid)
        state = str(getattr(info.status, "value", info.status))
        if state == "PENDING":
            return JobStatus(files.job_id, JobState.QUEUED)
        if state == "RUNNING":
            return JobStatus(files.job_id, JobState.RUNNING, started=_iso_ms(info.start_time))
        if locked:
            return self._ended(files, dispatched, info, state)
        with self._dispatching():
            result = files.read_result()
            if result is not None:
                return status_from_report(files.job_id, result)
            current = read_json(files.dir / DISPATCHED) or dispatched
            if current.get("submission_id") != sid:  # another caller moved on to a new attempt meanwhile
                return self._status(files, current, locked=True)
            return self._ended(files, dispatched, info, state)

    def _ended(self, files: JobFiles, dispatched: Mapping[str, Any], info: Any, state: str) -> JobStatus:
        spec = self._spec(files)
        store = get_store(spec.connection_string)
        raw = store.read_bytes(JOBS_CONTAINER, blob_name(files.job_id, RESULT_BLOB))
        attempt = int(dispatched.get("attempt") or 1)
        if raw is not None:
            result = dict(json.loads(raw))
            self._finish(files, result, notify=False)  # the node told the orchestration itself
        elif state == "STOPPED" or files.cancel_requested():
            self._finish(files, _ended_result(files.job_id, JobState.CANCELED, "canceled while the script ran"), True)
        elif state == "FAILED" and _lost(info) and attempt < self.max_attempts:
            self._start(files, attempt + 1)  # the node's process was killed or the node died: run it again
            rerun = files.read_result()  # set when the rerun could not even be submitted
            return status_from_report(files.job_id, rerun) if rerun else JobStatus(files.job_id, JobState.QUEUED)
        else:
            ray_log = self._ray_log(str(dispatched["submission_id"]))
            why = "the Ray job ended without a result" if state == "SUCCEEDED" else _failure(info, ray_log)
            if attempt > 1:
                why = f"{why} (attempt {attempt} of {self.max_attempts})"
            failed = _ended_result(files.job_id, JobState.FAILED, why)
            failed["ray_log"] = _driver_part(ray_log) or ray_log
            self._finish(files, failed, notify=True)
        self._drop_spec_blob(store, files.job_id)
        return status_from_report(files.job_id, files.read_result() or {})

    def _ray_log(self, sid: str) -> str:
        try:
            return str(self._call("get_job_logs", sid))
        except ComputeTargetException:
            return ""

    def _finish(self, files: JobFiles, result: dict[str, Any], notify: bool) -> None:
        write_json_atomic(files.result, result)
        if notify:
            spec = self._spec(files)
            if spec.notify:
                send_notification(spec.notify, job_report(result))

    def _drop_spec_blob(self, store: BlobStore, job_id: str) -> None:
        try:
            store.container(JOBS_CONTAINER).get_blob_client(blob_name(job_id, SPEC_BLOB)).delete_blob()
        except Exception:  # noqa: BLE001 - gone already; its URL expires anyway
            pass

    def _spec(self, files: JobFiles) -> JobSpec:
        return JobSpec.from_dict(read_json(files.spec) or {})

    def _existing(self, job_id: str) -> JobFiles:
        files = self.state.job(job_id)
        if not files.spec.exists():
            raise RunNotFoundError(
                f"no job {job_id!r} was submitted to the Ray compute at {self.address} from this service; "
                "submit it first (or check the step run id)"
            )
        return files


def _ended_result(job_id: str, state: JobState, error: str) -> dict[str, Any]:
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


def _lost(info: Any) -> bool:
    """True when a failed Ray job's entrypoint was killed by a signal or lost with its node (worth rerunning)."""
    code = getattr(info, "driver_exit_code", None)
    if isinstance(code, int):
        return code < 0 or code in (137, 143)  # -9 / -15, or a shell reporting 128 + signal
    message = str(getattr(info, "message", "") or "").lower()
    return "died" in message or "node" in message and "fail" in message


def _failure(info: Any, ray_log: str) -> str:
    """Ray's message (its first line) and the last line of the job's log, which says what went wrong."""
    lines = [line.strip() for line in str(getattr(info, "message", "") or "").splitlines() if line.strip()]
    head = lines[0] if lines else "no message"
    tail = [line.strip() for line in ray_log.splitlines() if line.strip()] or lines[1:]
    last = f" ... {tail[-1]}" if tail and tail[-1] != head else ""
    return f"the Ray job {getattr(info, 'submission_id', '')} failed: {head}{last}"


def _driver_part(ray_log: str) -> str:
    """The driver log in a Ray job's log: what follows the node entrypoint's marker line ('' before it)."""
    at = ray_log.find(LOG_MARKER + "\n")
    return ray_log[at + len(LOG_MARKER) + 1 :] if at >= 0 else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    # Ray's HTTP errors carry the server's traceback: its last line says what went wrong
    return lines[-1] if lines[0].startswith("Request failed") and len(lines) > 1 else lines[0]


def _iso_ms(millis: Any) -> Optional[str]:
    if not millis:
        return None
    return datetime.fromtimestamp(int(millis) / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
