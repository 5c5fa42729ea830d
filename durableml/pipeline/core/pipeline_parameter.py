"""PipelineParameter: a named value a run can override (``submit(pipeline_parameters=...)``, REST).

The default decides the type: str, int, float, bool, a DataPath (or ``datastore.path(...)``), a
FileDataset or a TabularDataset. In ``arguments`` a scalar parameter becomes its value as a
string; a DataPath parameter is paired with a DataPathComputeBinding; a dataset parameter is
wrapped in a DatasetConsumptionConfig.
"""

from __future__ import annotations

from typing import Any

from durableml._parameter_values import PARAMETER_TYPES, check_parameter, parameter_json, parameter_type_of
from durableml.data.data_reference import DataReference
from durableml.data.datapath import DataPath

__all__ = ["PipelineParameter", "PARAMETER_TYPES", "parameter_type_of"]


class PipelineParameter:
    """A named pipeline parameter with a default value (v1 ``PipelineParameter(name, default_value)``).

    The rules for names and values are those of :mod:`durableml._parameter_values`.
    """

    def __init__(self, name: str, default_value: Any) -> None:
        self.type = check_parameter(name, default_value)
        self.name = name
        if isinstance(default_value, DataReference):
            default_value = DataPath(default_value.datastore, default_value.path_on_datastore)
        self.default_value = default_value

    @property
    def _consumed_as_dataset(self) -> bool:
        """A parameter whose default is a dataset is a step input (see DatasetConsumptionConfig)."""
        return self.type.endswith("_dataset")

    def default_to_document(self) -> Any:
        """Return the default as stored in the pipeline document (JSON)."""
        return parameter_json(self.default_value)

    def __str__(self) -> str:
        return f"$AML_PARAMETER_{self.name}"

    def __repr__(self) -> str:
        return f"PipelineParameter(name={self.name!r}, default_value={self.default_value!r})"
