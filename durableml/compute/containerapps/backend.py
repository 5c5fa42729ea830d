"""ContainerAppsCompute: each step is one execution of a Container Apps job (``azure-mgmt-appcontainers``).

Queueing (at most ``max_nodes`` executions of the target at once), dispatch, ``result.json`` and attempts are
:class:`~durableml.compute.remote.RemoteCompute`'s; a local-directory snapshot is uploaded and the spec goes to
``durableml-jobs/<id>/spec.json`` there (:mod:`durableml.compute.layout`). What is Container Apps', here:

* starting an attempt: it is claimed in storage, ``durableml-jobs/<id>/execution-<attempt>.json`` (created once),
  and the execution is started: ``jobs.begin_start(group, job, template=JobExecutionTemplate(containers=[...]))``
  with the job's own container (image, resources, and its environment: values as they are, secrets as the same
  ``secretRef``) plus the step's overrides, which hold no secret: the spec blob's name (``DURABLEML_SPEC_BLOB``;
  the container reads it with its own identity or secret reference), the attempt and the step run id. The
  execution's name is then recorded in the claim. A retried submit (another process, or this one after a crash)
  adopts the recorded execution, or finds it among the job's executions by the step run id in its environment;
  it never starts a second one.
* status: Processing/Unknown → Queued, Running/Degraded → Running, Succeeded/Failed/Stopped → ended. An execution
  that failed without a result lost its process (the replica was killed or its node went away): it is started
  again (attempt n+1, at most ``max_attempts``); one that ended otherwise without a result fails the step with the
  execution's status and reason.
* ``cancel`` stops the execution (``begin_stop_execution``: SIGTERM, which the node turns into the runner's
  cancel). ``logs`` reads the step's driver log blob, which the runner appends to while the script runs.

The credential (the Function App's managed identity in the deployment) goes to ARM in the Authorization header
only; it never reaches a log, a record or an error message.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit

from durableml.compute.base import JobSpec
from durableml.compute.containerapps.settings import JobRef, parse_job_id
from durableml.compute.layout import (
    ATTEMPT_ENV,
    JOBS_CONTAINER,
    SPEC_BLOB,
    SPEC_BLOB_ENV,
    STEP_RUN_ENV,
    blob_name,
)
from durableml.compute.local.job_files import now_iso
from durableml.compute.remote import NativeStatus, RemoteCompute, first_line, put, put_once
from durableml.exceptions import ComputeTargetException
from durableml.runner.storage import LOGS_CONTAINER, BlobStore, get_store
from durableml.runner.workdir import DRIVER_LOG

__all__ = ["ContainerAppsCompute", "ENDED", "QUEUED", "RUNNING", "execution_record"]

QUEUED = frozenset({"Processing", "Unknown"})
RUNNING = frozenset({"Running", "Degraded"})
ENDED = frozenset({"Succeeded", "Failed", "Stopped"})
_OVERRIDES = (SPEC_BLOB_ENV, ATTEMPT_ENV, STEP_RUN_ENV)


def execution_record(job_id: str, attempt: int) -> str:
    """The blob (in ``durableml-jobs``) recording which execution runs ``attempt`` of step run ``job_id``."""
    return blob_name(job_id, f"execution-{attempt}.json")


def _is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in ("127.0.0.1", "localhost", "::1")


class ContainerAppsCompute(RemoteCompute):
    """The Container Apps jobs backend of the compute protocol (see :mod:`durableml.compute.base`); queueing,
    dispatch, results and attempts are :class:`~durableml.compute.remote.RemoteCompute`'s."""

    REF_KEY = "execution"
    STOPPED = "Stopped"
    START_FAILED = "the step could not start as a Container Apps job execution"
    DISPATCH_THREAD = "aca-dispatch"

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
        super().__init__(state_dir, max_nodes=max_nodes, max_attempts=max_attempts, dispatch_interval=dispatch_interval)
        self.job: JobRef = parse_job_id(job_id)
        self.job_id = job_id
        self.polling_interval = polling_interval
        self.arm_endpoint = (arm_endpoint or "https://management.azure.com").rstrip("/")
        if urlsplit(self.arm_endpoint).scheme != "https" and not _is_loopback(self.arm_endpoint):
            raise ComputeTargetException(
                f"the ARM endpoint {self.arm_endpoint!r} must be https (plain http only on a loopback address)"
            )
        self._credential = credential
        self._container: Optional[dict[str, Any]] = None

    def __repr__(self) -> str:  # never the credential
        return f"ContainerAppsCompute({self.job.name!r}, max_nodes={self.max_nodes})"

    def _describe(self) -> str:
        return f"the Container Apps job {self.job.name}"

    # -- the protocol (submit, poll and cancel are RemoteCompute's) ---------------------------------
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

    def execution(self, job_id: str) -> Optional[str]:
        """The name of the execution running the job's current attempt, once it was started."""
        return self._current(job_id)

    # -- ARM ---------------------------------------------------------------------------------------
    def _make_client(self) -> Any:
        """The ``ContainerAppsAPIClient`` (the SDK is imported only now)."""
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
        return ContainerAppsAPIClient(
            credential, self.job.subscription_id, base_url=self.arm_endpoint, polling_interval=0.5
        )

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
                f"{type(exc).__name__}: {first_line(exc)}"
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

    # -- starting an execution ----------------------------------------------------------------------
    def _launch(self, store: BlobStore, spec: JobSpec, attempt: int) -> str:
        """The execution of ``attempt``: the one recorded in storage, else one found among the job's executions,
        else a new one (recorded)."""
        record = execution_record(spec.job_id, attempt)
        claim = {"attempt": attempt, "execution": None, "claimed": now_iso()}
        if not put_once(store, record, claim):
            raw = store.read_bytes(JOBS_CONTAINER, record)
            recorded = json.loads(raw) if raw else {}
            if recorded.get("execution"):
                return str(recorded["execution"])  # a retried submit: adopt it
            found = self._find_execution(spec.job_id, attempt)  # claimed, but the name was never recorded
            if found:
                put(store, record, {**claim, "execution": found})
                return found
        name = self._begin(spec, attempt)
        put(store, record, {**claim, "execution": name, "started": now_iso()})
        return name

    # -- status ------------------------------------------------------------------------------------
    def _native(self, dispatched: Mapping[str, Any]) -> NativeStatus:
        """Running / Degraded → running, Succeeded / Failed / Stopped → ended, anything else → queued."""
        state, props = self._execution_status(str(dispatched["execution"]))
        if state in RUNNING:
            return NativeStatus("running", state, started=_iso(getattr(props, "start_time", None)), info=props)
        return NativeStatus("ended" if state in ENDED else "queued", state, info=props)

    def _lost(self, native: NativeStatus) -> bool:
        return native.state == "Failed"  # the replica was killed or lost

    def _failure(self, dispatched: Mapping[str, Any], native: NativeStatus) -> tuple[str, dict[str, Any]]:
        reason = str(getattr(native.info, "reason", None) or "").strip()
        why = f"the Container Apps job execution {dispatched['execution']} ended {native.state} without a result"
        why += f": {reason}" if reason else " (the spec could not be read, or the replica was killed)"
        return why, {}

    def _stop(self, dispatched: Mapping[str, Any]) -> None:
        """``begin_stop_execution``: SIGTERM, which the node turns into the runner's cancel."""
        name = str(dispatched["execution"])
        try:
            self._call("jobs.begin_stop_execution", self.job.resource_group, self.job.name, name).result()
        except ComputeTargetException:
            if self._execution_status(name)[0] not in ENDED:
                raise


def _iso(when: Any) -> Optional[str]:
    if when is None:
        return None
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if hasattr(when, "strftime") else str(when)
