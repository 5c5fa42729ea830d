"""What a Ray-backed step keeps in storage: the shared layout of :mod:`durableml.compute.layout`, plus the Ray
submission id of each attempt."""

from __future__ import annotations

from durableml.compute.layout import (
    ATTEMPT_ENV,
    JOBS_CONTAINER,
    LOG_MARKER,
    NODE_DIR_ENV,
    RESULT_BLOB,
    RUNNING_BLOB,
    SPEC_BLOB,
    SPEC_URL_ENV,
    blob_name,
)

__all__ = [
    "JOBS_CONTAINER",
    "SPEC_BLOB",
    "RUNNING_BLOB",
    "RESULT_BLOB",
    "SPEC_URL_ENV",
    "ATTEMPT_ENV",
    "NODE_DIR_ENV",
    "LOG_MARKER",
    "blob_name",
    "submission_id",
]


def submission_id(job_id: str, attempt: int) -> str:
    """The Ray submission id of ``attempt`` of job ``job_id``: the step run id itself for the first attempt, so a
    retried submit finds the job it already started; ``<job id>@attempt-<n>`` for a rerun after a lost node."""
    return job_id if attempt <= 1 else f"{job_id}@attempt-{attempt}"
