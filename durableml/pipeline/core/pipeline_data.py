"""PipelineData: intermediate data one step writes and later steps read.

A PipelineData listed in a step's ``outputs`` is written by that step, at
``azureml/<step run id>/<output name>`` on its datastore; anywhere else (``inputs``,
``arguments``) it is read. In ``arguments`` it becomes a directory path (a file path with
``is_directory=False``). ``as_dataset()`` exposes it as a FileDataset input named after it
(``run.input_datasets[name]``), which ``parse_parquet_files()`` turns into a TabularDataset.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from durableml._names import check_identifier
from durableml.data._modes import check_mode
from durableml.exceptions import ValidationError

if TYPE_CHECKING:
    from durableml._handles import DatastoreHandle

__all__ = [
    "PipelineData",
    "PipelineDataInput",
    "InputPortBinding",
    "PipelineOutputFileDataset",
    "PipelineOutputTabularDataset",
    "TrainingOutput",
]


class TrainingOutput:
    """Which output of an AutoML or HyperDrive step a PipelineData carries (recorded)."""

    def __init__(
        self, type: str, iteration: int | None = None, metric: str | None = None, model_file: str | None = None
    ) -> None:
        self.type = type
        self.iteration = iteration
        self.metric = metric
        self.model_file = model_file

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-able dict."""
        return {"type": self.type, "iteration": self.iteration, "metric": self.metric, "modelFile": self.model_file}


class PipelineData:
    """Intermediate data produced by one step and consumed by others (v1 constructor)."""

    def __init__(
        self,
        name: str,
        datastore: DatastoreHandle | None = None,
        output_name: str | None = None,
        output_mode: str = "mount",
        output_path_on_compute: str | None = None,
        output_overwrite: bool | None = None,
        data_type: str | None = None,
        is_directory: bool | None = None,
        pipeline_output_name: str | None = None,
        training_output: TrainingOutput | None = None,
    ) -> None:
        self._name = check_identifier(name, "PipelineData")
        self.datastore = datastore
        self._output_name = check_identifier(output_name, "PipelineData output_name") if output_name else self._name
        self.output_mode = check_mode(output_mode, ("mount", "upload"), "PipelineData output_mode")
        self.output_path_on_compute = output_path_on_compute
        self.output_overwrite = bool(output_overwrite)
        self.data_type = data_type or "AnyDirectory"
        self.is_directory = True if is_directory is None else bool(is_directory)
        if pipeline_output_name is not None:
            check_identifier(pipeline_output_name, "PipelineData pipeline_output_name")
        self.pipeline_output_name = pipeline_output_name
        self.training_output = training_output
        self._producers: list[Any] = []

    @property
    def name(self) -> str:
        """The name; consuming steps see the data under this input name."""
        return self._name

    @property
    def output_name(self) -> str:
        """The name of the output on the producing step (``output_name`` or ``name``)."""
        return self._output_name

    @property
    def datastore_name(self) -> str | None:
        """The datastore's name, or None for the workspace default."""
        return str(self.datastore.name) if self.datastore is not None else None

    def as_input(self, input_name: str | None = None) -> PipelineDataInput:
        """Return this data as an input with an explicit name (mounted)."""
        return self.create_input_binding(input_name)

    def as_mount(self, input_name: str | None = None) -> PipelineDataInput:
        """Return this data as a mounted input."""
        return self.create_input_binding(input_name, mode="mount")

    def as_download(
        self, input_name: str | None = None, path_on_compute: str | None = None, overwrite: bool | None = None
    ) -> PipelineDataInput:
        """Return this data as a downloaded input."""
        return self.create_input_binding(input_name, "download", path_on_compute, overwrite)

    def create_input_binding(
        self,
        input_name: str | None = None,
        mode: str | None = None,
        path_on_compute: str | None = None,
        overwrite: bool | None = None,
    ) -> PipelineDataInput:
        """Return an input binding of this data with the given name, mode and path on compute."""
        return PipelineDataInput(self, input_name, mode, path_on_compute, overwrite)

    def as_dataset(self) -> PipelineOutputFileDataset:
        """Return this data as a FileDataset input (``run.input_datasets[self.name]``)."""
        return PipelineOutputFileDataset(self)

    def __str__(self) -> str:
        return f"$AZUREML_DATAREFERENCE_{self._name}"

    def __repr__(self) -> str:
        return f"PipelineData(name={self._name!r}, datastore={self.datastore_name!r})"


class PipelineDataInput:
    """How a consuming step reads a PipelineData: name, mode and path on compute (v1 InputPortBinding)."""

    def __init__(
        self,
        data: PipelineData,
        input_name: str | None = None,
        mode: str | None = None,
        path_on_compute: str | None = None,
        overwrite: bool | None = None,
    ) -> None:
        self.data = data
        self.input_name = check_identifier(input_name, "input_name") if input_name else None
        self.mode = check_mode(mode or "mount", ("mount", "download", "direct"), "input mode")
        self.path_on_compute = path_on_compute
        self.overwrite = bool(overwrite)
        self._mode_explicit = mode is not None

    @property
    def name(self) -> str:
        """The input name the consuming step sees."""
        return self.input_name or self.data.name

    def __repr__(self) -> str:
        return f"PipelineDataInput(data={self.data.name!r}, name={self.name!r}, mode={self.mode!r})"


InputPortBinding = PipelineDataInput


class PipelineOutputFileDataset:
    """A PipelineData consumed as a FileDataset (``PipelineData.as_dataset()``)."""

    _consumed_as_dataset = True  # a step input (see DatasetConsumptionConfig)

    def __init__(
        self, data: PipelineData, input_name: str | None = None, mode: str = "mount", path_on_compute: str | None = None
    ) -> None:
        self.data = data
        self._input_name = input_name
        self.mode = mode
        self.path_on_compute = path_on_compute
        self._mode_explicit = False

    @property
    def name(self) -> str:
        """The input name: the PipelineData's name unless renamed with as_named_input()."""
        return self._input_name or self.data.name

    def as_named_input(self, name: str) -> PipelineOutputFileDataset:
        """Return a copy consumed under ``name``."""
        return PipelineOutputFileDataset(self.data, check_identifier(name, "input"), self.mode, self.path_on_compute)

    def _with_mode(self, mode: str, path_on_compute: str | None) -> PipelineOutputFileDataset:
        copy = PipelineOutputFileDataset(self.data, self._input_name, mode, path_on_compute or self.path_on_compute)
        copy._mode_explicit = True
        return copy

    def as_mount(self, path_on_compute: str | None = None) -> PipelineOutputFileDataset:
        """Return a copy that is mounted."""
        return self._with_mode("mount", path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> PipelineOutputFileDataset:
        """Return a copy that is downloaded."""
        return self._with_mode("download", path_on_compute)

    def parse_parquet_files(self, file_extension: str = ".parquet", **kwargs: Any) -> PipelineOutputTabularDataset:
        """Return the data as a TabularDataset read from parquet files."""
        return PipelineOutputTabularDataset(
            self.data, {"kind": "parquet", "fileExtension": file_extension}, input_name=self._input_name
        )

    def parse_delimited_files(
        self, file_extension: str = ".csv", separator: str = ",", header: Any = True, **kwargs: Any
    ) -> PipelineOutputTabularDataset:
        """Return the data as a TabularDataset read from delimited files."""
        fmt = {"kind": "delimited", "fileExtension": file_extension, "separator": separator, "header": bool(header)}
        return PipelineOutputTabularDataset(self.data, fmt, input_name=self._input_name)

    def __repr__(self) -> str:
        return f"PipelineOutputFileDataset(data={self.data.name!r}, name={self.name!r})"


class PipelineOutputTabularDataset:
    """A PipelineData consumed as a TabularDataset, with optional column transforms."""

    _consumed_as_dataset = True

    def __init__(
        self,
        data: PipelineData,
        fmt: dict[str, Any],
        transforms: Sequence[dict[str, Any]] = (),
        input_name: str | None = None,
    ) -> None:
        self.data = data
        self.format = dict(fmt)
        self.transforms = [dict(t) for t in transforms]
        self._input_name = input_name
        self.mode = "direct"
        self.path_on_compute: str | None = None
        self._mode_explicit = False

    @property
    def name(self) -> str:
        """The input name: the PipelineData's name unless renamed with as_named_input()."""
        return self._input_name or self.data.name

    def as_named_input(self, name: str) -> PipelineOutputTabularDataset:
        """Return a copy consumed under ``name``."""
        return PipelineOutputTabularDataset(self.data, self.format, self.transforms, check_identifier(name, "input"))

    def keep_columns(self, columns: str | Sequence[str]) -> PipelineOutputTabularDataset:
        """Return a copy with only ``columns``."""
        return self._then({"kind": "keep_columns", "columns": _names(columns)})

    def drop_columns(self, columns: str | Sequence[str]) -> PipelineOutputTabularDataset:
        """Return a copy without ``columns``."""
        return self._then({"kind": "drop_columns", "columns": _names(columns)})

    def random_split(
        self, percentage: float, seed: int | None = None
    ) -> tuple[PipelineOutputTabularDataset, PipelineOutputTabularDataset]:
        """Return two copies holding about ``percentage`` and ``1 - percentage`` of the rows."""
        split = {"kind": "random_split", "percentage": float(percentage), "seed": seed}
        return self._then({**split, "part": 0}), self._then({**split, "part": 1})

    def _then(self, transform: dict[str, Any]) -> PipelineOutputTabularDataset:
        return PipelineOutputTabularDataset(self.data, self.format, [*self.transforms, transform], self._input_name)

    def __repr__(self) -> str:
        return f"PipelineOutputTabularDataset(data={self.data.name!r}, name={self.name!r})"


def _names(columns: str | Sequence[str]) -> list[str]:
    names = [columns] if isinstance(columns, str) else list(columns)
    if not names or not all(isinstance(c, str) and c for c in names):
        raise ValidationError(f"columns must be a column name or a list of column names, got {columns!r}.")
    return names
