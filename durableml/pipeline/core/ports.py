"""How a step's ``arguments``, ``inputs`` and ``outputs`` turn into typed ports and bindings.

Every object a user may pass (PipelineData, DataReference, DataPath bindings, datasets,
OutputFileDatasetConfig and their views, PipelineParameter, literals) is classified here, once,
into an :class:`InputPort` (where the data comes from and how the step sees it), an
:class:`OutputPort` (data the step writes), or an :class:`Argument` (a command-line item bound to
a literal, a parameter, an input or an output). The same object met twice in one step (in
``arguments`` and in ``inputs``) becomes one port; an explicit mode (``as_download()``) wins over
the default one.

Which step writes an object: PipelineData is written by the step that lists it in ``outputs``.
An OutputFileDatasetConfig is written by the step that lists it in ``outputs`` or, when no earlier
step writes it already, by the first step that uses it directly in ``arguments``; later steps
that use it directly read it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from durableml._canonical import content_hash
from durableml.data.abstract_dataset import AbstractDataset
from durableml.data.data_reference import DataReference
from durableml.data.datapath import DataPath, DataPathComputeBinding
from durableml.data.dataset_consumption_config import DatasetConsumptionConfig
from durableml.data.output_dataset_config import OutputFileDatasetConfig, OutputTabularDatasetConfig
from durableml.data.sql_data_reference import SqlDataReference
from durableml.exceptions import ValidationError
from durableml.pipeline.core.pipeline_data import (
    PipelineData,
    PipelineDataInput,
    PipelineOutputFileDataset,
    PipelineOutputTabularDataset,
)
from durableml.pipeline.core.pipeline_parameter import PipelineParameter

__all__ = ["InputPort", "OutputPort", "Argument", "StepPorts", "input_port", "output_port"]

Producible = PipelineData | OutputFileDatasetConfig


@dataclass(eq=False)
class InputPort:
    """One input of a step: its source, how it is delivered, and under which name."""

    source: str  # "step_output" | "datastore" | "parameter" | "dataset" | "sql"
    mode: str
    mode_explicit: bool = False
    explicit_name: str | None = None
    data: Producible | None = None
    location: dict[str, str] | None = None
    parameter: PipelineParameter | None = None
    dataset: AbstractDataset | None = None
    sql: dict[str, Any] | None = None
    dataset_type: str | None = None
    view: dict[str, Any] | None = None
    path_on_compute: str | None = None
    overwrite: bool = False
    side_input: bool = False

    @property
    def name(self) -> str | None:
        """The input name the step sees (None only for a still-unnamed OutputFileDatasetConfig)."""
        return self.explicit_name or (self.data.name if self.data is not None else None)

    def key(self) -> tuple[Any, ...]:
        """Identity within one step: the same key means the same input."""
        if self.source == "step_output":
            return ("step_output", id(self.data), self.explicit_name, self.dataset_type)
        return (self.source, self.explicit_name)

    def same_source(self, other: InputPort) -> bool:
        """True when both ports read the same data the same way (modes aside)."""
        return (
            self.source == other.source
            and self.data is other.data
            and self.location == other.location
            and self.parameter is other.parameter
            and self.sql == other.sql
            and self.view == other.view
            and self.dataset_type == other.dataset_type
            and (self.dataset.id if self.dataset else None) == (other.dataset.id if other.dataset else None)
        )


@dataclass(eq=False)
class OutputPort:
    """One output of a step: the PipelineData or OutputFileDatasetConfig it writes."""

    data: Producible
    as_dataset: bool = False

    @property
    def name(self) -> str | None:
        """The output name on the producing step."""
        return self.data.output_name if isinstance(self.data, PipelineData) else self.data.name


@dataclass(frozen=True)
class Argument:
    """One item of ``arguments``: a literal string, a parameter, an input or an output."""

    kind: str  # "literal" | "parameter" | "input" | "output"
    value: Any = field(default=None)


def input_port(obj: Any, what: str) -> InputPort:
    """Classify ``obj`` as an input; ``what`` names the step and position for error messages."""
    if isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[1], DataPathComputeBinding):
        return _bound_datapath(obj[0], obj[1], what)
    for kind, convert in _INPUT_CONVERTERS:
        if isinstance(obj, kind):
            return convert(obj)
    if isinstance(obj, PipelineParameter):
        raise ValidationError(_parameter_as_input_message(obj, what))
    raise ValidationError(
        f"{what}: {type(obj).__name__} {obj!r} cannot be a step input. Inputs are PipelineData, DataReference, "
        "(DataPath or PipelineParameter, DataPathComputeBinding) tuples, datasets (as_named_input/as_mount), "
        "and OutputFileDatasetConfig (.as_input())."
    )


def _pipeline_data_input(obj: PipelineDataInput) -> InputPort:
    return InputPort(
        "step_output", obj.mode, obj._mode_explicit, obj.input_name, data=obj.data,
        path_on_compute=obj.path_on_compute, overwrite=obj.overwrite,
    )  # fmt: skip


def _data_reference(obj: DataReference) -> InputPort:
    return InputPort(
        "datastore", obj.mode, obj._mode_explicit, obj.data_reference_name, location=obj.to_dict(),
        path_on_compute=obj.path_on_compute, overwrite=obj.overwrite,
    )  # fmt: skip


def _data_path(obj: DataPath) -> InputPort:
    name = obj.name or f"datapath_{content_hash(obj.to_dict())[:8]}"
    return InputPort("datastore", "mount", False, name, location=obj.to_dict())


def _dataset(obj: AbstractDataset) -> InputPort:
    name = obj.name or f"dataset_{obj.id.replace('-', '')[:8]}"
    return InputPort("dataset", "direct", False, name, dataset=obj, dataset_type=obj._dataset_type)


def _sql(obj: SqlDataReference) -> InputPort:
    return InputPort("sql", "direct", False, obj.data_reference_name, sql=obj.to_dict())


def _output_view(obj: Any) -> InputPort:
    return _step_output_view(obj, None, None, False, None)


_INPUT_CONVERTERS: list[tuple[type | tuple[type, ...], Callable[[Any], InputPort]]] = [
    (PipelineData, lambda obj: InputPort("step_output", "mount", data=obj)),
    (PipelineDataInput, _pipeline_data_input),
    (
        (OutputFileDatasetConfig, OutputTabularDatasetConfig, PipelineOutputFileDataset, PipelineOutputTabularDataset),
        _output_view,
    ),
    (DatasetConsumptionConfig, lambda obj: _consumption(obj)),
    (DataReference, _data_reference),
    (DataPath, _data_path),
    (AbstractDataset, _dataset),
    (SqlDataReference, _sql),
]
"""Input converters by type, tried in order (the first match wins)."""


def _step_output_view(
    obj: Any, name: str | None, mode: str | None, explicit: bool, path_on_compute: str | None
) -> InputPort:
    if isinstance(obj, OutputFileDatasetConfig):
        return InputPort(
            "step_output",
            mode or "mount",
            explicit,
            name,
            data=obj,
            dataset_type="file",
            path_on_compute=path_on_compute,
        )
    if isinstance(obj, OutputTabularDatasetConfig):
        view = {"format": obj.format, "transforms": obj.transforms}
        return InputPort("step_output", "direct", explicit, name, data=obj.output, dataset_type="tabular", view=view)
    if isinstance(obj, PipelineOutputFileDataset):
        return InputPort(
            "step_output",
            mode or obj.mode,
            explicit or obj._mode_explicit,
            name or obj._input_name,
            data=obj.data,
            dataset_type="file",
            path_on_compute=path_on_compute or obj.path_on_compute,
        )
    assert isinstance(obj, PipelineOutputTabularDataset)
    view = {"format": obj.format, "transforms": obj.transforms}
    return InputPort(
        "step_output", "direct", explicit, name or obj._input_name, data=obj.data, dataset_type="tabular", view=view
    )


def _consumption(config: DatasetConsumptionConfig) -> InputPort:
    dataset = config.dataset
    if isinstance(dataset, AbstractDataset):
        return InputPort(
            "dataset",
            config.mode,
            config._mode_explicit,
            config.name,
            dataset=dataset,
            dataset_type=dataset._dataset_type,
            path_on_compute=config.path_on_compute,
        )
    if isinstance(dataset, PipelineParameter):
        return InputPort(
            "parameter",
            config.mode,
            config._mode_explicit,
            config.name,
            parameter=dataset,
            dataset_type=dataset.type.removesuffix("_dataset"),
            path_on_compute=config.path_on_compute,
        )
    mode = config.mode if config._mode_explicit else None
    return _step_output_view(dataset, config.name, mode, config._mode_explicit, config.path_on_compute)


def _bound_datapath(target: Any, binding: DataPathComputeBinding, what: str) -> InputPort:
    if isinstance(target, PipelineParameter) and target.type == "datapath":
        return InputPort(
            "parameter",
            binding.mode,
            True,
            target.name,
            parameter=target,
            path_on_compute=binding.path_on_compute,
            overwrite=binding.overwrite,
        )
    if isinstance(target, DataPath):
        name = target.name or f"datapath_{content_hash(target.to_dict())[:8]}"
        return InputPort(
            "datastore",
            binding.mode,
            True,
            name,
            location=target.to_dict(),
            path_on_compute=binding.path_on_compute,
            overwrite=binding.overwrite,
        )
    raise ValidationError(
        f"{what}: a DataPathComputeBinding must be paired with a DataPath or a PipelineParameter whose "
        f"default is a DataPath, got {target!r}."
    )


def _parameter_as_input_message(parameter: PipelineParameter, what: str) -> str:
    if parameter.type == "datapath":
        return (
            f"{what}: PipelineParameter {parameter.name!r} has a DataPath default; pair it with a binding: "
            f"({parameter.name}_param, DataPathComputeBinding(mode='mount'))."
        )
    if parameter.type.endswith("_dataset"):
        return (
            f"{what}: PipelineParameter {parameter.name!r} has a dataset default; wrap it: "
            f"DatasetConsumptionConfig('{parameter.name}', {parameter.name}_param).as_mount()."
        )
    return (
        f"{what}: PipelineParameter {parameter.name!r} is a "
        f"{parameter.type} value, not data; put it in arguments= instead."
    )


def output_port(obj: Any, what: str) -> OutputPort:
    """Classify ``obj`` as an output of a step."""
    if isinstance(obj, (PipelineData, OutputFileDatasetConfig)):
        return OutputPort(obj)
    if isinstance(obj, OutputTabularDatasetConfig):
        return OutputPort(obj.output)
    if isinstance(obj, PipelineOutputFileDataset):
        return OutputPort(obj.data, as_dataset=True)
    raise ValidationError(
        f"{what}: {type(obj).__name__} {obj!r} cannot be a step output. Outputs are PipelineData or "
        "OutputFileDatasetConfig; data a step only reads belongs in inputs=."
    )


class StepPorts:
    """The inputs, outputs and arguments of one step, deduplicated."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.inputs: list[InputPort] = []
        self.outputs: list[OutputPort] = []

    def output_for(self, data: object) -> OutputPort | None:
        """Return the output port writing ``data``, if this step writes it."""
        return next((port for port in self.outputs if port.data is data), None)

    def reads(self, data: object) -> bool:
        """True when one of this step's inputs reads ``data``."""
        return any(port.data is data for port in self.inputs)

    def add_output(self, obj: Any, what: str) -> OutputPort:
        """Add ``obj`` as an output (once) and return its port."""
        port = output_port(obj, what)
        existing = self.output_for(port.data)
        if existing is not None:
            existing.as_dataset = existing.as_dataset or port.as_dataset
            return existing
        self.outputs.append(port)
        return port

    def add_input(self, obj: Any, what: str, side_input: bool | None = False) -> InputPort:
        """Add ``obj`` as an input, merging it with an earlier occurrence; return the port.

        ``side_input``: True from ``side_inputs``, False from ``inputs``, None from ``arguments`` (which names a
        path, not a role: v1 code passes a side input in both, and it stays a side input).
        """
        port = input_port(obj, what)
        port.side_input = bool(side_input)
        for existing in self.inputs:
            if existing.key() == port.key():
                _merge(existing, port, self.label, side_input is None)
                return existing
        self.inputs.append(port)
        return port

    def bind_argument(self, value: Any, what: str) -> Argument:
        """Classify one ``arguments`` item, adding the inputs/outputs it implies."""
        if isinstance(value, (str, int, float, bool)):
            return Argument("literal", str(value))
        if isinstance(value, os.PathLike):
            return Argument("literal", os.fspath(value))
        if isinstance(value, PipelineParameter):
            if value.type in ("datapath", "file_dataset", "tabular_dataset"):
                raise ValidationError(_parameter_as_input_message(value, what))
            return Argument("parameter", value)
        produced = _written_object(value)
        if produced is not None:
            port = self.output_for(produced)
            if port is not None:
                return Argument("output", port)
            if isinstance(value, OutputFileDatasetConfig) and not value._producers and not self.reads(value):
                return Argument("output", self.add_output(value, what))
        return Argument("input", self.add_input(value, what, side_input=None))


def _written_object(value: Any) -> Producible | None:
    if isinstance(value, (PipelineData, OutputFileDatasetConfig)):
        return value
    if isinstance(value, PipelineOutputFileDataset):
        return value.data
    return None


def _merge(existing: InputPort, new: InputPort, label: str, keep_role: bool = False) -> None:
    if not existing.same_source(new):
        raise ValidationError(
            f"Step {label!r} has two different inputs named {existing.name!r}; give each a distinct name."
        )
    if new.mode_explicit and existing.mode_explicit and new.mode != existing.mode:
        raise ValidationError(
            f"Step {label!r} uses input {existing.name!r} both as {existing.mode!r} and as {new.mode!r}; pick one."
        )
    if new.mode_explicit and not existing.mode_explicit:
        existing.mode, existing.mode_explicit = new.mode, True
        existing.path_on_compute = new.path_on_compute or existing.path_on_compute
        existing.overwrite = new.overwrite
    if not keep_role:
        existing.side_input = existing.side_input and new.side_input
