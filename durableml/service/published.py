"""Published pipelines: a frozen pipeline document with an id, a status and a v1-shaped REST endpoint.

A published pipeline is immutable apart from its status (``Active``/``Disabled``). Its document
lives in the blob ``durableml-published/<id>/pipeline.json`` (snapshot ids filled in, so a run
needs nothing from the publisher's machine); the record in the table ``dmlPublished``.

URLs follow Azure ML v1 so that existing callers only change the host::

    <host>/api/pipelines/v1.0/subscriptions/<sub>/resourceGroups/<rg>/providers/
        Microsoft.MachineLearningServices/workspaces/<ws>/PipelineRuns/PipelineSubmit/<id>

Records are stored without the host; :func:`with_links` adds the URLs for the host a request came to.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, Mapping, Optional

from durableml.exceptions import ConflictError, GoneError, PipelineNotFoundError, ValidationError
from durableml.pipeline.document import validate_document
from durableml.service import runs, state
from durableml.service.records import blob_container, records

TABLE, PARTITION, CONTAINER = "dmlPublished", "pipeline", "durableml-published"
STATUSES = ("Active", "Disabled")
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SPEC_KEYS = {"name", "description", "version", "continueOnStepFailure", "sourceRunId", "id"}


def workspace_path() -> str:
    """The v1 path prefix of this workspace's pipeline REST API (without the host)."""
    ws = runs.workspace_record()
    return (
        f"/api/pipelines/v1.0/subscriptions/{ws['subscription_id']}/resourceGroups/{ws['resource_group']}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{ws['name']}"
    )


def check_workspace(subscription: str, group: str, workspace: str) -> None:
    """A v1 URL must name this service's workspace (404 naming the one it serves otherwise)."""
    ws = runs.workspace_record()
    if (subscription.lower(), group.lower(), workspace.lower()) != (
        ws["subscription_id"].lower(),
        ws["resource_group"].lower(),
        ws["name"].lower(),
    ):
        raise PipelineNotFoundError(
            f"this service serves workspace {ws['name']!r} (subscription {ws['subscription_id']}, resource group "
            f"{ws['resource_group']!r}), not {workspace!r} in {group!r}; use the endpoint URL the SDK returns"
        )


def _text(spec: Mapping[str, Any], key: str) -> Optional[str]:
    value = spec.get(key)
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"'{key}' must be a string, got {type(value).__name__} {value!r}")
    return value


def _flag(spec: Mapping[str, Any], key: str) -> bool:
    value = spec.get(key)
    if value is not None and not isinstance(value, bool):
        raise ValidationError(f"'{key}' must be true or false, got {value!r}")
    return bool(value)


def publish(document: Optional[dict[str, Any]], spec: Mapping[str, Any]) -> dict[str, Any]:
    """Publish ``document`` (or, when None, the document run ``spec["sourceRunId"]`` ran); return the record.

    ``spec["id"]`` (optional, a GUID) keeps the id a pipeline had in Azure ML, so that callers of its
    old endpoint only change the host; an id in use is a conflict.
    """
    unknown = sorted(set(spec) - _SPEC_KEYS)
    if unknown:
        raise ValidationError(f"unknown publish settings {unknown}; known: {sorted(_SPEC_KEYS)}")
    source_run = _text(spec, "sourceRunId")
    if document is None:
        if not source_run:
            raise ValidationError("publishing needs a 'document' or the 'sourceRunId' of a pipeline run")
        if runs.get_run(source_run).get("kind") != "pipeline":
            raise ValidationError(f"run {source_run!r} is a step run; publish its pipeline run instead")
        document = runs.submitted_document(source_run)
    check_publishable(document)
    pipeline_id = _new_id(spec)
    record = {
        "id": pipeline_id,
        "name": _text(spec, "name"),
        "description": _text(spec, "description"),
        "version": _text(spec, "version"),
        "continueOnStepFailure": _flag(spec, "continueOnStepFailure"),
        "status": "Active",
        "created": runs.utc_now(),
        "sourceRunId": source_run,
        "parameters": document["parameters"],
    }
    blob_container(CONTAINER).upload_blob(
        f"{pipeline_id}/pipeline.json", json.dumps(document, sort_keys=True), overwrite=True
    )
    if not records().insert(TABLE, PARTITION, pipeline_id, record):
        raise ConflictError(f"a published pipeline with id {pipeline_id!r} exists already; omit 'id' to get a new one")
    return record


def check_publishable(document: Any) -> None:
    """A valid document whose steps carry their snapshot ids and whose resources exist."""
    validate_document(document)
    runs.check_references(document)
    runs.check_snapshots(document)


def _new_id(spec: Mapping[str, Any]) -> str:
    wanted = _text(spec, "id")
    if wanted is None:
        return str(uuid.uuid4())
    if not _GUID.match(wanted.lower()):
        raise ValidationError(f"'id' must be a GUID such as 068f4885-7088-424b-8ce2-eeb9ba5381a6, got {wanted!r}")
    return wanted.lower()


def is_guid(text: str) -> bool:
    """Whether ``text`` is a lowercase GUID (every id of this module's records is one)."""
    return bool(_GUID.match(text))


def get(pipeline_id: str) -> dict[str, Any]:
    """The published pipeline ``pipeline_id`` (404 naming the id)."""
    record = records().get(TABLE, PARTITION, pipeline_id.lower()) if _GUID.match(pipeline_id.lower()) else None
    if record is None:
        raise PipelineNotFoundError(
            f"no published pipeline with id {pipeline_id!r}; list them with "
            "PublishedPipeline.list(ws) or GET /api/published-pipelines"
        )
    return record


def list_published(active_only: bool = True) -> list[dict[str, Any]]:
    """Published pipelines, newest first (only Active ones when ``active_only``)."""
    found = records().query(TABLE, PARTITION, "status eq 'Active'" if active_only else "")
    return sorted(found, key=lambda r: r["created"], reverse=True)


def update(pipeline_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Change the status (``Active``/``Disabled``); nothing else of a published pipeline changes."""
    if set(changes) != {"status"} or changes["status"] not in STATUSES:
        raise ValidationError(
            f"only 'status' ({' or '.join(STATUSES)}) of a published pipeline can change; got "
            f"{dict(changes)!r}. Publish a new pipeline to change anything else."
        )
    get(pipeline_id)
    return records().update(TABLE, PARTITION, pipeline_id.lower(), lambda r: r.update(status=changes["status"]))


def runnable(pipeline_id: str) -> dict[str, Any]:
    """The record of an Active published pipeline; 410 when it is disabled."""
    record = get(pipeline_id)
    if record["status"] != "Active":
        raise GoneError(
            f"published pipeline {record['id']!r} ({record.get('name')}) is {record['status']} and "
            "refuses runs; enable it with PublishedPipeline.enable() to run it again"
        )
    return record


@state.memoize("published documents", "a published pipeline's document never changes", maxsize=128)
def _document_text(pipeline_id: str) -> str:
    return bytes(blob_container(CONTAINER).download_blob(f"{pipeline_id}/pipeline.json").readall()).decode()


def document(pipeline_id: str) -> dict[str, Any]:
    """The frozen document of a published pipeline (immutable, so cached per process)."""
    return dict(json.loads(_document_text(pipeline_id.lower())))


def with_links(record: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """The record as the API shows it: with its REST ``endpoint`` on the host ``base_url``."""
    return {**record, "endpoint": f"{base_url}{workspace_path()}/PipelineRuns/PipelineSubmit/{record['id']}"}
