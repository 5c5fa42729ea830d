"""What a step run on a remote backend (Ray, Container Apps jobs) keeps in storage, shared by the backends (the
service's side) and the node entrypoint (:mod:`durableml.compute.node`).

Everything a node needs reaches it through the job's storage account, never through a shared filesystem::

    durableml-jobs/<job id>/spec.json     the JobSpec (snapshot as an id in durableml-snapshots), secrets included
    durableml-jobs/<job id>/running.json  {"attempt", "host", "pid", "started"} of the attempt that runs
    durableml-jobs/<job id>/result.json   the runner's result document, written once the step ended

The remote job itself carries only a reference to the spec blob in its environment: a Ray job gets the blob's URL
with a read-only SAS for that one blob (:data:`SPEC_URL_ENV`, in its ``runtime_env``); a Container Apps job
execution gets the blob's name (:data:`SPEC_BLOB_ENV`) and reads it with the job's own storage connection (a
secret reference, :data:`STORAGE_ENV`, or the job's managed identity on :data:`BLOB_ENDPOINT_ENV`). The backend
deletes the spec blob once the job ended. Results, the driver log (``durableml-logs``) and outputs (their
datastores) are written by the node with the spec's own connection.
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
    "SPEC_BLOB_ENV",
    "STORAGE_ENV",
    "BLOB_ENDPOINT_ENV",
    "STEP_RUN_ENV",
    "blob_name",
]

JOBS_CONTAINER = "durableml-jobs"
SPEC_BLOB, RUNNING_BLOB, RESULT_BLOB = "spec.json", "running.json", "result.json"
SPEC_URL_ENV = "DURABLEML_RAY_SPEC_URL"
"""The entrypoint's environment variable holding the spec blob's read-only URL (removed before the script runs)."""
SPEC_BLOB_ENV = "DURABLEML_SPEC_BLOB"
"""The entrypoint's environment variable naming the spec blob, ``durableml-jobs/<job id>/spec.json``, read with the
node's own storage connection (removed before the script runs)."""
STORAGE_ENV = "DURABLEML_STORAGE"
"""A storage connection the node may get as a secret reference; else it uses its managed identity on
:data:`BLOB_ENDPOINT_ENV`."""
BLOB_ENDPOINT_ENV = "DURABLEML_STORAGE_BLOB_ENDPOINT"
STEP_RUN_ENV = "DURABLEML_STEP_RUN_ID"
"""The step run id a remote job runs (not a secret): lets a backend recognise its own executions."""
ATTEMPT_ENV = "DURABLEML_RAY_ATTEMPT"
NODE_DIR_ENV = "DURABLEML_RAY_NODE_DIR"
"""Where a node keeps job directories and its snapshot cache (default: ``<tmp>/durableml-node-<uid>``)."""
LOG_MARKER = "[durableml] ---- driver log ----"
"""The entrypoint's first stdout line: the job's log after it is the step's driver log, byte for byte."""


def blob_name(job_id: str, name: str) -> str:
    """The blob ``name`` (spec.json, running.json, result.json) of job ``job_id`` in :data:`JOBS_CONTAINER`."""
    return f"{job_id}/{name}"
