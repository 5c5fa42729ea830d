"""Runs of published pipelines: the one translation of a v1 REST body into a run, and parameter schemas.

Every way of starting a published pipeline ends in :func:`from_rest` and :func:`create`: the REST
routes (``PipelineSubmit``, ``PipelineEndpointSubmit/Id``, ``.../Name``), the SDK
(``PublishedPipeline.submit``, ``PipelineEndpoint.submit`` post the same v1 body) and drafts. The
v1 body::

    {"ExperimentName": "exp", "RunSource": "API", "ContinueOnStepFailure": false,
     "ParameterAssignments": {"count": 45},
     "DataPathAssignments": {"input_path": {"DataStoreName": "workspaceblobstore", "RelativePath": "data/x.csv"}},
     "DataSetDefinitionValueAssignments": {"ds": {"SavedDataSetReference": {"Id": "<dataset id>"}}}}

``EnforceRerun`` regenerates every output (no step reuse). Other v1 request fields (``Description``,
``Properties``, ``StepTags``...) are accepted and ignored; a key v1 did not have is a 400 (a typo would
otherwise go unnoticed). Unknown parameter names are ignored, as in v1. REST callers of other languages
send every value as a string (v1's wire type), so ``"45"`` is accepted for an int parameter and ``"true"``
for a bool one; a value that is not of the parameter's type is a 400 naming the parameter and the type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from durableml.exceptions import ValidationError
from durableml.service import runs

_BODY_KEYS = {
    "ExperimentName",
    "RunSource",
    "ParameterAssignments",
    "DataPathAssignments",
    "DataSetDefinitionValueAssignments",
    "ContinueOnStepFailure",
    "Tags",
    "EnforceRerun",
}
# v1 request fields accepted and ignored, so that a v1 caller only changes the host (they change nothing here)
_IGNORED_V1_KEYS = {
    "Description",
    "RunType",
    "Properties",
    "StepTags",
    "ContinueRunOnFailedOptionalInput",
    "AssetOutputSettingsAssignments",
}
_JSON_TYPES = {
    "string": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
}


@dataclass(frozen=True)
class Submission:
    """What a run request asks for, with parameter overrides as typed document values."""

    experiment: str
    parameters: dict[str, Any]
    run_source: str = "API"
    continue_on_step_failure: Optional[bool] = None
    tags: dict[str, str] = field(default_factory=dict)
    regenerate_outputs: bool = False


def from_rest(body: Any, declared: Mapping[str, Mapping[str, Any]]) -> Submission:
    """Turn a v1 REST body into a Submission for a pipeline declaring ``declared`` parameters."""
    if not isinstance(body, dict):
        raise ValidationError(
            "the request body must be a JSON object such as "
            '{"ExperimentName": "my-experiment", "ParameterAssignments": {"name": "value"}}'
        )
    unknown = sorted(set(body) - _BODY_KEYS - _IGNORED_V1_KEYS)
    if unknown:
        raise ValidationError(f"unknown keys {unknown} in the run request; known: {sorted(_BODY_KEYS)}")
    experiment = body.get("ExperimentName")
    if not isinstance(experiment, str) or not experiment.strip():
        raise ValidationError(
            "'ExperimentName' is required: the experiment the run is recorded in, "
            'e.g. {"ExperimentName": "my-experiment"}'
        )
    parameters: dict[str, Any] = {}
    for name, value in _section(body, "ParameterAssignments").items():
        if name in declared:
            parameters[name] = _scalar(name, declared[name]["type"], value)
    for name, value in _section(body, "DataPathAssignments").items():
        if name in declared:
            parameters[name] = _data_path(name, declared[name]["type"], value)
    for name, value in _section(body, "DataSetDefinitionValueAssignments").items():
        if name in declared:
            parameters[name] = _dataset(name, declared[name]["type"], value)
    source = body.get("RunSource")
    if source is not None and not isinstance(source, str):
        raise ValidationError(f"'RunSource' must be a string such as \"API\", got {source!r}")
    flag, rerun = body.get("ContinueOnStepFailure"), body.get("EnforceRerun")
    for key, value in (("ContinueOnStepFailure", flag), ("EnforceRerun", rerun)):
        if value is not None and not isinstance(value, bool):
            raise ValidationError(f"'{key}' must be true or false, got {value!r}")
    tags = _section(body, "Tags")
    if not all(isinstance(v, str) for v in tags.values()):
        raise ValidationError("'Tags' must map names to string values")
    return Submission(experiment, parameters, source or "API", flag, dict(tags), bool(rerun))


def _section(body: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(f"'{key}' must be an object mapping parameter names to values, got {value!r}")
    return value


def _wrong(name: str, expected: str, value: Any, how: str) -> ValidationError:
    return ValidationError(
        f"pipeline parameter '{name}' expects a {expected}, got {type(value).__name__} {value!r}; {how}",
        details={"parameter": name, "expected": expected},
    )


def _scalar(name: str, expected: str, value: Any) -> Any:
    """A ParameterAssignments value as the parameter's type (v1 sent strings; numbers in strings are fine)."""
    if expected not in _JSON_TYPES:
        raise _wrong(
            name,
            expected,
            value,
            "assign DataPath parameters in DataPathAssignments and dataset "
            "parameters in DataSetDefinitionValueAssignments",
        )
    if expected == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and expected != "string":
        value = _parse(value, expected)
    ok = {
        "string": isinstance(value, str),
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
    }[expected]
    if not ok or (expected == "float" and not math.isfinite(value)):
        raise _wrong(name, expected, value, f"send a {expected} (JSON {_JSON_TYPES[expected]['type']})")
    return float(value) if expected == "float" else value


def _parse(text: str, expected: str) -> Any:
    try:
        if expected == "int":
            return int(text.strip())
        if expected == "float":
            return float(text.strip())
    except ValueError:
        return text
    return {"true": True, "false": False}.get(text.strip().lower(), text)


def _data_path(name: str, expected: str, value: Any) -> dict[str, Any]:
    if expected != "datapath":
        raise _wrong(name, expected, value, "DataPathAssignments only assign DataPath parameters")
    if not (
        isinstance(value, dict)
        and isinstance(value.get("RelativePath"), str)
        and isinstance(value.get("DataStoreName"), (str, type(None)))
    ):
        raise _wrong(name, "datapath", value, 'send {"DataStoreName": "<datastore>", "RelativePath": "<path>"}')
    from durableml.service import datastores

    store = value.get("DataStoreName") or datastores.default_name()
    datastores.get_datastore(store)  # 404 naming the datastore
    return {"datastore": store, "path": value["RelativePath"]}


def _dataset(name: str, expected: str, value: Any) -> dict[str, Any]:
    if expected not in ("file_dataset", "tabular_dataset"):
        raise _wrong(name, expected, value, "DataSetDefinitionValueAssignments only assign dataset parameters")
    wanted = expected.split("_")[0]
    definition = _definition(name, expected, value)
    if definition.get("datasetType") != wanted:
        raise _wrong(
            name,
            expected,
            value,
            f"that dataset is a {definition.get('datasetType')} dataset; assign a {wanted} dataset",
        )
    return definition


def _definition(name: str, expected: str, value: Any) -> dict[str, Any]:
    from durableml.service import datasets

    if isinstance(value, dict) and isinstance(value.get("SavedDataSetReference"), dict):
        dataset_id = value["SavedDataSetReference"].get("Id")
        if isinstance(dataset_id, str) and dataset_id.isprintable() and not any(c in dataset_id for c in "/\\#?"):
            return dict(datasets.get(None, None, dataset_id)["definition"])
    if isinstance(value, dict) and isinstance(value.get("DataSetDefinition"), dict):  # unregistered (durableml)
        definition = dict(value["DataSetDefinition"])
        from durableml.pipeline.document_schema import DOCUMENT_SCHEMA
        from durableml.pipeline.schema_check import check_schema

        if not check_schema(definition, DOCUMENT_SCHEMA["$defs"]["dataset"], DOCUMENT_SCHEMA, "$"):
            return definition
    raise _wrong(name, expected, value, 'send {"SavedDataSetReference": {"Id": "<registered dataset id>"}}')


def create(
    document: dict[str, Any],
    submission: Submission,
    continue_default: bool,
    pipeline_id: str,
    endpoint_id: Optional[str] = None,
    run_id: Optional[str] = None,
    extra_properties: Optional[Mapping[str, str]] = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Record a run of a published pipeline's ``document``; returns (run record, execution plan)."""
    flag = continue_default if submission.continue_on_step_failure is None else submission.continue_on_step_failure
    properties = {
        "azureml.pipelineid": pipeline_id,
        **({"azureml.pipelineEndpointId": endpoint_id} if endpoint_id else {}),
        **(extra_properties or {}),
    }
    return runs.create_run(
        submission.experiment,
        document,
        submission.parameters,
        submission.tags,
        flag,
        submission.regenerate_outputs,
        submission.run_source,
        properties,
        run_id=run_id,
    )


V1_RUN_FIELDS: dict[str, Any] = {
    "ExperimentName": {"type": "string", "minLength": 1},
    "RunSource": {"type": "string"},
    "ContinueOnStepFailure": {"type": "boolean"},
    "EnforceRerun": {"type": "boolean"},
    "Tags": {"type": "object", "additionalProperties": {"type": "string"}},
}
"""The fields of a v1 run request besides the three assignment sections (their schemas depend on the pipeline)."""


def parameter_schema(declared: Mapping[str, Mapping[str, Any]], title: str) -> dict[str, Any]:
    """A JSON Schema of the v1 REST body for a pipeline declaring ``declared`` parameters."""
    scalars, paths, sets = {}, {}, {}
    for name, spec in sorted(declared.items()):
        kind, default = spec["type"], spec["default"]
        if kind in _JSON_TYPES:
            scalars[name] = {**_JSON_TYPES[kind], "default": default, "x-durableml-type": kind}
        elif kind == "datapath":
            paths[name] = {
                "type": "object",
                "required": ["RelativePath"],
                "x-durableml-type": kind,
                "default": {"DataStoreName": default.get("datastore"), "RelativePath": default["path"]},
                "properties": {"DataStoreName": {"type": "string"}, "RelativePath": {"type": "string"}},
            }
        else:
            sets[name] = {
                "type": "object",
                "required": ["SavedDataSetReference"],
                "x-durableml-type": kind,
                "properties": {
                    "SavedDataSetReference": {
                        "type": "object",
                        "required": ["Id"],
                        "properties": {"Id": {"type": "string"}},
                    }
                },
            }
    section = {"type": "object", "additionalProperties": True}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "required": ["ExperimentName"],
        "properties": {
            **V1_RUN_FIELDS,
            "ParameterAssignments": {**section, "properties": scalars},
            "DataPathAssignments": {**section, "properties": paths},
            "DataSetDefinitionValueAssignments": {**section, "properties": sets},
        },
    }
