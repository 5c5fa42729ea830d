"""The OpenAPI 3 document of the durableml HTTP API (served at ``GET /api/openapi.json``).

Written by hand next to the routes in ``triggers/api.py``; ``tests/test_openapi.py`` checks that every
route of the Function App is described here and that nothing described is missing from the app.
"""

from __future__ import annotations

from typing import Any

from durableml.pipeline.document_schema import DOCUMENT_SCHEMA

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}},
        }
    },
}
_RECORD = {"type": "object", "additionalProperties": True}
_LIST = {"type": "array", "items": _RECORD}
_BYTES = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
_ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_ERRORS = {
    str(code): {"description": text, "content": _ERROR_REF}
    for code, text in (
        (400, "bad request: what was wrong and what to do"),
        (401, "missing or wrong function key"),
        (404, "not found"),
        (409, "conflict"),
        (413, "request body too large"),
    )
}


def _path_params(path: str) -> list[dict[str, Any]]:
    names = [seg.strip("{}*").rstrip("?") for seg in path.split("/") if seg.startswith("{")]
    return [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names]


def _op(
    summary: str,
    ok: dict[str, Any],
    body: dict[str, Any] | None = None,
    query: tuple[str, ...] = (),
    status: str = "200",
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {status: {"description": "success", "content": ok}, **_ERRORS},
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": body}
    if query:
        op["parameters"] = [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}} for q in query]
    return op


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


_SUBMIT = {
    "type": "object",
    "required": ["document"],
    "properties": {
        "document": {"$ref": "#/components/schemas/PipelineDocument"},
        "parameters": {"type": "object"},
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        "continueOnStepFailure": {"type": "boolean"},
        "regenerateOutputs": {"type": "boolean"},
        "runSource": {"type": "string"},
        "properties": {"type": "object", "additionalProperties": {"type": "string"}},
        "stepProperties": {"type": "object", "additionalProperties": {"type": "object"}},
    },
}

_MODEL_SPEC = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "files": {"type": "object", "additionalProperties": {"type": "string"}},
        "runId": {"type": "string"},
        "runPath": {"type": "string"},
        "description": {"type": "string"},
        "tags": {"type": "object"},
        "properties": {"type": "object"},
        "framework": {"type": "string"},
        "frameworkVersion": {"type": "string"},
        "datasets": {"type": "array", "items": {"type": "array"}},
    },
}

_V1 = (
    "/api/pipelines/v1.0/subscriptions/{subscription}/resourceGroups/{group}/providers/"
    "Microsoft.MachineLearningServices/workspaces/{workspace}/PipelineRuns"
)
_V1_RUN = {
    "type": "object",
    "required": ["ExperimentName"],
    "properties": {
        "ExperimentName": {"type": "string", "minLength": 1},
        "RunSource": {"type": "string"},
        "ContinueOnStepFailure": {"type": "boolean"},
        "EnforceRerun": {"type": "boolean"},
        "Tags": {"type": "object", "additionalProperties": {"type": "string"}},
        "ParameterAssignments": {
            "type": "object",
            "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]},
        },
        "DataPathAssignments": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["RelativePath"],
                "properties": {"DataStoreName": {"type": "string"}, "RelativePath": {"type": "string"}},
            },
        },
        "DataSetDefinitionValueAssignments": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "SavedDataSetReference": {
                        "type": "object",
                        "required": ["Id"],
                        "properties": {"Id": {"type": "string"}},
                    },
                    "DataSetDefinition": {"type": "object"},
                },
            },
        },
    },
}
_V1_ANSWER = {
    "type": "object",
    "required": ["Id"],
    "properties": {
        "Id": {"type": "string"},
        "Status": {"type": "string"},
        "ExperimentName": {"type": "string"},
        "Links": {"type": "object"},
    },
}
_V1_OPS = {
    "get": _op("The JSON Schema of the run request this version accepts", _json({"type": "object"})),
    "post": {
        **_op(
            "Start a run (v1 body; an Idempotency-Key header makes retries start one run). 410: the "
            "pipeline or endpoint is disabled",
            _json(_V1_ANSWER),
            _json(_V1_RUN),
        ),
        "parameters": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        ],
    },
}
_PUBLISH = {
    "type": "object",
    "properties": {
        "document": {"$ref": "#/components/schemas/PipelineDocument"},
        "sourceRunId": {"type": "string"},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "version": {"type": "string"},
        "continueOnStepFailure": {"type": "boolean"},
        "id": {"type": "string", "format": "uuid"},
    },
}
_ENDPOINT = {
    "type": "object",
    "required": ["name", "pipelineId"],
    "properties": {
        "name": {"type": "string"},
        "description": {"type": "string"},
        "pipelineId": {"type": "string"},
        "notificationUrl": {"type": "string"},
    },
}
_ENDPOINT_CHANGES = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "description": {"type": "string"},
        "status": {"enum": ["Active", "Disabled", "Archived"]},
        "addPipelineId": {"type": "string"},
        "makeDefault": {"type": "boolean"},
        "defaultPipelineId": {"type": "string"},
        "defaultVersion": {"type": "string"},
        "notificationUrl": {"type": "string"},
    },
}
_DRAFT = {
    "type": "object",
    "properties": {
        "document": {"$ref": "#/components/schemas/PipelineDocument"},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "experimentName": {"type": "string"},
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        "properties": {"type": "object", "additionalProperties": {"type": "string"}},
        "pipelineParameters": {"type": "object"},
        "continueOnStepFailure": {"type": "boolean"},
    },
}
PUBLISHED_ROUTES: dict[str, dict[str, dict[str, Any]]] = {
    "/api/published-pipelines": {
        "get": _op(
            "List published pipelines, newest first (?activeOnly=false for disabled ones too)",
            _json(_LIST),
            query=("activeOnly",),
        ),
        "post": _op(
            "Publish a pipeline document, or the pipeline of run sourceRunId",
            _json(_RECORD),
            _json(_PUBLISH),
            status="201",
        ),
    },
    "/api/published-pipelines/{id}": {
        "get": _op("A published pipeline", _json(_RECORD)),
        "patch": _op(
            "Enable or disable a published pipeline",
            _json(_RECORD),
            _json(
                {"type": "object", "required": ["status"], "properties": {"status": {"enum": ["Active", "Disabled"]}}}
            ),
        ),
    },
    _V1 + "/PipelineSubmit/{id}": _V1_OPS,
    _V1 + "/PipelineEndpointSubmit/Id/{id}/{version?}": _V1_OPS,
    _V1 + "/PipelineEndpointSubmit/Name": {
        method: {
            **op,
            "parameters": [
                *op.get("parameters", []),
                *[
                    {"name": q, "in": "query", "required": q == "name", "schema": {"type": "string"}}
                    for q in ("name", "pipelineVersion")
                ],
            ],
        }
        for method, op in _V1_OPS.items()
    },
    "/api/pipeline-endpoints": {
        "get": _op(
            "List pipeline endpoints that are not archived (?activeOnly=false for disabled ones too), or "
            "get one by ?name=",
            _json(_RECORD),
            query=("activeOnly", "name"),
        ),
        "post": _op(
            "Create a pipeline endpoint whose version 0 is pipelineId", _json(_RECORD), _json(_ENDPOINT), status="201"
        ),
    },
    "/api/pipeline-endpoints/{id}": {
        "get": _op("A pipeline endpoint", _json(_RECORD)),
        "patch": _op(
            "Change a pipeline endpoint (versions, default, name, status)", _json(_RECORD), _json(_ENDPOINT_CHANGES)
        ),
    },
    "/api/pipeline-drafts": {
        "get": _op("List drafts carrying ?tags= (a JSON object)", _json(_LIST), query=("tags",)),
        "post": _op("Save a pipeline draft", _json(_RECORD), _json(_DRAFT), status="201"),
    },
    "/api/pipeline-drafts/{id}": {
        "get": _op("A pipeline draft", _json(_RECORD)),
        "patch": _op("Change a draft (a document replaces its pipeline)", _json(_RECORD), _json(_DRAFT)),
        "delete": _op("Delete a draft", _json(_RECORD)),
    },
    "/api/pipeline-drafts/{id}/submit": {"post": _op("Run a draft", _json(_RECORD), status="202")},
    "/api/pipeline-drafts/{id}/publish": {"post": _op("Publish a draft", _json(_RECORD), status="201")},
}

_SCHEDULE = {
    "type": "object",
    "required": ["name", "experimentName"],
    "properties": {
        "name": {"type": "string"},
        "description": {"type": "string"},
        "pipelineId": {"type": "string"},
        "pipelineEndpointId": {"type": "string"},
        "experimentName": {"type": "string"},
        "parameterAssignments": {"type": "object"},
        "continueOnStepFailure": {"type": "boolean"},
        "recurrence": {"type": "object"},
        "datastore": {"type": "string"},
        "pathOnDatastore": {"type": "string"},
        "pollingInterval": {"type": "number"},
        "dataPathParameterName": {"type": "string"},
        "debounceSeconds": {"type": "number"},
        "includeSubfolders": {"type": "boolean"},
        "suffixes": {"type": "array", "items": {"type": "string"}},
        "notificationUrl": {"type": "string"},
    },
}

ROUTES: dict[str, dict[str, dict[str, Any]]] = {
    "/api/workspace": {"get": _op("The workspace", _json(_RECORD))},
    "/api/experiments": {"get": _op("List experiments", _json(_LIST))},
    "/api/experiments/{experiment}/runs": {
        "get": _op("List an experiment's pipeline runs, newest first", _json(_LIST)),
        "post": _op("Submit a pipeline run", _json(_RECORD), _json(_SUBMIT), status="202"),
    },
    "/api/runs/{run_id}": {
        "get": _op(
            "A pipeline or step run; with wait=S (0-60) and status=X, answered as soon as "
            "the run's status is not X or its record (with steps=true: or a record of "
            "one of its steps) is written, else after S s",
            _json(_RECORD),
            query=("wait", "status", "steps"),
        )
    },
    "/api/runs/{run_id}/steps": {"get": _op("A pipeline run's step runs, latest first", _json(_LIST))},
    "/api/runs/{run_id}/cancel": {"post": _op("Cancel a run", _json(_RECORD), status="202")},
    "/api/runs/{run_id}/resume": {
        "post": _op(
            "Resume an ended pipeline run: a new run that reuses the steps that finished and runs the rest",
            _json(_RECORD),
            status="202",
        )
    },
    "/api/runs/{run_id}/reuse": {
        "get": _op(
            "Why a step run was (not) reused: reused_from, or what changed against the step's previous run",
            _json(_RECORD),
        )
    },
    "/api/runs/{run_id}/logs": {
        "get": _op("Driver log text from an offset", {"text/plain": {"schema": {"type": "string"}}}, query=("offset",))
    },
    "/api/runs/{run_id}/metrics": {
        "get": _op("Metrics by name", _json({"type": "object"})),
        "post": _op(
            "Log metrics",
            _json({"type": "object"}),
            _json(
                {
                    "type": "object",
                    "properties": {"metrics": {"type": "array", "items": {"type": "object", "required": ["name"]}}},
                }
            ),
        ),
    },
    "/api/runs/{run_id}/files/{*name}": {"get": _op("List (no name) or download a captured run file", _BYTES)},
    "/api/datastores/{name?}": {
        "get": _op("List datastores, or get one", _json(_RECORD)),
        "put": _op("Register a blob-container datastore", _json(_RECORD), _json(_RECORD), query=("overwrite",)),
    },
    "/api/datastores/{name}/default": {"post": _op("Make a datastore the default", _json(_RECORD))},
    "/api/datastores/{name}/files/{*path}": {
        "get": _op("List files under a prefix (path ending in /) or download one", _BYTES, query=("prefix",)),
        "put": _op("Upload one file", _json(_RECORD), _BYTES, query=("overwrite",), status="201"),
    },
    "/api/datasets/{name?}": {
        "get": _op(
            "List datasets (latest versions), or get one by name (?version=) or ?id=",
            _json(_RECORD),
            query=("version", "id"),
        ),
        "post": _op(
            "Register a dataset definition",
            _json(_RECORD),
            _json(
                {
                    "type": "object",
                    "required": ["definition", "name"],
                    "properties": {
                        "definition": {"type": "object"},
                        "name": {"type": "string"},
                        "description": {"type": "string"},
                        "tags": {"type": "object"},
                        "createNewVersion": {"type": "boolean"},
                    },
                }
            ),
            status="201",
        ),
    },
    "/api/dataset-files": {
        "post": _op(
            "The files behind a dataset definition",
            _json(_LIST),
            _json({"type": "object", "properties": {"definition": {"type": "object"}}}),
        )
    },
    "/api/computes/{name?}": {
        "get": _op("List compute targets, or get one", _json(_RECORD)),
        "put": _op("Create a compute target", _json(_RECORD), _json(_RECORD), status="201"),
        "delete": _op("Delete a compute target", _json({})),
    },
    "/api/snapshots/missing": {
        "post": _op(
            "Which content hashes are not stored yet (or, given a whole manifest, "
            "the snapshot's id when it exists already)",
            _json({"type": "object"}),
            _json(
                {
                    "type": "object",
                    "properties": {
                        "hashes": {"type": "array", "items": {"type": "string"}},
                        "files": {"type": "object"},
                        "hashed": {"type": "object"},
                    },
                }
            ),
        )
    },
    "/api/snapshots/files/{sha}": {"put": _op("Store one file by its sha256", _json(_RECORD), _BYTES, status="201")},
    "/api/snapshots": {
        "post": _op(
            "Record a snapshot manifest",
            _json({"type": "object", "properties": {"id": {"type": "string"}}}),
            _json({"type": "object", "properties": {"files": {"type": "object"}, "hashed": {"type": "object"}}}),
            status="201",
        )
    },
    "/api/models/{name?}": {
        "get": _op(
            "List model versions, newest first (?name=, ?tags= a JSON list of keys and [key, value] pairs), "
            "or get one by name (?version=) or ?id=name:version",
            _json(_RECORD),
            query=("name", "tags", "version", "id"),
        ),
        "post": _op(
            "Register a new model version over uploaded files (or, with runId + runPath, over files a run captured)",
            _json(_RECORD),
            _json(_MODEL_SPEC),
            status="201",
        ),
    },
    "/api/model-files/{sha}": {
        "get": _op("Download one model file by its sha256", _BYTES),
        "put": _op("Store one model file by its sha256", _json(_RECORD), _BYTES, status="201"),
    },
    "/api/openapi.json": {"get": _op("This document", _json({"type": "object"}))},
    **PUBLISHED_ROUTES,
    "/api/schedules": {
        "get": _op("List schedules", _json(_LIST), query=("activeOnly", "pipelineId", "pipelineEndpointId")),
        "post": _op(
            "Create a schedule (a recurrence without startTime starts its first run at once)",
            _json(_RECORD),
            _json(_SCHEDULE),
            status="201",
        ),
    },
    "/api/schedules/{schedule_id}": {
        "get": _op("A schedule, with nextRunTime and lastError", _json(_RECORD)),
        "patch": _op(
            "Change a schedule's settings (status Active/Disabled, recurrence, ...)",
            _json(_RECORD),
            _json({"type": "object"}),
        ),
    },
    "/api/schedules/{schedule_id}/runs": {
        "get": _op("The runs a schedule started, newest first, with what triggered each", _json(_LIST))
    },
}


def document() -> dict[str, Any]:
    """The OpenAPI document; path templates use OpenAPI syntax ({name}, no `?`/`*`)."""
    paths: dict[str, Any] = {}
    for route, ops in ROUTES.items():
        clean = route.replace("{*", "{").replace("?}", "}")
        paths[clean] = {
            method: {**op, "parameters": [*_path_params(route), *op.get("parameters", [])]}
            for method, op in ops.items()
        }
    schema = {k: v for k, v in DOCUMENT_SCHEMA.items() if k not in ("$schema", "$id")}
    return {
        "openapi": "3.0.3",
        "info": {"title": "durableml API", "version": "1"},
        "components": {
            "schemas": {"Error": _ERROR, "PipelineDocument": schema},
            "securitySchemes": {"functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"}},
        },
        "security": [{"functionKey": []}],
        "paths": paths,
    }
