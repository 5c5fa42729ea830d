"""The OpenAPI 3.1 document of the durableml HTTP API (served at ``GET /api/openapi.json``).

The route table (:data:`ROUTES`) is written by hand next to the routes in ``triggers/``; the schemas of the
records the routes answer with are generated from their one definition in ``durableml.service.record_types``
(TypedDicts: str, int, float, bool, None, Any, Optional/Union, list, dict, Literal and nested TypedDicts, each
TypedDict a ``components/schemas`` entry referenced with ``$ref``). The pipeline document's JSON Schema is
included with its ``$defs`` as ``PipelineDocument.<name>`` components. ``tests/test_openapi.py`` checks that
every route of the Function App is described here and nothing else and that every ``$ref`` resolves;
``tests/e2e/test_api_records.py`` that answers of the running service match their schemas.
"""

from __future__ import annotations

import functools
import inspect
import types
from typing import Any, Literal, Union, get_args, get_origin, is_typeddict

from durableml.pipeline.document_schema import DOCUMENT_SCHEMA
from durableml.service import record_types as rt
from durableml.service.submissions import V1_RUN_FIELDS

Schema = dict[str, Any]
_JSON_TYPES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}
_REQUEST_TYPES = (rt.ComputeSpec, rt.DatastoreSpec)  # request bodies: other keys (older clients' names) allowed
_DOCUMENT_DEFS = "PipelineDocument."


class _Generator:
    """Turns record types into JSON Schema (2020-12, OpenAPI 3.1's dialect), collecting TypedDicts as components."""

    def __init__(self) -> None:
        self.components: dict[str, Schema] = {}

    def schema(self, tp: Any) -> Schema:
        if isinstance(tp, dict):  # written by hand
            return tp
        tp, _, _, ref = rt.unwrap(tp)
        if ref is not None:
            return {"$ref": f"#/components/schemas/{ref}"}
        if is_typeddict(tp):
            return self._component(tp)
        if tp is Any:
            return {}
        if tp is None:
            return {"type": "null"}
        if tp in _JSON_TYPES:
            return {"type": _JSON_TYPES[tp]}
        origin, args = get_origin(tp), get_args(tp)
        if origin in (Union, types.UnionType):
            return self._union(args)
        if origin is Literal:
            kinds = sorted({_JSON_TYPES[type(v)] for v in args})
            values = {"const": args[0]} if len(args) == 1 else {"enum": list(args)}
            return {"type": kinds[0] if len(kinds) == 1 else kinds, **values}
        if origin is list:
            return {"type": "array", "items": self.schema(args[0])}
        if origin is dict:
            items = self.schema(args[1])
            return {"type": "object", **({"additionalProperties": items} if items else {})}
        raise TypeError(
            f"no JSON Schema for the type {tp!r}; use str, int, float, bool, list, dict, ... or a TypedDict"
        )

    def _component(self, record_type: Any) -> Schema:
        name = record_type.__name__
        if name not in self.components:
            self.components[name] = {}  # placeholder: recursive types end here
            properties = {}
            for field in rt.fields(record_type):
                properties[field.name] = (
                    {"$ref": f"#/components/schemas/{field.schema_ref}"}
                    if field.schema_ref
                    else self.schema(field.type)
                )
            schema: Schema = {"type": "object"}
            if record_type.__doc__:
                schema["description"] = inspect.cleandoc(record_type.__doc__)
            schema["properties"] = properties
            required = [f.name for f in rt.fields(record_type) if f.required]
            if required:
                schema["required"] = required
            schema["additionalProperties"] = record_type in _REQUEST_TYPES
            self.components[name] = schema
        return {"$ref": f"#/components/schemas/{name}"}

    def _union(self, members: tuple[Any, ...]) -> Schema:
        present = [m for m in members if m is not type(None)]
        inner = self.schema(present[0]) if len(present) == 1 else self._one_of(present)
        if len(present) == len(members):
            return inner
        if "type" in inner and "$ref" not in inner and "oneOf" not in inner:  # a plain type: add null to it
            kinds = [inner["type"]] if isinstance(inner["type"], str) else list(inner["type"])
            nullable = {**inner, "type": [*kinds, "null"]}
            if "enum" in inner:
                nullable["enum"] = [*inner["enum"], None]
            return nullable
        return {"oneOf": [inner, {"type": "null"}]}

    def _one_of(self, members: list[Any]) -> Schema:
        schema: Schema = {"oneOf": [self.schema(m) for m in members]}
        tags = [tag for tag in (_tag(rt.unwrap(m)[0]) for m in members) if tag is not None]
        if len(tags) == len(members) and len({name for name, _ in tags}) == 1:  # each fixes one field to a constant
            mapping = {value: self.schema(m)["$ref"] for (_, value), m in zip(tags, members, strict=True)}
            schema["discriminator"] = {"propertyName": tags[0][0], "mapping": mapping}
        return schema


def _tag(tp: Any) -> tuple[str, str] | None:
    """``(field, value)`` of a TypedDict whose field is a one-value Literal (``kind: Literal["step"]``)."""
    if not is_typeddict(tp):
        return None
    for field in rt.fields(tp):
        if get_origin(field.type) is Literal and len(get_args(field.type)) == 1:
            return field.name, str(get_args(field.type)[0])
    return None


def _document_components() -> dict[str, Schema]:
    """The pipeline document's schema and its ``$defs``, with every ``#/$defs/x`` pointing at its component."""

    def moved(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: (
                    f"#/components/schemas/{_DOCUMENT_DEFS}{v.removeprefix('#/$defs/')}"
                    if k == "$ref" and isinstance(v, str) and v.startswith("#/$defs/")
                    else moved(v)
                )
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [moved(v) for v in value]
        return value

    top = {k: moved(v) for k, v in DOCUMENT_SCHEMA.items() if k not in ("$schema", "$id", "$defs")}
    defs = {f"{_DOCUMENT_DEFS}{name}": moved(schema) for name, schema in DOCUMENT_SCHEMA.get("$defs", {}).items()}
    return {"PipelineDocument": top, **defs}


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
_BYTES = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
_ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_ERRORS = {
    str(code): {"description": text, "content": _ERROR_REF}
    for code, text in (
        (400, "bad request: what was wrong and what to do"),
        (401, "missing or wrong function key"),
        (404, "not found"),
        (409, "conflict"),
        (410, "gone: the published pipeline or endpoint refuses runs"),
        (413, "request body too large"),
        (500, "unexpected error; see the host log"),
    )
}


def _path_params(path: str) -> list[dict[str, Any]]:
    names = [seg.strip("{}*").rstrip("?") for seg in path.split("/") if seg.startswith("{")]
    return [{"name": n, "in": "path", "required": True, "schema": dict(_PATH_SCHEMAS.get(n, _STRING))} for n in names]


_STRING = {"type": "string"}
_PATH_SCHEMAS = {"sha": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}  # content hashes: sha256, lowercase hex
_QUERY_SCHEMAS = {"offset": {"type": "integer", "minimum": 0}}  # (a log's offset: a character count)


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
        op["parameters"] = [
            {"name": q, "in": "query", "required": False, "schema": dict(_QUERY_SCHEMAS.get(q, _STRING))} for q in query
        ]
    return op


def _json(schema: Any) -> dict[str, Any]:
    """JSON content of ``schema``: a schema written here, or a type whose schema is generated."""
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
        **V1_RUN_FIELDS,
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
_V1_OPS = {
    "get": _op("The JSON Schema of the run request this version accepts", _json({"type": "object"})),
    "post": {
        **_op(
            "Start a run (v1 body; an Idempotency-Key header makes retries start one run). 410: the "
            "pipeline or endpoint is disabled",
            _json(rt.V1RunAccepted),
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


def _anonymous(op: dict[str, Any]) -> dict[str, Any]:
    """An operation the host lets through without a key: the app authorises it (docs/design/studio.md)."""
    return {**op, "security": []}


_STUDIO_SESSION = _json({"type": "object", "properties": {"signedIn": {"type": "boolean"}}})
STUDIO_ROUTES: dict[str, dict[str, dict[str, Any]]] = {  # triggers/studio.py; docs/design/studio.md
    "/api/studio": {"get": _anonymous(_op("The studio web page", {"text/html": {"schema": {"type": "string"}}}))},
    "/api/studio/assets/{*file}": {"get": _anonymous(_op("The studio's scripts, styles and libraries", _BYTES))},
    "/api/studio/login-codes": {
        "post": _op(
            "A one-time studio login code (2 minutes) for `durableml studio`",
            _json({"type": "object", "properties": {"code": {"type": "string"}, "expires": {"type": "string"}}}),
            status="201",
        )
    },
    "/api/studio/session": {
        "get": _anonymous(_op("Who is signed in to the studio (401 when nobody)", _STUDIO_SESSION)),
        "post": _anonymous(
            _op(
                "Redeem a login code for the studio's HttpOnly session cookie (needs x-durableml-studio: 1)",
                _STUDIO_SESSION,
                _json({"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}}}),
            )
        ),
        "delete": _anonymous(_op("Sign out of the studio", _json({"type": "object"}), status="204")),
    },
    "/api/studio/api/{*path}": {
        method: _anonymous(
            _op(
                "The API route {path} for a signed-in studio user (session cookie or Entra ID), allow-listed "
                "(durableml.studio_routes)",
                _json({}),
            )
        )
        for method in ("get", "post", "patch")
    },
    "/api/studio/data/{*path}": {
        method: _anonymous(
            _op(
                "Studio-only data for a signed-in user: runs, runs/{id}/origin, runs/{id}/graph, runs/{id}/resubmit "
                "(POST), computes, datasets/{name}/preview, published/{id}/schema (durableml.studio_data)",
                _json({}),
            )
        )
        for method in ("get", "post")
    },
}

PUBLISHED_ROUTES: dict[str, dict[str, dict[str, Any]]] = {
    "/api/published-pipelines": {
        "get": _op(
            "List published pipelines, newest first (?activeOnly=false for disabled ones too)",
            _json(list[rt.PublishedPipeline]),
            query=("activeOnly",),
        ),
        "post": _op(
            "Publish a pipeline document, or the pipeline of run sourceRunId",
            _json(rt.PublishedPipeline),
            _json(_PUBLISH),
            status="201",
        ),
    },
    "/api/published-pipelines/{id}/document": {
        "get": _op("A published pipeline's frozen document (durableml export)", _json({"type": "object"}))
    },
    "/api/published-pipelines/{id}": {
        "get": _op("A published pipeline", _json(rt.PublishedPipeline)),
        "patch": _op(
            "Enable or disable a published pipeline",
            _json(rt.PublishedPipeline),
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
            _json(Union[list[rt.PipelineEndpoint], rt.PipelineEndpoint]),
            query=("activeOnly", "name"),
        ),
        "post": _op(
            "Create a pipeline endpoint whose version 0 is pipelineId",
            _json(rt.PipelineEndpoint),
            _json(_ENDPOINT),
            status="201",
        ),
    },
    "/api/pipeline-endpoints/{id}": {
        "get": _op("A pipeline endpoint", _json(rt.PipelineEndpoint)),
        "patch": _op(
            "Change a pipeline endpoint (versions, default, name, status)",
            _json(rt.PipelineEndpoint),
            _json(_ENDPOINT_CHANGES),
        ),
    },
    "/api/pipeline-drafts": {
        "get": _op("List drafts carrying ?tags= (a JSON object)", _json(list[rt.PipelineDraft]), query=("tags",)),
        "post": _op("Save a pipeline draft", _json(rt.PipelineDraft), _json(_DRAFT), status="201"),
    },
    "/api/pipeline-drafts/{id}": {
        "get": _op("A pipeline draft", _json(rt.PipelineDraft)),
        "patch": _op("Change a draft (a document replaces its pipeline)", _json(rt.PipelineDraft), _json(_DRAFT)),
        "delete": _op("Delete a draft", _json(rt.DeletedDraft)),
    },
    "/api/pipeline-drafts/{id}/submit": {"post": _op("Run a draft", _json(rt.PipelineRun), status="202")},
    "/api/pipeline-drafts/{id}/publish": {"post": _op("Publish a draft", _json(rt.PublishedPipeline), status="201")},
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
        "recurrence": {"$ref": "#/components/schemas/Recurrence"},
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
    "/api/workspace": {"get": _op("The workspace", _json(rt.Workspace))},
    "/api/experiments": {"get": _op("List experiments", _json(list[rt.Experiment]))},
    "/api/experiments/{experiment}/runs": {
        "get": _op("List an experiment's pipeline runs, newest first", _json(list[rt.PipelineRun])),
        "post": _op("Submit a pipeline run", _json(rt.PipelineRun), _json(_SUBMIT), status="202"),
    },
    "/api/runs/{run_id}": {
        "get": _op(
            "A pipeline or step run; with wait=S (0-60) and status=X, answered as soon as "
            "the run's status is not X or its record (with steps=true: or a record of "
            "one of its steps) is written, else after S s",
            _json(rt.Run),
            query=("wait", "status", "steps"),
        )
    },
    "/api/runs/{run_id}/steps": {"get": _op("A pipeline run's step runs, latest first", _json(list[rt.StepRun]))},
    "/api/runs/{run_id}/cancel": {"post": _op("Cancel a run", _json(rt.Run), status="202")},
    "/api/runs/{run_id}/resume": {
        "post": _op(
            "Resume an ended pipeline run: a new run that reuses the steps that finished and runs the rest",
            _json(rt.PipelineRun),
            status="202",
        )
    },
    "/api/runs/{run_id}/reuse": {
        "get": _op(
            "Why a step run was (not) reused: reusedFrom, or what changed against the step's previous run",
            _json(rt.ReuseExplanation),
        )
    },
    "/api/runs/{run_id}/logs": {
        "get": _op("Driver log text from an offset", {"text/plain": {"schema": {"type": "string"}}}, query=("offset",))
    },
    "/api/runs/{run_id}/metrics": {
        "get": _op("Metrics by name", _json(dict[str, Any])),
        "post": _op(
            "Log metrics",
            _json(dict[str, Any]),
            _json(
                {
                    "type": "object",
                    "properties": {
                        "metrics": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {"name": {"type": "string"}},
                            },
                        }
                    },
                }
            ),
        ),
    },
    "/api/runs/{run_id}/files/{*name}": {
        "get": _op("List (no name) or download a captured run file", {**_json(list[str]), **_BYTES})
    },
    "/api/datastores/{name?}": {
        "get": _op("List datastores, or get one", _json(Union[list[rt.Datastore], rt.Datastore])),
        "put": _op(
            "Register a blob-container datastore",
            _json(rt.Datastore),
            _json(rt.DatastoreSpec),
            query=("overwrite",),
        ),
        "delete": _op("Unregister a datastore (its storage is left as it is)", _json(None)),
    },
    "/api/datastores/{name}/default": {"post": _op("Make a datastore the default", _json(rt.Datastore))},
    "/api/datastores/{name}/files/{*path}": {
        "get": _op(
            "List files under a prefix (path ending in /) or download one",
            {**_json(list[str]), **_BYTES},
            query=("prefix",),
        ),
        "put": _op("Upload one file", _json(rt.DatastoreUpload), _BYTES, query=("overwrite",), status="201"),
    },
    "/api/datasets/{name?}": {
        "get": _op(
            "List datasets (latest versions), or get one by name (?version=) or ?id=",
            _json(Union[list[rt.Dataset], rt.Dataset]),
            query=("version", "id"),
        ),
        "post": _op(
            "Register a dataset definition",
            _json(rt.Dataset),
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
            _json(list[rt.DatasetFile]),
            _json({"type": "object", "properties": {"definition": {"type": "object"}}}),
        )
    },
    "/api/computes/{name?}": {
        "get": _op("List compute targets, or get one", _json(Union[list[rt.Compute], rt.Compute])),
        "put": _op("Create a compute target", _json(rt.Compute), _json(rt.ComputeSpec), status="201"),
        "delete": _op("Delete a compute target", _json(None)),
    },
    "/api/snapshots/missing": {
        "post": _op(
            "Which content hashes are not stored yet (or, given a whole manifest, "
            "the snapshot's id when it exists already)",
            _json(Union[rt.SnapshotMissing, rt.SnapshotCheck]),
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
    "/api/snapshots/files/{sha}": {
        "get": _op("One stored file by its sha256 (durableml export)", _BYTES),
        "put": _op("Store one file by its sha256", _json(rt.StoredFile), _BYTES, status="201"),
    },
    "/api/snapshots/manifests/{id}": {
        "get": _op("A snapshot's manifest: {files: {path: sha256}, hashed?: {path: sha256}}", _json({"type": "object"}))
    },
    "/api/snapshots": {
        "post": _op(
            "Record a snapshot manifest",
            _json(rt.SnapshotCreated),
            _json({"type": "object", "properties": {"files": {"type": "object"}, "hashed": {"type": "object"}}}),
            status="201",
        )
    },
    "/api/models/{name?}": {
        "get": _op(
            "List model versions, newest first (?name=, ?tags= a JSON list of keys and [key, value] pairs), "
            "or get one by name (?version=) or ?id=name:version",
            _json(Union[list[rt.Model], rt.Model]),
            query=("name", "tags", "version", "id"),
        ),
        "post": _op(
            "Register a new model version over uploaded files (or, with runId + runPath, over files a run captured)",
            _json(rt.Model),
            _json(_MODEL_SPEC),
            status="201",
        ),
    },
    "/api/model-files/{sha}": {
        "get": _op("Download one model file by its sha256", _BYTES),
        "put": _op("Store one model file by its sha256", _json(rt.StoredFile), _BYTES, status="201"),
    },
    "/api/openapi.json": {"get": _op("This document", _json({"type": "object"}))},
    **PUBLISHED_ROUTES,
    **STUDIO_ROUTES,
    "/api/schedules": {
        "get": _op(
            "List schedules", _json(list[rt.Schedule]), query=("activeOnly", "pipelineId", "pipelineEndpointId")
        ),
        "post": _op(
            "Create a schedule (a recurrence without startTime starts its first run at once)",
            _json(rt.Schedule),
            _json(_SCHEDULE),
            status="201",
        ),
    },
    "/api/schedules/{schedule_id}": {
        "get": _op("A schedule, with nextRunTime and lastError", _json(rt.Schedule)),
        "patch": _op(
            "Change a schedule's settings (status Active/Disabled, recurrence, ...)",
            _json(rt.Schedule),
            _json({"type": "object"}),
        ),
    },
    "/api/schedules/{schedule_id}/runs": {
        "get": _op("The runs a schedule started, newest first, with what triggered each", _json(list[rt.ScheduleRun]))
    },
}


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI document; path templates use OpenAPI syntax ({name}, no `?`/`*`)."""
    generator = _Generator()
    paths: dict[str, Any] = {}
    for route, ops in ROUTES.items():
        clean = route.replace("{*", "{").replace("?}", "}")
        paths[clean] = {
            method: _generated({**op, "parameters": [*_path_params(route), *op.get("parameters", [])]}, generator)
            for method, op in ops.items()
        }
    schemas = {"Error": _ERROR, **_document_components(), **generator.components}
    return {
        "openapi": "3.1.0",
        "info": {"title": "durableml API", "version": "1"},
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {"functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"}},
        },
        "security": [{"functionKey": []}],
        "paths": paths,
    }


def _generated(value: Any, generator: _Generator) -> Any:
    """``value`` with every ``{"schema": <type>}`` of a request or response replaced by the type's schema."""
    if isinstance(value, dict):
        return {
            k: generator.schema(v) if k == "schema" and not isinstance(v, dict) else _generated(v, generator)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_generated(v, generator) for v in value]
    return value
