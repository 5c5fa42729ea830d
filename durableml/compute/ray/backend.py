"""RayCompute: each step is a Ray job, submitted through Ray's Jobs API (``JobSubmissionClient``).

Queueing (at most ``max_nodes`` jobs of the target on the cluster at once), dispatch, ``result.json`` and attempts
are :class:`~durableml.compute.remote.RemoteCompute`'s; a local-directory snapshot is uploaded and the spec goes to
``durableml-jobs/<id>/spec.json`` there. What is Ray's, here:

* starting an attempt: ``submit_job(entrypoint="python -m durableml.compute.ray.node", submission_id=<step run
  id>, ...)`` with the spec blob's read-only URL in ``runtime_env.env_vars`` and the resource requests of
  :func:`resource_requests`. A submission id that exists already (a retried submit, another process) is adopted,
  never duplicated.
* status: PENDING → Queued, RUNNING → Running, SUCCEEDED / FAILED / STOPPED → ended. A Ray job that failed without
  a result was lost with its process (killed by a signal, or its node died): it is submitted again
  (``<id>@attempt-<n>``, at most ``max_attempts``; steps run at least once, as on the local backend); one whose
  entrypoint failed otherwise fails the step with Ray's message.
* ``cancel`` stops the Ray job (the node's SIGTERM handler cancels the runner); one still PENDING on the cluster
  ends Canceled at once. ``logs`` reads the Ray job's log while it runs (the node copies the driver log to it)
  and the driver log blob once it ended.

Nothing here assumes the node shares this machine's filesystem: the node entrypoint (:mod:`.node`) gets
everything from storage. The auth header (a secret) goes to the Jobs API in request headers only; it never
reaches a log, a record or an error message.
"""

from __future__ import annotations

import re
import shlex
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Mapping, Optional, TypedDict, Unpack

from durableml.compute.base import JobSpec, JobState
from durableml.compute.layout import (
    ATTEMPT_ENV,
    JOBS_CONTAINER,
    LOG_MARKER,
    RESULT_BLOB,
    SPEC_BLOB,
    SPEC_URL_ENV,
    blob_name,
)
from durableml.compute.local.job_files import JobFiles, read_json
from durableml.compute.remote import DISPATCHED, NativeStatus, RemoteCompute, drop_spec_blob, ended_result, put_once
from durableml.exceptions import ComputeTargetException
from durableml.runner.storage import LOGS_CONTAINER, BlobStore, get_store

__all__ = [
    "AZURE_GPU_SIZES",
    "RayCompute",
    "ResourceOptions",
    "resource_requests",
    "parse_auth_header",
    "submission_id",
    "NODE_MODULE",
]

NODE_MODULE = "durableml.compute.ray.node"
SPEC_URL_DAYS = 7  # the spec URL's lifetime; the blob itself is deleted once the job ended
AZURE_GPU_SIZES = {  # vm_sizes="azure": Azure VM sizes with GPUs -> GPUs per VM (other sizes ask for none)
    "standard_nc6": 1, "standard_nc12": 2, "standard_nc24": 4, "standard_nc6s_v2": 1, "standard_nc12s_v2": 2,
    "standard_nc24s_v2": 4, "standard_nc6s_v3": 1, "standard_nc12s_v3": 2, "standard_nc24s_v3": 4,
    "standard_nc4as_t4_v3": 1, "standard_nc8as_t4_v3": 1, "standard_nc16as_t4_v3": 1, "standard_nc64as_t4_v3": 4,
    "standard_nc24ads_a100_v4": 1, "standard_nc48ads_a100_v4": 2, "standard_nc96ads_a100_v4": 4,
    "standard_nd6s": 1, "standard_nd12s": 2, "standard_nd24s": 4, "standard_nd40rs_v2": 8,
    "standard_nd96asr_v4": 8, "standard_nv6": 1, "standard_nv12": 2, "standard_nv24": 4,
}  # fmt: skip


class ResourceOptions(TypedDict, total=False):
    """A Ray target's resource options (see :func:`resource_requests`)."""

    num_cpus: Optional[float]
    num_gpus: Optional[float]
    resources: Optional[Mapping[str, float]]
    memory: Optional[int]
    vm_sizes: Optional[str | Mapping[str, Mapping[str, Any]]]


def resource_requests(vm_size: Optional[str] = None, **options: Unpack[ResourceOptions]) -> dict[str, Any]:
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
    unknown = sorted(set(options) - set(ResourceOptions.__annotations__))
    if unknown:
        raise TypeError(f"unexpected resource options {unknown}; known are {list(ResourceOptions.__annotations__)}")
    num_cpus, num_gpus = options.get("num_cpus"), options.get("num_gpus")
    resources, memory, vm_sizes = options.get("resources"), options.get("memory"), options.get("vm_sizes")
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


class RayCompute(RemoteCompute):
    """The Ray backend of the compute protocol (see :mod:`durableml.compute.base`); queueing, dispatch, results and
    attempts are :class:`~durableml.compute.remote.RemoteCompute`'s."""

    REF_KEY = "submission_id"
    STOPPED = "STOPPED"
    START_FAILED = "the step could not start on Ray"
    DISPATCH_THREAD = "ray-dispatch"

    def __init__(
        self,
        address: str,
        state_dir: Path | str,
        *,
        max_nodes: int = 1,
        auth_header: Optional[str | Mapping[str, str]] = None,
        vm_size: Optional[str] = None,
        python: str = "python",
        runtime_env: Optional[Mapping[str, Any]] = None,
        max_attempts: int = 3,
        dispatch_interval: float = 0.2,
        **resources: Unpack[ResourceOptions],
    ) -> None:
        if not address:
            raise ComputeTargetException("a Ray compute target needs the address of the cluster's dashboard")
        super().__init__(state_dir, max_nodes=max_nodes, max_attempts=max_attempts, dispatch_interval=dispatch_interval)
        self.address = address if "://" in address else f"http://{address}"
        self.requests = resource_requests(vm_size, **resources)
        self.python = python
        self.runtime_env = dict(runtime_env or {})
        self._headers = parse_auth_header(auth_header)

    def __repr__(self) -> str:  # never the headers
        return f"RayCompute({self.address!r}, max_nodes={self.max_nodes})"

    def _describe(self) -> str:
        return f"the Ray compute at {self.address}"

    # -- the protocol (submit, poll and cancel are RemoteCompute's) ---------------------------------
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

    def submission(self, job_id: str) -> Optional[str]:
        """The Ray submission id of the job's current attempt, once it was dispatched."""
        return self._current(job_id)

    # -- Ray ---------------------------------------------------------------------------------------
    def _make_client(self) -> Any:
        """The cluster's ``JobSubmissionClient`` (ray is imported only now)."""
        try:
            from ray.job_submission import JobSubmissionClient
        except ImportError as exc:
            raise ComputeTargetException(
                "the Ray backend needs the ray package with its Jobs API client: pip install 'ray[default]'"
            ) from exc
        try:
            return JobSubmissionClient(self.address, headers=dict(self._headers) or None)
        except Exception as exc:  # noqa: BLE001 - ConnectionError, version mismatch...: name the cluster
            raise ComputeTargetException(
                f"the Ray cluster at {self.address} cannot be reached through its Jobs API: "
                f"{type(exc).__name__}: {_first_line(exc)}"
            ) from None

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        client = self.client()
        try:
            return getattr(client, method)(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - one error type for the service, without the headers
            raise ComputeTargetException(
                f"the Ray cluster at {self.address} answered {method} with {type(exc).__name__}: {_first_line(exc)}"
            ) from None

    def _first_line(self, exc: BaseException) -> str:
        return _first_line(exc)

    def _ray_status(self, dispatched: Mapping[str, Any]) -> Any:
        return self._info(str(dispatched["submission_id"])).status

    def _info(self, sid: str) -> Any:
        return self._call("get_job_info", sid)

    def _launch(self, store: BlobStore, spec: JobSpec, attempt: int) -> str:
        """Submit ``attempt`` to Ray with the spec blob's signed URL; returns its submission id."""
        sid = submission_id(spec.job_id, attempt)
        self._submit(sid, self._spec_url(store, spec), attempt, spec)
        return sid

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

    def _spec_url(self, store: BlobStore, spec: JobSpec) -> str:
        """The spec blob's URL with a read-only SAS for that blob alone."""
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        blob = store.container(JOBS_CONTAINER).get_blob_client(blob_name(spec.job_id, SPEC_BLOB))
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

    def _native(self, dispatched: Mapping[str, Any]) -> NativeStatus:
        """PENDING → queued, RUNNING → running, SUCCEEDED / FAILED / STOPPED → ended."""
        info = self._info(str(dispatched["submission_id"]))
        state = str(getattr(info.status, "value", info.status))
        if state == "PENDING":
            return NativeStatus("queued", state, info=info)
        if state == "RUNNING":
            return NativeStatus("running", state, started=_iso_ms(info.start_time), info=info)
        return NativeStatus("ended", state, info=info)

    def _lost(self, native: NativeStatus) -> bool:
        return native.state == "FAILED" and _lost(native.info)

    def _failure(self, dispatched: Mapping[str, Any], native: NativeStatus) -> tuple[str, dict[str, Any]]:
        ray_log = self._ray_log(str(dispatched["submission_id"]))
        why = "the Ray job ended without a result" if native.state == "SUCCEEDED" else _failure(native.info, ray_log)
        return why, {"ray_log": _driver_part(ray_log) or ray_log}

    def _ray_log(self, sid: str) -> str:
        try:
            return str(self._call("get_job_logs", sid))
        except ComputeTargetException:
            return ""

    # -- cancel ------------------------------------------------------------------------------------
    def _cancel_started(self, files: JobFiles, dispatched: Mapping[str, Any]) -> None:
        if str(getattr(self._ray_status(dispatched), "value", "")) == "PENDING":
            # Ray cannot stop a job whose supervisor waits for resources (the stop waits with it): the step
            # ends Canceled here, and a late start finds the result (and no spec) in storage and runs nothing
            self._cancel_pending(files)

    def _cancel_pending(self, files: JobFiles) -> None:
        spec = self._spec(files)
        store = get_store(spec.connection_string)
        result = ended_result(files.job_id, JobState.CANCELED, "canceled before it started")
        if not put_once(store, blob_name(files.job_id, RESULT_BLOB), result):
            return  # it started and ended meanwhile: its own result stands
        drop_spec_blob(store, files.job_id)
        self._finish(files, result, notify=True)

    def _stop(self, dispatched: Mapping[str, Any]) -> None:
        """Ray's stop: SIGTERM to the entrypoint (the node cancels the runner), SIGKILL later."""
        try:
            self._call("stop_job", str(dispatched["submission_id"]))
        except ComputeTargetException:
            if not self._ray_status(dispatched).is_terminal():  # Ray's JobStatus: a method
                raise


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


def submission_id(job_id: str, attempt: int) -> str:
    """The Ray submission id of ``attempt`` of job ``job_id``: the step run id itself for the first attempt, so a
    retried submit finds the job it already started; ``<job id>@attempt-<n>`` for a rerun after a lost node."""
    return job_id if attempt <= 1 else f"{job_id}@attempt-{attempt}"


def _iso_ms(millis: Any) -> Optional[str]:
    if not millis:
        return None
    return datetime.fromtimestamp(int(millis) / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
