"""Pipeline drafts: a saved, editable pipeline document with run settings, to run or publish later.

The record (table ``dmlDrafts``) holds name, description, experimentName, tags, properties,
pipelineParameters and continueOnStepFailure; the document lives in the blob
``durableml-drafts/<id>/pipeline.json`` and is replaced by ``update`` with a new pipeline.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Mapping, Optional

from durableml.exceptions import PipelineNotFoundError, ValidationError
from durableml.service import published, runs
from durableml.service.records import blob_container, records

TABLE, PARTITION, CONTAINER = "dmlDrafts", "draft", "durableml-drafts"
_TEXT = ("name", "description", "experimentName")
_MAPS = ("tags", "properties")
_FIELDS = {*_TEXT, *_MAPS, "pipelineParameters", "continueOnStepFailure"}


def _checked(spec: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(spec) - _FIELDS)
    if unknown:
        raise ValidationError(f"unknown pipeline draft settings {unknown}; known: {sorted(_FIELDS)}")
    for key in _TEXT:
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise ValidationError(f"'{key}' must be a string, got {spec[key]!r}")
    for key in _MAPS:
        value = spec.get(key)
        if value is not None and not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
            raise ValidationError(f"'{key}' must map names to string values, got {value!r}")
    if spec.get("pipelineParameters") is not None and not isinstance(spec["pipelineParameters"], dict):
        raise ValidationError("'pipelineParameters' must be an object of parameter values")
    flag = spec.get("continueOnStepFailure")
    if flag is not None and not isinstance(flag, bool):
        raise ValidationError(f"'continueOnStepFailure' must be true or false, got {flag!r}")
    return {k: v for k, v in spec.items() if v is not None}


def create(document: Any, spec: Mapping[str, Any]) -> dict[str, Any]:
    """Save ``document`` as a new draft with the settings of ``spec``."""
    settings = _checked(spec)
    published.check_publishable(document)
    runs.check_parameters(document, settings.get("pipelineParameters") or {})
    draft_id = str(uuid.uuid4())
    _put_document(draft_id, document)
    record = {
        "id": draft_id,
        "created": runs.utc_now(),
        "name": None,
        "description": None,
        "experimentName": None,
        "tags": {},
        "properties": {},
        "pipelineParameters": {},
        "continueOnStepFailure": False,
        **settings,
    }
    records().put(TABLE, PARTITION, draft_id, record)
    return record


def _put_document(draft_id: str, document: Any) -> None:
    blob_container(CONTAINER).upload_blob(
        f"{draft_id}/pipeline.json", json.dumps(document, sort_keys=True), overwrite=True
    )


def document(draft_id: str) -> dict[str, Any]:
    """The draft's current document."""
    get(draft_id)
    return dict(json.loads(bytes(blob_container(CONTAINER).download_blob(f"{draft_id}/pipeline.json").readall())))


def get(draft_id: str) -> dict[str, Any]:
    """The draft ``draft_id`` (404 naming it)."""
    record = records().get(TABLE, PARTITION, draft_id) if published.is_guid(draft_id) else None
    if record is None:
        raise PipelineNotFoundError(f"no pipeline draft with id {draft_id!r}; list them with PipelineDraft.list(ws)")
    return record


def list_drafts(tags: Optional[Mapping[str, str]] = None) -> list[dict[str, Any]]:
    """Drafts carrying every one of ``tags`` (name → value), newest first."""
    wanted = dict(tags or {})
    found = [r for r in records().query(TABLE, PARTITION) if all(r["tags"].get(k) == v for k, v in wanted.items())]
    return sorted(found, key=lambda r: r["created"], reverse=True)


def update(draft_id: str, new_document: Any, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Change the given settings; a ``new_document`` replaces the pipeline."""
    settings = _checked(changes)
    get(draft_id)
    if new_document is not None:
        published.check_publishable(new_document)
    merged = {**get(draft_id), **settings}
    runs.check_parameters(
        new_document if new_document is not None else document(draft_id), merged["pipelineParameters"]
    )
    if new_document is not None:
        _put_document(draft_id, new_document)
    return records().update(TABLE, PARTITION, draft_id, lambda record: record.update(settings))


def delete(draft_id: str) -> None:
    """Delete the draft and its document."""
    get(draft_id)
    records().delete(TABLE, PARTITION, draft_id)
    blob_container(CONTAINER).delete_blob(f"{draft_id}/pipeline.json")


def create_run(draft_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Record a run of the draft (its experiment, parameters, continue setting); returns (record, plan)."""
    record = get(draft_id)
    if not record.get("experimentName"):
        raise ValidationError(
            f"draft {draft_id!r} names no experiment; set one with "
            "draft.update(experiment_name='...') before submit_run()"
        )
    return runs.create_run(
        record["experimentName"],
        document(draft_id),
        record["pipelineParameters"],
        None,
        bool(record["continueOnStepFailure"]),
        False,
        "Draft",
        {"azureml.pipelineDraftId": draft_id},
    )


def publish(draft_id: str) -> dict[str, Any]:
    """Publish the draft's pipeline (name, description and continue setting of the draft)."""
    record = get(draft_id)
    return published.publish(
        document(draft_id),
        {
            "name": record.get("name"),
            "description": record.get("description"),
            "continueOnStepFailure": bool(record.get("continueOnStepFailure")),
        },
    )
