"""DatabricksBackend: the compute backend of ``Databricks`` targets (v1's ``DatabricksCompute``).

A DatabricksStep's job is durableml's driver (:mod:`durableml.runner.databricks_driver`), which talks to the workspace
with databricks-sdk (``jobs.submit`` with an idempotency token, ``jobs.get_run``, ``jobs.get_run_output``,
``jobs.cancel_run``; DBFS for the data). The backend runs that driver in the detached worker of
:class:`~durableml.compute.local.LocalCompute`, so status, the ``step_done`` notification, crash recovery (a
rerun driver finds its Databricks run again through the idempotency token), cancel (SIGTERM makes the driver
cancel the run) and the driver log work as for every backend. It accepts only DatabricksStep jobs, and hands the
driver the workspace URL and the access token (unsealed by the service from ``dmlSecrets``) in its environment:
the job spec on disk is private (mode 0600) and neither reaches a log, a record or a URL.

The workspace URL: the target's ``workspaceUrl`` (``DatabricksCompute.attach_configuration(...,
workspace_url=...)``), else a ``workspace_name`` that is itself a URL, else the service setting
``DURABLEML_DATABRICKS_URL``. ``https://`` is required, except for a loopback server (``http://127.0.0.1``).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit

from durableml.compute.base import JobSpec
from durableml.compute.local import LocalCompute
from durableml.exceptions import ComputeTargetException

__all__ = ["DatabricksBackend", "databricks_backend", "workspace_url", "DRIVER", "URL_SETTING"]

DRIVER = "durableml:runner/databricks_driver.py"
URL_SETTING = "DURABLEML_DATABRICKS_URL"
HOST_ENV, TOKEN_ENV = "DURABLEML_DATABRICKS_HOST", "DURABLEML_DATABRICKS_TOKEN"
RUNS_AT_ONCE = 8
"""DatabricksStep runs a target follows at once (each driver mostly waits on the workspace)."""
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def workspace_url(record: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> str:
    """The workspace URL of Databricks compute ``record``; ComputeTargetException when none is known or it is unsafe."""
    name = record.get("name")
    given = record.get("workspaceUrl") or record.get("workspace_url")
    if not given and str(record.get("workspaceName") or "").startswith(("https://", "http://")):
        given = record.get("workspaceName")
    given = str(given or environ.get(URL_SETTING) or "")
    if not given:
        raise ComputeTargetException(
            f"the URL of the Databricks workspace of compute target '{name}' is unknown: attach it with "
            "DatabricksCompute.attach_configuration(..., workspace_url='https://adb-<id>.<n>.azuredatabricks.net'), "
            f"or set {URL_SETTING} in the service's settings"
        )
    parts = urlsplit(given)
    loopback = parts.scheme == "http" and parts.hostname in _LOOPBACK
    if not parts.hostname or (parts.scheme != "https" and not loopback) or parts.query or parts.username:
        raise ComputeTargetException(
            f"the Databricks workspace URL {given!r} of compute target '{name}' is not usable: give "
            "https://<host> (plain http only for a loopback server on this machine), without a query or user"
        )
    return f"{parts.scheme}://{parts.netloc}"


class DatabricksBackend(LocalCompute):
    """Runs DatabricksStep drivers for one Databricks target; refuses any other job."""

    def __init__(self, state_dir: Path | str, url: str, token: str, **options: Any) -> None:
        super().__init__(state_dir, max_nodes=RUNS_AT_ONCE, **options)
        self._url, self._token = url, token

    def submit(self, job: JobSpec) -> str:
        """Accept a DatabricksStep's job (idempotent on ``job.job_id``) with the workspace's URL and token."""
        if job.script_name != DRIVER:
            raise ComputeTargetException(
                f"job {job.job_id} ({job.step_name!r}) is not a DatabricksStep: a Databricks compute target runs "
                "only DatabricksStep; run other steps on an AmlCompute target"
            )
        environment = {**job.environment, HOST_ENV: self._url, TOKEN_ENV: self._token}
        return super().submit(dataclasses.replace(job, environment=environment))

    def __repr__(self) -> str:
        return f"DatabricksBackend({str(self.state.root)!r}, url={self._url!r})"


def databricks_backend(
    record: Mapping[str, Any], state_dir: Path, environ: Optional[Mapping[str, str]] = None
) -> DatabricksBackend:
    """The registry's factory for ``Databricks`` targets: ``record`` carries the unsealed ``access_token``."""
    token = str(record.get("access_token") or "")
    if not token:
        raise ComputeTargetException(
            f"Databricks compute target '{record.get('name')}' has no access token: attach it again with "
            "DatabricksCompute.attach_configuration(resource_group, workspace_name, access_token=...)"
        )
    return DatabricksBackend(state_dir, workspace_url(record, os.environ if environ is None else environ), token)
