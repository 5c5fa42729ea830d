"""The JSON Schema of the pipeline document, version 1.

The compiler (``durableml.pipeline.compiler``) produces documents of this shape; the service
validates every document it receives against it (``durableml.pipeline.document``) before storing
or running it. Bindings are typed references: ``{"kind": "literal", "value"}``,
``{"kind": "parameter", "name"}``, ``{"kind": "input", "name"}``, ``{"kind": "output", "name"}``.
Settings that may be parameterized (step ``params``, ParallelRunStep node counts, Databricks
parameters) hold literal or parameter bindings. Snapshot ``id`` is null until the submit path
uploads the source directory.
"""

from __future__ import annotations

from typing import Any

from durableml import stepkinds
from durableml._names import IDENTIFIER_PATTERN

__all__ = [
    "SCHEMA_VERSION",
    "DOCUMENT_KIND",
    "STEP_KINDS",
    "INPUT_SOURCES",
    "PARAMETER_TYPES",
    "REUSE_POLICIES",
    "DOCUMENT_SCHEMA",
]

SCHEMA_VERSION = 1
DOCUMENT_KIND = "durableml.pipeline"
STEP_KINDS = tuple(stepkinds.KINDS)  # each kind's settings schema: durableml.stepkinds.<kind>
INPUT_SOURCES = ("stepOutput", "datastore", "parameter", "dataset", "sql")
REUSE_POLICIES = ("definition", "content")
"""How a step's inputs enter its reuse key: by definition (v1: datastore + path, dataset id + version) or by
the content of the blobs behind them. Absent from a step entry means "definition"."""
PARAMETER_TYPES = ("string", "int", "float", "bool", "datapath", "file_dataset", "tabular_dataset")

_NAME = {"type": "string", "pattern": IDENTIFIER_PATTERN}
_TEXT = {"type": "string", "minLength": 1}
_OPT_TEXT = {"type": ["string", "null"]}
_STEP_ID = {"type": "string", "pattern": r"^[a-z0-9_]{1,80}$"}


def _object(required: list[str], properties: dict[str, Any], closed: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "required": required, "properties": properties}
    if closed:
        schema["additionalProperties"] = False
    return schema


def _tagged(kind: str, **properties: Any) -> dict[str, Any]:
    return _object(["kind", *properties], {"kind": {"const": kind}, **properties})


_DATASET = _object(
    ["datasetType", "paths", "format", "transforms", "id"],
    {
        "datasetType": {"enum": ["file", "tabular"]},
        "paths": {"type": "array", "items": {"type": "object", "additionalProperties": {"type": "string"}}},
        "format": {"type": "object"},
        "partitionFormat": _OPT_TEXT,
        "validate": {"type": "boolean"},
        "transforms": {"type": "array", "items": {"type": "object", "required": ["kind"]}},
        "id": _TEXT,
        "name": _OPT_TEXT,
        "version": {"type": ["integer", "string", "null"]},
    },
    closed=False,
)

DOCUMENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "urn:durableml:pipeline-document:1",
    "title": "durableml pipeline document",
    **_object(
        ["schemaVersion", "kind", "description", "defaultDatastore", "parameters", "steps", "edges"],
        {
            "schemaVersion": {"const": SCHEMA_VERSION},
            "kind": {"const": DOCUMENT_KIND},
            "description": _OPT_TEXT,
            "defaultDatastore": _OPT_TEXT,
            "parameters": {
                "type": "object",
                "propertyNames": _NAME,
                "additionalProperties": {"$ref": "#/$defs/parameter"},
            },
            "steps": {"type": "array", "items": {"$ref": "#/$defs/step"}},
            "edges": {"type": "array", "items": {"$ref": "#/$defs/edge"}},
        },
    ),
    "$defs": {
        "parameter": _object(["type", "default"], {"type": {"enum": list(PARAMETER_TYPES)}, "default": {}}),
        "literal": _tagged("literal", value={"type": ["string", "number", "boolean", "null"]}),
        "parameterRef": _tagged("parameter", name=_NAME),
        "inputRef": _tagged("input", name=_NAME),
        "outputRef": _tagged("output", name=_NAME),
        "argument": {"oneOf": [{"$ref": f"#/$defs/{d}"} for d in ("literal", "parameterRef", "inputRef", "outputRef")]},
        "value": {"oneOf": [{"$ref": "#/$defs/literal"}, {"$ref": "#/$defs/parameterRef"}]},
        "dataset": _DATASET,
        "source": {
            "oneOf": [
                _tagged("stepOutput", step=_STEP_ID, output=_NAME),
                _tagged("datastore", datastore=_TEXT, path={"type": "string"}),
                _tagged("parameter", name=_NAME),
                _tagged("dataset", dataset={"$ref": "#/$defs/dataset"}),
                _object(
                    ["kind", "datastore"],
                    {
                        "kind": {"const": "sql"},
                        "datastore": _TEXT,
                        "query": _OPT_TEXT,
                        "table": _OPT_TEXT,
                        "storedProcedure": _OPT_TEXT,
                        "storedProcedureParams": {"type": "array"},
                    },
                ),
            ]
        },
        "input": _object(
            ["source", "mode", "pathOnCompute", "overwrite", "datasetType", "view", "sideInput"],
            {
                "source": {"$ref": "#/$defs/source"},
                "mode": {"enum": ["mount", "download", "direct"]},
                "pathOnCompute": _OPT_TEXT,
                "overwrite": {"type": "boolean"},
                "datasetType": {"enum": [None, "file", "tabular"]},
                "view": {"type": ["object", "null"]},
                "sideInput": {"type": "boolean"},
            },
        ),
        "output": _object(
            [
                "kind",
                "datastore",
                "destination",
                "mode",
                "pathOnCompute",
                "overwrite",
                "isDirectory",
                "pipelineOutputName",
                "registerAs",
                "trainingOutput",
                "asDataset",
                "sourceGlobs",
            ],
            {
                "kind": {"enum": ["pipeline_data", "output_file_dataset"]},
                "datastore": _OPT_TEXT,
                "destination": _TEXT,
                "mode": {"enum": ["mount", "upload"]},
                "pathOnCompute": _OPT_TEXT,
                "overwrite": {"type": "boolean"},
                "isDirectory": {"type": "boolean"},
                "pipelineOutputName": {"type": ["string", "null"], "pattern": IDENTIFIER_PATTERN},
                "registerAs": {"type": ["object", "null"]},
                "trainingOutput": {"type": ["object", "null"]},
                "asDataset": {"type": "boolean"},
                "sourceGlobs": {"type": "array", "items": {"type": "string"}},
            },
        ),
        "snapshot": {
            "type": ["object", "null"],
            "required": ["sourceDirectory", "hashPaths", "id"],
            "additionalProperties": False,
            "properties": {
                "sourceDirectory": _OPT_TEXT,
                "hashPaths": {"type": "array", "items": {"type": "string"}},
                "id": _OPT_TEXT,
            },
        },
        "step": _object(
            [
                "id",
                "name",
                "kind",
                "computeTarget",
                "allowReuse",
                "version",
                "arguments",
                "inputs",
                "outputs",
                "runAfter",
                "settings",
                "snapshot",
            ],
            {
                "id": _STEP_ID,
                "name": _TEXT,
                "kind": {"enum": list(STEP_KINDS)},
                "computeTarget": _OPT_TEXT,
                "allowReuse": {"type": "boolean"},
                "version": _OPT_TEXT,
                "arguments": {"type": "array", "items": {"$ref": "#/$defs/argument"}},
                "inputs": {"type": "object", "propertyNames": _NAME, "additionalProperties": {"$ref": "#/$defs/input"}},
                "outputs": {
                    "type": "object",
                    "propertyNames": _NAME,
                    "additionalProperties": {"$ref": "#/$defs/output"},
                },
                "runAfter": {"type": "array", "items": _STEP_ID},
                "settings": {"type": "object"},
                "snapshot": {"$ref": "#/$defs/snapshot"},
                "reusePolicy": {"enum": list(REUSE_POLICIES)},
            },
        ),
        "edge": {
            "oneOf": [
                _tagged("data", **{"from": _STEP_ID, "to": _STEP_ID, "output": _NAME, "input": _NAME}),
                _tagged("control", **{"from": _STEP_ID, "to": _STEP_ID}),
            ]
        },
    },
}
