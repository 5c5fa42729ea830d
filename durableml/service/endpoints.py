"""Pipeline endpoints: one stable REST endpoint in front of numbered versions of published pipelines.

Versions are strings from ``"0"``; one of them is the default. An endpoint is ``Active``,
``Disabled`` (refuses runs, 410) or ``Archived`` (gone from lists, refuses runs). Names are unique:
a claim record per name (table ``dmlEndpoints``, partition ``name``) is inserted atomically before
the endpoint exists and moved on ``set_name``, so two concurrent publishes of one name cannot both win.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Mapping, Optional

from durableml.exceptions import ConflictError, GoneError, PipelineNotFoundError, ValidationError
from durableml.service import published, runs
from durableml.service.notification_urls import check_url
from durableml.service.records import records

TABLE, PARTITION, NAMES = "dmlEndpoints", "endpoint", "name"
STATUSES = ("Active", "Disabled", "Archived")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\- ]{0,254}$")
_CHANGES = {
    "name",
    "description",
    "status",
    "addPipelineId",
    "makeDefault",
    "defaultPipelineId",
    "defaultVersion",
    "notificationUrl",
}


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValidationError(
            f"a pipeline endpoint name is 1-255 letters, digits, '_', '.', '-' or spaces, starting "
            f"with a letter or digit; got {name!r}"
        )
    return name


def create(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Create endpoint ``spec["name"]`` whose version "0" (the default) is ``spec["pipelineId"]``."""
    unknown = sorted(set(spec) - {"name", "description", "pipelineId", "notificationUrl"})
    if unknown:
        raise ValidationError(
            f"unknown pipeline endpoint settings {unknown}; known: name, description, pipelineId, notificationUrl"
        )
    name = _check_name(spec.get("name"))
    description = spec.get("description")
    if description is not None and not isinstance(description, str):
        raise ValidationError(f"'description' must be a string, got {description!r}")
    pipeline = published.get(str(spec.get("pipelineId") or ""))
    endpoint_id = str(uuid.uuid4())
    if not records().insert(TABLE, NAMES, name, {"id": endpoint_id}):
        raise ConflictError(
            f"a pipeline endpoint named {name!r} exists already; add a version to it with "
            "PipelineEndpoint.get(ws, name=...).add(pipeline) or choose another name"
        )
    record = {
        "id": endpoint_id,
        "name": name,
        "description": description,
        "status": "Active",
        "created": runs.utc_now(),
        "defaultVersion": "0",
        "versions": [{"version": "0", "pipelineId": pipeline["id"]}],
        "notificationUrl": check_url(spec.get("notificationUrl")),
    }
    records().put(TABLE, PARTITION, endpoint_id, record)
    return record


def get(endpoint_id: Optional[str] = None, name: Optional[str] = None) -> dict[str, Any]:
    """The endpoint with ``endpoint_id`` or ``name`` (404 naming what was asked for)."""
    if not endpoint_id and name:
        claim = records().get(TABLE, NAMES, name) if _NAME.match(name) else None
        endpoint_id = claim["id"] if claim else None
    record = records().get(TABLE, PARTITION, endpoint_id) if endpoint_id and published.is_guid(endpoint_id) else None
    if record is None:
        asked = f"name {name!r}" if name else f"id {endpoint_id!r}"
        raise PipelineNotFoundError(f"no pipeline endpoint with {asked}; list them with PipelineEndpoint.list(ws)")
    return record


def list_endpoints(active_only: bool = True) -> list[dict[str, Any]]:
    """Endpoints, newest first: never Archived ones; only Active ones when ``active_only``."""
    where = "status eq 'Active'" if active_only else "status ne 'Archived'"
    return sorted(records().query(TABLE, PARTITION, where), key=lambda r: r["created"], reverse=True)


def update(endpoint_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Apply ``changes``: name, description, status, addPipelineId (+makeDefault), defaultPipelineId, defaultVersion."""
    unknown = sorted(set(changes) - _CHANGES)
    if unknown or not changes:
        raise ValidationError(f"unknown pipeline endpoint changes {unknown or 'none given'}; known: {sorted(_CHANGES)}")
    current = get(endpoint_id)
    if "notificationUrl" in changes:
        check_url(changes["notificationUrl"])
    if "status" in changes and changes["status"] not in STATUSES:
        raise ValidationError(f"'status' must be one of {list(STATUSES)}, got {changes['status']!r}")
    for key in ("addPipelineId", "defaultPipelineId"):
        if key in changes:
            published.get(str(changes[key] or ""))  # 404 for an unknown pipeline, before anything changes
    if "name" in changes and changes["name"] != current["name"]:
        _rename(current, _check_name(changes["name"]))
    return records().update(TABLE, PARTITION, current["id"], lambda record: _apply(record, changes))


def _rename(current: Mapping[str, Any], name: str) -> None:
    if not records().insert(TABLE, NAMES, name, {"id": current["id"]}):
        raise ConflictError(f"a pipeline endpoint named {name!r} exists already; choose another name")
    records().delete(TABLE, NAMES, current["name"])


def _apply(record: dict[str, Any], changes: Mapping[str, Any]) -> None:
    versions = record["versions"]
    if "addPipelineId" in changes:
        version = str(len(versions))
        versions.append({"version": version, "pipelineId": str(changes["addPipelineId"]).lower()})
        if changes.get("makeDefault"):
            record["defaultVersion"] = version
    if "defaultPipelineId" in changes:
        wanted = str(changes["defaultPipelineId"]).lower()
        holding = [v["version"] for v in versions if v["pipelineId"] == wanted]
        if not holding:  # v1: set_default adds the pipeline when no version holds it
            holding = [str(len(versions))]
            versions.append({"version": holding[0], "pipelineId": wanted})
        record["defaultVersion"] = holding[-1]
    if "defaultVersion" in changes:
        record["defaultVersion"] = _version(record, changes["defaultVersion"])["version"]
    for key in ("name", "description", "status", "notificationUrl"):
        if key in changes:
            record[key] = changes[key]


def _version(record: Mapping[str, Any], version: Any) -> dict[str, Any]:
    for item in record["versions"]:
        if item["version"] == str(version):
            return dict(item)
    known = [v["version"] for v in record["versions"]]
    raise PipelineNotFoundError(f"pipeline endpoint {record['name']!r} has no version {version!r}; versions: {known}")


def pipeline_id(endpoint: Mapping[str, Any], version: Optional[str]) -> str:
    """The published pipeline behind ``version`` of ``endpoint`` (the default version when None or empty)."""
    return str(_version(endpoint, endpoint["defaultVersion"] if version in (None, "") else version)["pipelineId"])


def runnable(endpoint: Mapping[str, Any], version: Optional[str]) -> dict[str, Any]:
    """The published pipeline a run of ``endpoint`` (at ``version``, else the default) starts; 410 if refused."""
    if endpoint["status"] != "Active":
        how = "it was archived" if endpoint["status"] == "Archived" else "enable it with PipelineEndpoint.enable()"
        raise GoneError(f"pipeline endpoint {endpoint['name']!r} is {endpoint['status']} and refuses runs; {how}")
    return published.runnable(pipeline_id(endpoint, version))


def with_links(record: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """The record as the API shows it: with its REST ``endpoint`` (``.../PipelineEndpointSubmit/Id/<id>``)."""
    url = f"{base_url}{published.workspace_path()}/PipelineRuns/PipelineEndpointSubmit/Id/{record['id']}"
    return {**record, "endpoint": url, "swaggerUrl": url}
