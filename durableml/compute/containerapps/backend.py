"""ContainerAppsCompute: each step is one execution of a Container Apps job (``azure-mgmt-appcontainers``).

``submit`` records the job in the target's state directory (``<state>/jobs/<id>/spec.json``, mode 0600, created
once) and queues it; at most ``max_nodes`` executions of the target run at once, the rest wait here, oldest first,
and are dispatched by whoever next submits or polls, or by a dispatcher thread while jobs wait. Dispatching a job:

1. a step whose snapshot is a local directory has it uploaded as a content-addressed snapshot (the container reads
   it from ``durableml-snapshots``, as it reads every snapshot);
2. the spec goes to ``durableml-jobs/<id>/spec.json`` in the job's storage account (:mod:`durableml.compute.layout`);
3. the attempt is claimed in storage, ``durableml-jobs/<id>/execution-<attempt>.json`` (created once), and the
   execution is started: ``jobs.begin_start(group, job, template=JobExecutionTemplate(containers=[...]))`` with the
   job's own container (image, resources, and its environment: values as they are, secrets as the same
   ``secretRef``) plus the step's overrides, which hold no secret: the spec blob's name
   (``DURABLEML_SPEC_BLOB``; the container reads it with its own identity or secret reference), the attempt and
   the step run id. The execution's name is then recorded in the claim. A retried submit (another process, or
   this one after a crash) adopts the recorded execution, or finds it among the job's executions by the step run
   id in its environment; it never starts a second one.

``poll`` maps the execution's status (Processing/Unknown → Queued, Running/Degraded → Running) and, once it
ended (Succeeded, Failed, Stopped), takes the runner's ``result.json`` from storage, which is the truth when
present: the step's own Finished / Failed / Canceled with its reason, outputs and metrics. An execution that
failed without a result lost its process (the replica was killed or its node went away): it is started again
(attempt n+1, at most ``max_attempts``); one that ended otherwise without a result fails the step with the
execution's status and reason. ``cancel`` stops the execution (``begin_stop_execution``: SIGTERM, which the node
turns into the runner's cancel) or drops a waiting job. ``logs`` reads the step's driver log blob, which the
runner appends to while the script runs.

The credential (the Function App's managed identity in the deployment) goes to ARM in the Authorization header
only; it never reaches a log, a record or an error message.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional
from urllib.parse import urlsplit

from durableml.compute.base import JobSpec, JobState, JobStatus, status_from_report
from durableml.compute.containerapps.settings import JobRef, parse_job_id
from durableml.compute.layout import (
    ATTEMPT_ENV,
    JOBS_CONTAINER,
    RESULT_BLOB,
    SPEC_BLOB,
    SPEC_BLOB_ENV,
    STEP_RUN_ENV,
    blob_name,
)
from durableml.compute.local.job_files import JobFiles, StateDir, create_json_once, now_iso, read_json
from durableml.compute.local.job_files import write_json_atomic
from durableml.compute.notify import send_notification
from durableml.exceptions import ComputeTargetException, RunNotFoundError
from durableml.jobs import NO_SNAPSHOT, job_report
from durableml.runner.storage import LOGS_CONTAINER, SNAPSHOTS_CONTAINER, BlobStore, get_store
from durableml.runner.workdir import DRIVER_LOG

__all__ = ["ContainerAppsCompute", "ENDED", "QUEUED", "RUNNING", "execution_record"]

DISPATCHED = "dispatched.json"  # {"attempt", "execution", "dispatched"} of the attempt that was started
QUEUED = frozenset({"Processing", "Unknown"})
RUNNING = frozenset({"Running", "Degraded"})
ENDED = frozenset({"Succeeded", "Failed", "Stopped"})
_OVERRIDES = (SPEC_BLOB_ENV, ATTEMPT_ENV, STEP_RUN_ENV)


def execution_record(job_id: str, attempt: int) -> str:
    """The blob (in ``durableml-jobs``) recording which execution runs ``attempt`` of step run ``job_id``."""
    return blob_name(job_id, f"execution-{attempt}.json")


def _is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in ("127.0.0.1", "localhost", "::1")


class ContainerAppsCompute:
    """The Container Apps jobs backend of the compute protocol (see :mod:`durableml.compute.base`)."""

    def __init__(
        self,
        job_id: str,
        state_dir: Path | str,
        *,
        max_nodes: int = 1,
        credential: Any = None,
        arm_endpoint: Optional[str] = None,
        max_attempts: int = 3,
        dispatch_interval: float = 0.2,
        polling_interval: float = 1.0,
    ) -> None:
        if max_nodes < 1:
            raise ComputeTargetException(f"max_nodes must be at least 1, not {max_nodes}")
        self.job: JobRef = parse_job_id(job_id)
        self.job_id = job_id
        self.state = StateDir(state_dir)
        self.max_nodes = max_nodes
        self.max_attempts = max(1, max_attempts)
        self.dispatch_interval = dispatch_interval
        self.polling_interval = polling_interval
        self.arm_endpoint = (arm_endpoint or "https://management.azure.com").rstrip("/")
        if urlsplit(self.arm_endpoint).scheme != "https" and not _is_loopback(self.arm_endpoint):
            raise ComputeTargetException(
                f"the ARM endpoint {self.arm_endpoint!r} must be https (plain http only on a loopback address)"
            )
        self._credential = credential
        self._client: Any = None
        self._container: Optional[dict[str, Any]] = None
        self._lock = threading.Lock()
        self._dispatcher: Optional[threading.Thread] = None

    def __repr__(self) -> str:  # never the credential
        return f"ContainerAppsCompute({self.job.name!r}, max_nodes={self.max_nodes})"

    # -- the protocol ----------------------------------------------------------------------------
    def submit(self, job: JobSpec) -> str:
        """Accept ``job`` (idempotent on ``job.job_id``); it starts as an execution as soon as a slot is free."""
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
        """Stop the job: a waiting one never starts, a started execution is stopped (its node cancels the runner)."""
        files = self._existing(job_id)
        with self._dispatching():
            if files.result.exists():
                return
            files.cancel.touch()
            dispatched = read_json(files.dir / DISPATCHED)
            if dispatched is None:
                self._finish(files, _ended_result(job_id, JobState.CANCELED, "canceled before it started"), notify=True)
                return
        name = str(dispatched["execution"])
        try:
            self._call("jobs.begin_stop_execution", self.job.resource_group, self.job.name, name).result()
        except ComputeTargetException:
            if self._execution_status(name)[0] not in ENDED:
                raise

    def logs(self, job_id: str, offset: int = 0) -> str:
        """The driver log from character ``offset``: the step's driver log blob (appended to while it runs)."""
        files = self._existing(job_id)
        spec = self._spec(files)
        result = files.read_result() or {}
        where = result.get("log") or {}
        container = str(where.get("container") or LOGS_CONTAINER)
        blob = str(where.get("blob") or f"{spec.run_id}/{spec.job_id}/{DRIVER_LOG[-1]}")
        raw = get_store(spec.connection_string).read_bytes(container, blob)
        return (raw.decode("utf-8", errors="replace") if raw is not None else "")[offset:]

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

    def execution(self, job_id: str) -> Optional[str]:
        """The name of the execution running the job's current attempt, once it was started."""
        found = read_json(self._existing(job_id).dir / DISPATCHED)
        return str(found["execution"]) if found else None

    # -- ARM ---------------------------------------------------------------------------------------
    def client(self) -> Any:
        """The ``ContainerAppsAPIClient`` (made on first use; the SDK is imported only then)."""
        with self._lock:
            if self._client is None:
                try:
                    from azure.mgmt.appcontainers import ContainerAppsAPIClient
                except ImportError as exc:
                    raise ComputeTargetException(
                        "the Container Apps backend needs the azure-mgmt-appcontainers package (pip install it)"
                    ) from exc
                credential = self._credential
                if credential is None:
                    from azure.identity import ManagedIdentityCredential

                    client_id = os.environ.get("AZURE_CLIENT_ID")
                    credential = ManagedIdentityCredential(client_id=client_id) if client_id else None
                    credential = credential or ManagedIdentityCredential()
                self._client = ContainerAppsAPIClient(
                    credential, self.job.subscription_id, base_url=self.arm_endpoint, polling_interval=0.5
                )
            return self._client

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        target: Any = self.client()
        for part in method.split("."):
            target = getattr(target, part)
        if _is_loopback(self.arm_endpoint):
            kwargs["enforce_https"] = False  # a loopback ARM server (tests, local development) speaks plain http
        try:
            return target(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - one error type for the service, without the credential
            raise ComputeTargetException(
                f"Azure Resource Manager answered {method} on Container Apps job {self.job.name} with "
                f"{type(exc).__name__}: {_first_line(exc)}"
            ) from None

    def _execution_status(self, name: str) -> tuple[str, Any]:
        execution = self._call("job_execution", self.job.resource_group, self.job.name, name)
        props = execution.properties
        status = getattr(props, "status", None) or "Unknown"
        return str(getattr(status, "value", status)), props

    def _job_container(self) -> dict[str, Any]:
        """The job's own container (name, image, resources, environment), which each execution's template repeats."""
        if self._container is None:
            job = self._call("jobs.get", self.job.resource_group, self.job.name)
            containers = list(job.properties.template.containers or [])
            if not containers:
                raise ComputeTargetException(f"the Container Apps job {self.job.name} has no container")
            first = containers[0]
            self._container = {
                "name": first.name,
                "image": first.image,
                "resources": first.resources,
                "env": [e for e in (first.env or []) if e.name not in _OVERRIDES],
            }
        return self._container

    def _begin(self, spec: JobSpec, attempt: int) -> str:
        """Start one execution for ``attempt`` of ``spec``; returns its name."""
        from azure.mgmt.appcontainers.models import EnvironmentVar, JobExecutionContainer, JobExecutionTemplate

        own = self._job_container()
        env = [
            EnvironmentVar(name=e.name, secret_ref=e.secret_ref)
            if e.secret_ref
            else EnvironmentVar(name=e.name, value=e.value)
            for e in own["env"]
        ]
        env += [
            EnvironmentVar(name=SPEC_BLOB_ENV, value=f"{JOBS_CONTAINER}/{blob_name(spec.job_id, SPEC_BLOB)}"),
            EnvironmentVar(name=ATTEMPT_ENV, value=str(attempt)),
            EnvironmentVar(name=STEP_RUN_ENV, value=spec.job_id),
        ]
        container = JobExecutionContainer(name=own["name"], image=own["image"], env=env)
        if own["resources"] is not None:
            container.resources = own["resources"]
        template = JobExecutionTemplate(containers=[container])
        started = self._call("jobs.begin_start", self.job.resource_group, self.job.name, template=template).result()
        name = getattr(started, "name", None)
        if not name:
            raise ComputeTargetException(f"starting Container Apps job {self.job.name} returned no execution name")
        return str(name)

    def _find_execution(self, job_id: str, attempt: int) -> Optional[str]:
        """An execution of the job that runs ``attempt`` of step run ``job_id`` (started by a process that crashed
        before it recorded the name), else None."""
        for execution in self._call("jobs_executions.list", self.job.resource_group, self.job.name):
            template = getattr(execution.properties, "template", None)
            for container in getattr(template, "containers", None) or []:
                env = {e.name: e.value for e in (container.env or [])}
                if env.get(STEP_RUN_ENV) == job_id and env.get(ATTEMPT_ENV) == str(attempt):
                    return str(execution.name)
        return None

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
                        files, _ended_result(files.job_id, JobState.CANCELED, "canceled before it started"), True
                    )
                elif active < self.max_nodes:
                    self._start(files, attempt=1)
                    active += 1
            return sum(1 for files in waiting if not files.result.exists() and not (files.dir / DISPATCHED).exists())

    def _keep_dispatching(self) -> None:
        with self._lock:
            if self._dispatcher is not None and self._dispatcher.is_alive():
                return
            self._dispatcher = threading.Thread(target=self._dispatch_loop, name="aca-dispatch", daemon=True)
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
        """Start ``attempt`` of a job as an execution (adopting one that exists already); caller holds the lock."""
        spec = self._spec(files)
        try:
            if attempt == 1:
                spec = _with_uploaded_snapshot(spec)
            store = get_store(spec.connection_string)
            _put_once(store, blob_name(spec.job_id, SPEC_BLOB), spec.to_dict())
            name = self._claimed_execution(store, spec, attempt)
        except Exception as exc:  # noqa: BLE001 - the step fails with the reason instead of waiting forever
            reason = exc if isinstance(exc, ComputeTargetException) else f"{type(exc).__name__}: {_first_line(exc)}"
            why = f"the step could not start as a Container Apps job execution: {reason}"
            self._finish(files, _ended_result(spec.job_id, JobState.FAILED, why), True)
            return
        write_json_atomic(files.dir / DISPATCHED, {"attempt": attempt, "execution": name, "dispatched": now_iso()})

    def _claimed_execution(self, store: BlobStore, spec: JobSpec, attempt: int) -> str:
        """The execution of ``attempt``: the one recorded in storage, else one found among the job's executions,
        else a new one (recorded)."""
        record = execution_record(spec.job_id, attempt)
        claim = {"attempt": attempt, "execution": None, "claimed": now_iso()}
        if not _put_once(store, record, claim):
            raw = store.read_bytes(JOBS_CONTAINER, record)
            recorded = json.loads(raw) if raw else {}
            if recorded.get("execution"):
                return str(recorded["execution"])  # a retried submit: adopt it
            found = self._find_execution(spec.job_id, attempt)  # claimed, but the name was never recorded
            if found:
                _put(store, record, {**claim, "execution": found})
                return found
        name = self._begin(spec, attempt)
        _put(store, record, {**claim, "execution": name, "started": now_iso()})
        return name

    # -- status ------------------------------------------------------------------------------------
    def _status(self, files: JobFiles, dispatched: Mapping[str, Any], locked: bool = False) -> JobStatus:
        """The status of a started job; finishes it (result.json here) once its execution ended."""
        name = str(dispatched["execution"])
        state, props = self._execution_status(name)
        if state in RUNNING:
            start = getattr(props, "start_time", None)
            return JobStatus(files.job_id, JobState.RUNNING, started=_iso(start))
        if state not in ENDED:
            return JobStatus(files.job_id, JobState.QUEUED)
        if locked:
            return self._ended(files, dispatched, state, props)
        with self._dispatching():
            result = files.read_result()
            if result is not None:
                return status_from_report(files.job_id, result)
            current = read_json(files.dir / DISPATCHED) or dispatched
            if current.get("execution") != name:  # another caller moved on to a new attempt meanwhile
                return self._status(files, current, locked=True)
            return self._ended(files, dispatched, state, props)

    def _ended(self, files: JobFiles, dispatched: Mapping[str, Any], state: str, props: Any) -> JobStatus:
        spec = self._spec(files)
        store = get_store(spec.connection_string)
        raw = store.read_bytes(JOBS_CONTAINER, blob_name(files.job_id, RESULT_BLOB))
        attempt = int(dispatched.get("attempt") or 1)
        if raw is not None:
            self._finish(files, dict(json.loads(raw)), notify=False)  # the node told the orchestration itself
        elif state == "Stopped" or files.cancel_requested():
            self._finish(files, _ended_result(files.job_id, JobState.CANCELED, "canceled while the script ran"), True)
        elif state == "Failed" and attempt < self.max_attempts:
            self._start(files, attempt + 1)  # the replica was killed or lost: run the step again
            rerun = files.read_result()  # set when the rerun could not even be started
            return status_from_report(files.job_id, rerun) if rerun else JobStatus(files.job_id, JobState.QUEUED)
        else:
            reason = str(getattr(props, "reason", None) or "").strip()
            why = f"the Container Apps job execution {dispatched['execution']} ended {state} without a result"
            why += f": {reason}" if reason else " (the spec could not be read, or the replica was killed)"
            if attempt > 1:
                why = f"{why} (attempt {attempt} of {self.max_attempts})"
            self._finish(files, _ended_result(files.job_id, JobState.FAILED, why), notify=True)
        try:
            store.container(JOBS_CONTAINER).get_blob_client(blob_name(files.job_id, SPEC_BLOB)).delete_blob()
        except Exception:  # noqa: BLE001 - gone already
            pass
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
                f"no job {job_id!r} was submitted to the Container Apps job {self.job.name} from this service; "
                "submit it first (or check the step run id)"
            )
        return files


def _put(store: BlobStore, name: str, data: Mapping[str, Any]) -> None:
    store.container(JOBS_CONTAINER).get_blob_client(name).upload_blob(json.dumps(data).encode(), overwrite=True)


def _put_once(store: BlobStore, name: str, data: Mapping[str, Any]) -> bool:
    """Create blob ``name`` in the jobs container; False when it exists already."""
    from azure.core.exceptions import ResourceExistsError

    try:
        store.container(JOBS_CONTAINER).get_blob_client(name).upload_blob(json.dumps(data).encode(), overwrite=False)
    except ResourceExistsError:
        return False
    return True


def _with_uploaded_snapshot(spec: JobSpec) -> JobSpec:
    """The spec with a local-directory snapshot replaced by a snapshot id in storage (containers share no disk)."""
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


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def _iso(when: Any) -> Optional[str]:
    if when is None:
        return None
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if hasattr(when, "strftime") else str(when)
