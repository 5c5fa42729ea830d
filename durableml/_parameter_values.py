"""Pipeline parameter values as plain data: their type, their JSON, and the v1 REST body that runs with them.

A value is a str, int, float or bool, or an SDK object that names its parameter type in
``_parameter_type`` and gives its JSON with ``to_dict()``: a DataPath or a DataReference
(``"datapath"``, ``{"datastore", "path"}``), a FileDataset or a TabularDataset (``"file_dataset"``,
``"tabular_dataset"``, the dataset's definition). Asking the object, instead of testing for its class,
keeps this module below the data classes: the HTTP client, which sends parameter values, imports it
and no SDK object. :class:`~durableml.pipeline.core.pipeline_parameter.PipelineParameter` applies the
same rules to its default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from durableml._names import check_identifier
from durableml.exceptions import ValidationError

__all__ = ["PARAMETER_TYPES", "parameter_type_of", "check_parameter", "parameter_json", "v1_run_body"]

PARAMETER_TYPES = ("string", "int", "float", "bool", "datapath", "file_dataset", "tabular_dataset")


def parameter_type_of(value: Any) -> str | None:
    """Return the parameter type name for ``value``, or None if it cannot be a parameter value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    kind = None if isinstance(value, type) else getattr(value, "_parameter_type", None)
    return kind if isinstance(kind, str) else None


def check_parameter(name: str, value: Any) -> str:
    """Check that ``name`` and ``value`` make a pipeline parameter; return the value's type name."""
    check_identifier(name, "PipelineParameter")
    kind = parameter_type_of(value)
    if kind is None:
        raise ValidationError(
            f"PipelineParameter {name!r} has a default of type {type(value).__name__} ({value!r}); "
            "use a str, int, float, bool, DataPath, FileDataset or TabularDataset."
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(f"PipelineParameter {name!r} default {value!r} must be a finite number.")
    return kind


def parameter_json(value: Any) -> Any:
    """Return a parameter value as the pipeline document stores it (JSON)."""
    if isinstance(value, (str, int, float, bool)):
        return value
    return value.to_dict()


def v1_run_body(experiment: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The v1 REST body that runs ``experiment`` with ``parameters`` (SDK values: scalars, DataPath, datasets)."""
    scalars: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    sets: dict[str, Any] = {}
    for name, value in parameters.items():
        kind = parameter_type_of(value)
        if kind is None:
            raise ValidationError(
                f"pipeline_parameters[{name!r}] is a {type(value).__name__} ({value!r}); pass a str, int, float, "
                "bool, DataPath, FileDataset or TabularDataset."
            )
        check_parameter(name, value)
        encoded = parameter_json(value)
        if kind == "datapath":
            paths[name] = {"DataStoreName": encoded.get("datastore"), "RelativePath": encoded.get("path", "")}
        elif kind.endswith("_dataset"):
            sets[name] = {"DataSetDefinition": encoded}
        else:
            scalars[name] = encoded
    body: dict[str, Any] = {"ExperimentName": experiment, "RunSource": "SDK", "ParameterAssignments": scalars}
    if paths:
        body["DataPathAssignments"] = paths
    if sets:
        body["DataSetDefinitionValueAssignments"] = sets
    return body
