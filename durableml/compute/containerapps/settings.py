"""The Container Apps backend's settings and the job's ARM id (shared by the package and its backend)."""

from __future__ import annotations

import re
from typing import NamedTuple

from durableml.exceptions import ConfigurationError

__all__ = ["ARM_ENDPOINT_SETTING", "BACKEND_SETTING", "JOB_ID_SETTING", "NAME", "JobRef", "parse_job_id"]

BACKEND_SETTING = "DURABLEML_AMLCOMPUTE_BACKEND"
"""App setting: ``containerapps`` backs every AmlCompute target by the Container Apps job of :data:`JOB_ID_SETTING`."""
JOB_ID_SETTING = "DURABLEML_STEP_JOB_ID"
"""App setting: the ARM id of the Container Apps job whose executions run the steps
(``/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.App/jobs/<name>``)."""
ARM_ENDPOINT_SETTING = "DURABLEML_ARM_ENDPOINT"
"""App setting: the Azure Resource Manager endpoint (default ``https://management.azure.com``; a sovereign cloud's,
or a loopback ARM server in tests)."""
NAME = "containerapps"

_JOB_ID = re.compile(
    r"^/subscriptions/(?P<sub>[0-9A-Za-z-]+)/resourceGroups/(?P<rg>[-\w.()]{1,90})"
    r"/providers/Microsoft\.App/jobs/(?P<name>[a-z0-9][a-z0-9-]{0,30}[a-z0-9]|[a-z0-9])$",
    re.IGNORECASE,
)


class JobRef(NamedTuple):
    """A Container Apps job: its subscription, resource group and name."""

    subscription_id: str
    resource_group: str
    name: str


def parse_job_id(job_id: str) -> JobRef:
    """The parts of a Container Apps job's ARM id; ConfigurationError when it is not one."""
    found = _JOB_ID.match(str(job_id or "").strip())
    if found is None:
        raise ConfigurationError(
            f"{job_id!r} is not the ARM id of a Container Apps job: expected "
            "/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.App/jobs/<job name> "
            f"(the app setting {JOB_ID_SETTING})"
        )
    return JobRef(found["sub"], found["rg"], found["name"])
