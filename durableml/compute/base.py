"""The compute protocol: what every compute backend offers.

The ``step_run`` orchestration talks to compute targets through four calls only::

    submit(job) -> job id        idempotent on job.job_id (= the step run id)
    poll(job id) -> JobStatus    Queued | Running | Finished | Failed | Canceled (+ exit code, error)
    cancel(job id)               stop the step; its status becomes Canceled
    logs(job id, offset) -> str  the driver log (stdout + stderr of the script) from ``offset``

The job and its status are defined in :mod:`durableml.jobs` (re-exported here); backends are chosen by
compute type in :mod:`durableml.compute.registry`.
"""

from __future__ import annotations

import time
from typing import Callable, Protocol, runtime_checkable

from durableml.jobs import (
    REPORT_LIMIT,
    JobSpec,
    JobState,
    JobStatus,
    input_placeholder,
    job_report,
    output_placeholder,
    status_from_report,
    validate_job_id,
)

__all__ = [
    "REPORT_LIMIT",
    "ComputeBackend",
    "JobSpec",
    "JobState",
    "JobStatus",
    "input_placeholder",
    "job_report",
    "output_placeholder",
    "status_from_report",
    "validate_job_id",
    "wait_until_ended",
]


@runtime_checkable
class ComputeBackend(Protocol):
    """One compute target family (local processes, a queue of worker nodes, Ray, Databricks...)."""

    def submit(self, job: JobSpec) -> str:
        """Accept ``job`` and return its id; submitting the same job id again starts nothing new."""
        ...

    def poll(self, job_id: str) -> JobStatus:
        """The job's current status; raises a NotFoundError for an unknown job id."""
        ...

    def cancel(self, job_id: str) -> None:
        """Stop the job if it has not ended; it ends Canceled. Harmless on an ended job."""
        ...

    def logs(self, job_id: str, offset: int = 0) -> str:
        """The driver log (stdout + stderr of the script) from character ``offset`` on."""
        ...


def wait_until_ended(
    poll: Callable[[str], JobStatus], job_id: str, timeout: float, interval: float, where: Callable[[], str]
) -> JobStatus:
    """Poll job ``job_id`` every ``interval`` seconds until it ends; after ``timeout`` seconds a TimeoutError, its
    message ending with ``where()`` (where to look)."""
    deadline = time.monotonic() + timeout
    while True:
        status = poll(job_id)
        if status.is_terminal:
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {status.state.value} after {timeout} s{where()}")
        time.sleep(interval)
