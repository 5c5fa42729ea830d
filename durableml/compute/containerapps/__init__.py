"""The Azure Container Apps jobs backend: each AmlCompute step is one execution of a Container Apps job.

* :mod:`.backend`: :class:`ContainerAppsCompute` (submit / poll / cancel / logs through ``azure-mgmt-appcontainers``).
* :func:`containerapps_backend`: the registry's factory; :func:`wants_containerapps`: whether an ``AmlCompute``
  target runs on Container Apps jobs (the deployment setting ``DURABLEML_AMLCOMPUTE_BACKEND=containerapps``, which
  infra/modules/functionapp.bicep sets, with the job's ARM id in ``DURABLEML_STEP_JOB_ID``).

The job's executions run the step-runner image (the repository's Dockerfile), whose entrypoint is the shared node
entrypoint, ``python -m durableml.compute.node``. Importing this package imports no Azure SDK.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Optional

from durableml.compute.containerapps.settings import (
    ARM_ENDPOINT_SETTING,
    BACKEND_SETTING,
    JOB_ID_SETTING,
    NAME,
    JobRef,
    parse_job_id,
)
from durableml.exceptions import ConfigurationError

__all__ = [
    "BACKEND_SETTING",
    "JOB_ID_SETTING",
    "ARM_ENDPOINT_SETTING",
    "ContainerAppsCompute",
    "JobRef",
    "containerapps_backend",
    "parse_job_id",
    "wants_containerapps",
]


def __getattr__(name: str) -> Any:
    if name == "ContainerAppsCompute":
        from durableml.compute.containerapps.backend import ContainerAppsCompute

        return ContainerAppsCompute
    raise AttributeError(name)


def wants_containerapps(record: Mapping[str, Any], environ: Optional[Mapping[str, str]] = None) -> bool:
    """True when AmlCompute target ``record`` runs its steps as Container Apps job executions."""
    env = os.environ if environ is None else environ
    if str(record.get("backend") or "").lower() == "ray":
        return False  # a target attached to a Ray cluster stays there
    return env.get(BACKEND_SETTING, "").lower() == NAME


def containerapps_backend(
    record: Mapping[str, Any], state_dir: Path, environ: Optional[Mapping[str, str]] = None, credential: Any = None
) -> Any:
    """A :class:`ContainerAppsCompute` on the deployment's job (the app settings), with the app's managed identity
    (``AZURE_CLIENT_ID``) as its credential unless ``credential`` is given."""
    from durableml.compute.containerapps.backend import ContainerAppsCompute

    env = os.environ if environ is None else environ
    job_id = env.get(JOB_ID_SETTING, "")
    if not job_id:
        raise ConfigurationError(
            f"compute target '{record.get('name')}' runs on Container Apps jobs ({BACKEND_SETTING}={NAME}), but the "
            f"app setting {JOB_ID_SETTING} (the job's ARM id) is not set"
        )
    return ContainerAppsCompute(
        job_id,
        state_dir,
        max_nodes=int(record.get("max_nodes") or 1),
        credential=credential,
        arm_endpoint=env.get(ARM_ENDPOINT_SETTING) or None,
    )
