"""The job a compute backend runs, its status and its report: shared by the service, every backend and the
step runner (which runs a job on a compute node), so that none of them imports another's internals.

A :class:`JobSpec` is plain data (it round-trips through JSON with :meth:`JobSpec.to_dict` /
:meth:`JobSpec.from_dict`), so a backend can store it, queue it or send it to another machine.
It carries the storage connection string: backends must keep it out of logs and store it only
where other users cannot read it (the local backend writes ``spec.json`` with mode 0600).
This module imports nothing beyond the standard library, ``durableml.contract`` and ``durableml.exceptions``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Mapping, Optional

from durableml import contract
from durableml.exceptions import ValidationError

__all__ = [
    "NO_SNAPSHOT",
    "JobSpec",
    "JobState",
    "JobStatus",
    "validate_job_id",
    "job_report",
    "status_from_report",
    "input_placeholder",
    "output_placeholder",
]

# bytes of JSON: a bigger report travels without outputs and metrics. It is kept in orchestration histories
# (the step_run result, the next step's input), which every episode replays, so it stays small.
REPORT_LIMIT = 8 * 1024
NO_SNAPSHOT = "none"
"""``JobSpec.snapshot`` of a step without source files (a DataTransferStep): it starts in an empty folder."""
_JOB_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,199}$")
_MODES = ("mount", "download")


class JobState(str, Enum):
    """Where a job is in its life; the values are the status names Azure ML v1 reports."""

    QUEUED = contract.QUEUED
    RUNNING = contract.RUNNING
    FINISHED = contract.FINISHED
    FAILED = contract.FAILED
    CANCELED = contract.CANCELED

    @property
    def is_terminal(self) -> bool:
        """True for Finished, Failed and Canceled: the job will not change any more."""
        return self in (JobState.FINISHED, JobState.FAILED, JobState.CANCELED)


def validate_job_id(job_id: str) -> str:
    """Return ``job_id`` if it is usable as a job id (and a directory name), else raise ValidationError."""
    if not isinstance(job_id, str) or not _JOB_ID.match(job_id) or ".." in job_id:
        raise ValidationError(
            f"job id {job_id!r} is not valid: use 1-200 characters from letters, digits and _ . : @ -, "
            "starting with a letter, digit or underscore (the step run id normally is one)"
        )
    return job_id


def input_placeholder(name: str) -> dict[str, str]:
    """The argument placeholder that the runner replaces with the local path of input ``name``."""
    return {"kind": "input", "name": name}


def output_placeholder(name: str) -> dict[str, str]:
    """The argument placeholder that the runner replaces with the local path of output ``name``."""
    return {"kind": "output", "name": name}


@dataclass
class JobSpec:
    """Everything a compute node needs to run one step.

    * ``snapshot``: a local directory, or the id of a snapshot in the ``durableml-snapshots``
      container (``manifests/<id>.json`` + content-addressed ``files/<sha256>``), or :data:`NO_SNAPSHOT`.
    * ``arguments``: strings, plus ``{"kind": "input"|"output", "name": ...}`` placeholders the runner
      replaces with local paths.
    * ``inputs``: name -> ``{"container", "path_on_datastore", "mode": "mount"|"download",
      "is_file"?, "is_directory"?, "path_on_compute"?, "dataset"?, "datastore"?}`` (``dataset`` is passed
      through to the script's run context untouched; its ``{"url"}`` paths are fetched by the runner;
      ``datastore`` names the container's datastore in messages).
    * ``outputs``: name -> ``{"container", "path_on_datastore", "is_directory"}``; the path is
      ``azureml/<step run id>/<output name>`` for PipelineData.
    * ``notify``: optional ``{"url": <raiseEvent URL, with its key>, "event": "step_done"}``; secret.
    * ``timeout``: seconds the script may run, or None for no limit.
    """

    job_id: str
    run_id: str
    step_name: str
    snapshot: str
    script_name: str
    connection_string: str = field(repr=False)
    arguments: list[Any] = field(default_factory=list)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    notify: Optional[dict[str, str]] = field(default=None, repr=False)
    timeout: Optional[float] = None
    experiment_name: str = ""
    parent_run_id: str = ""
    workspace: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValidationError, naming the field and what to do, if the spec cannot run."""
        validate_job_id(self.job_id)
        for name in ("run_id", "step_name", "snapshot", "script_name", "connection_string"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValidationError(f"job {self.job_id}: {name} must be a non-empty string")
        for key, value in self.inputs.items():
            _check_binding(self.job_id, "input", key, value, needs_mode=True)
        for key, value in self.outputs.items():
            _check_binding(self.job_id, "output", key, value, needs_mode=False)
        for arg in self.arguments:
            _check_argument(self, arg)
        if self.notify is not None and not self.notify.get("url"):
            raise ValidationError(f"job {self.job_id}: notify needs a 'url' (the raiseEvent URL) or must be None")
        if self.timeout is not None and not self.timeout > 0:
            raise ValidationError(
                f"job {self.job_id}: timeout must be a positive number of seconds, not {self.timeout!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (includes the connection string and notify URL: keep it private)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobSpec:
        """Build a spec from :meth:`to_dict` output; unknown keys are an error (they are likely typos)."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValidationError(f"job spec has unknown fields {unknown}; known fields are {sorted(known)}")
        return cls(**dict(data))


def _check_binding(job_id: str, kind: str, name: str, value: Any, needs_mode: bool) -> None:
    if not isinstance(value, Mapping) or not value.get("container") or "path_on_datastore" not in value:
        raise ValidationError(f"job {job_id}: {kind} {name!r} needs 'container' and 'path_on_datastore', got {value!r}")
    if needs_mode and value.get("mode", "mount") not in _MODES:
        raise ValidationError(f"job {job_id}: input {name!r} has mode {value.get('mode')!r}; use one of {list(_MODES)}")


def _check_argument(spec: JobSpec, arg: Any) -> None:
    if isinstance(arg, str):
        return
    if isinstance(arg, Mapping) and arg.get("kind") in ("input", "output"):
        bindings = spec.inputs if arg["kind"] == "input" else spec.outputs
        if arg.get("name") not in bindings:
            raise ValidationError(
                f"job {spec.job_id}: argument refers to {arg['kind']} {arg.get('name')!r}, "
                f"which is not among the job's {arg['kind']}s {sorted(bindings)}"
            )
        return
    raise ValidationError(
        f"job {spec.job_id}: argument {arg!r} must be a string or an input/output "
        "placeholder; resolve parameters to strings before submitting"
    )


@dataclass
class JobStatus:
    """What :meth:`ComputeBackend.poll` reports about one job."""

    job_id: str
    state: JobState
    exit_code: Optional[int] = None
    error: Optional[str] = None
    started: Optional[str] = None
    ended: Optional[str] = None
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_terminal(self) -> bool:
        """True once the job has Finished, Failed or been Canceled."""
        return self.state.is_terminal

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``state`` as its status name)."""
        data = asdict(self)
        data["state"] = self.state.value
        return data


def job_report(result: Mapping[str, Any]) -> dict[str, Any]:
    """What a backend tells the orchestration when a job ends (the ``step_done`` event's payload).

    ``{"job_id", "status", "exit_code", "error", "started", "ended", "outputs", "metrics", "complete": true}``
    built from the job's result document, so the orchestration can record the step without reading the
    job's state again. A report over ``REPORT_LIMIT`` bytes (many metrics) is cut to the fields before
    ``outputs`` with ``"complete": false``: the orchestration then polls the backend for the rest.
    """
    report = {
        "job_id": result.get("job_id"),
        "status": result.get("status"),
        "exit_code": result.get("exit_code"),
        "error": result.get("error"),
        "started": result.get("started"),
        "ended": result.get("ended"),
        "outputs": result.get("outputs") or {},
        "metrics": result.get("metrics") or [],
        "complete": True,
    }
    if len(json.dumps(report)) > REPORT_LIMIT:
        short = {k: report[k] for k in ("job_id", "status", "exit_code")}
        return {**short, "complete": False}
    return report


def status_from_report(job_id: str, report: Mapping[str, Any]) -> JobStatus:
    """The :class:`JobStatus` of a result document or of a complete :func:`job_report`."""
    return JobStatus(
        job_id,
        JobState(report["status"]),
        exit_code=report.get("exit_code"),
        error=report.get("error"),
        started=report.get("started"),
        ended=report.get("ended"),
        outputs=report.get("outputs") or {},
        metrics=report.get("metrics") or [],
    )
