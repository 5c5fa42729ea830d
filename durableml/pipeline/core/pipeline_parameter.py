"""PipelineParameter: a named value a run can override (``submit(pipeline_parameters=...)``, REST).

The default decides the type: str, int, float, bool, a DataPath (or ``datastore.path(...)``), a
FileDataset or a TabularDataset. In ``arguments`` a scalar parameter becomes its value as a
string; a DataPath parameter is paired with a DataPathComputeBinding; a dataset parameter is
wrapped in a DatasetConsumptionConfig.
"""

from __future__ import annotations

import math
from typing import Any

from durableml._names import check_identifier
from durableml.data.abstract_dataset import AbstractDataset
from durableml.data.data_reference import DataReference
from durableml.data.datapath import DataPath
from durableml.exceptions import ValidationError

__all__ = ["PipelineParameter", "PARAMETER_TYPES", "parameter_type_of"]

PARAMETER_TYPES = ("string", "int", "float", "bool", "datapath", "file_dataset", "tabular_dataset")


def parameter_type_of(value: Any) -> str | None:
    """Return the parameter type name for ``value``, or None if it cannot be a default."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (DataPath, DataReference)):
        return "datapath"
    if isinstance(value, AbstractDataset):
        return f"{value._dataset_type}_dataset"
    return None


class PipelineParameter:
    """A named pipeline parameter with a default value (v1 ``PipelineParameter(name, default_value)``)."""

    def __init__(self, name: str, default_value: Any) -> None:
        self.name = check_identifier(name, "PipelineParameter")
        kind = parameter_type_of(default_value)
        if kind is None:
            raise ValidationError(
                f"PipelineParameter {name!r} has a default of type {type(default_value).__name__} ({default_value!r}); "
                "use a str, int, float, bool, DataPath, FileDataset or TabularDataset."
            )
        if isinstance(default_value, float) and not math.isfinite(default_value):
            raise ValidationError(f"PipelineParameter {name!r} default {default_value!r} must be a finite number.")
        if isinstance(default_value, DataReference):
            default_value = DataPath(default_value.datastore, default_value.path_on_datastore)
        self.default_value = default_value
        self.type = kind

    def default_to_document(self) -> Any:
        """Return the default as stored in the pipeline document (JSON)."""
        value = self.default_value
        if isinstance(value, (DataPath, AbstractDataset)):
            return value.to_dict()
        return value

    def __str__(self) -> str:
        return f"$AML_PARAMETER_{self.name}"

    def __repr__(self) -> str:
        return f"PipelineParameter(name={self.name!r}, default_value={self.default_value!r})"
