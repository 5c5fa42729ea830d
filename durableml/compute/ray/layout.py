"""What a Ray-backed step keeps in storage, shared by the backend (the service's side) and the node entrypoint.

Everything a Ray node needs reaches it through the job's storage account, never through a shared filesystem::

    durableml-jobs/<job id>/spec.json     the JobSpec (snapshot as an id in durableml-snapshots), secrets included
    durableml-jobs/<job id>/running.json  {"attempt", "host", "pid", "started"} of the attempt that runs
    durableml-jobs/<job id>/result.json   the runner's result document, written once the step ended

The Ray job itself carries only the spec blob's URL with a read-only SAS for that one blob (an environment
variable of its ``runtime_env``); the backend deletes the spec blob once the job ended, so the URL is useless
afterwards. Results, the driver log (``durableml-logs``) and outputs (their datastores) are written by the node
with the spec's own connection.
"""

from __future__ import annotations

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

JOBS_CONTAINER = "durableml-jobs"
SPEC_BLOB, RUNNING_BLOB, RESULT_BLOB = "spec.json", "running.json", "result.json"
SPEC_URL_ENV = "DURABLEML_RAY_SPEC_URL"
"""The entrypoint's environment variable holding the spec blob's read-only URL (removed before the script runs)."""
ATTEMPT_ENV = "DURABLEML_RAY_ATTEMPT"
NODE_DIR_ENV = "DURABLEML_RAY_NODE_DIR"
"""Where a node keeps job directories and its snapshot cache (default: ``<tmp>/durableml-ray-<uid>``)."""
LOG_MARKER = "[durableml] ---- driver log ----"
"""The entrypoint's first stdout line: the Ray job log after it is the step's driver log, byte for byte."""


def blob_name(job_id: str, name: str) -> str:
    """The blob ``name`` (spec.json, running.json, result.json) of job ``job_id`` in :data:`JOBS_CONTAINER`."""
    return f"{job_id}/{name}"


def submission_id(job_id: str, attempt: int) -> str:
    """The Ray submission id of ``attempt`` of job ``job_id``: the step run id itself for the first attempt, so a
    retried submit finds the job it already started; ``<job id>@attempt-<n>`` for a rerun after a lost node."""
    return job_id if attempt <= 1 else f"{job_id}@attempt-{attempt}"
