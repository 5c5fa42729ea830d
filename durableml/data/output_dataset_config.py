"""OutputFileDatasetConfig: a step output written to a datastore path, optionally a dataset.

The destination path may contain ``{run-id}`` and ``{output-name}``, substituted when the step
runs (default: ``dataset/{run-id}/{output-name}`` on the workspace's default datastore). A step
that lists the object in ``arguments`` or ``outputs`` writes it; later steps read it through
``.as_input()``, ``.read_delimited_files().as_input(name)``, or by using it directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from durableml._names import check_identifier
from durableml.data.column_types import column_types
from durableml.data.dataset_consumption_config import DatasetConsumptionConfig
from durableml.data.partitions import parse_partition_format
from durableml.exceptions import NotSupportedError, ValidationError
from durableml._unsupported import unsupported_class

__all__ = [
    "OutputDatasetConfig",
    "OutputFileDatasetConfig",
    "OutputTabularDatasetConfig",
    "HDFSOutputDatasetConfig",
    "DEFAULT_DESTINATION",
]

DEFAULT_DESTINATION = "dataset/{run-id}/{output-name}"


class OutputDatasetConfig:
    """Base of the output dataset configurations (v1 name)."""

    def __init__(self, name: str | None) -> None:
        self.name = check_identifier(name, "OutputFileDatasetConfig") if name is not None else None
        self._producers: list[Any] = []


class OutputFileDatasetConfig(OutputDatasetConfig):
    """Files a step writes; ``destination`` is ``(datastore, path)`` or None for the default store."""

    _consumed_as_dataset = True  # a later step's input (see DatasetConsumptionConfig)

    def __init__(
        self,
        name: str | None = None,
        destination: tuple[Any, str] | None = None,
        source: str | None = None,
        partition_format: str | None = None,
    ) -> None:
        super().__init__(name)
        if destination is not None and not (
            isinstance(destination, tuple)
            and len(destination) == 2
            and hasattr(destination[0], "name")
            and isinstance(destination[1], str)
        ):
            raise ValidationError(
                "OutputFileDatasetConfig destination must be a (datastore, "
                f"'path/{{run-id}}') tuple, got {destination!r}."
            )
        self.destination = destination
        self.source = source
        self.partition_format = partition_format
        self.mode = "mount"
        self.overwrite = False
        self.source_globs: list[str] = []
        self.registration: dict[str, Any] | None = None

    @property
    def datastore_name(self) -> str | None:
        """The destination datastore's name, or None for the workspace default."""
        return str(self.destination[0].name) if self.destination else None

    @property
    def path_on_datastore(self) -> str:
        """The destination path template."""
        return self.destination[1].lstrip("/") if self.destination else DEFAULT_DESTINATION

    def as_mount(self, disable_metadata_cache: bool = False) -> OutputFileDatasetConfig:
        """Write through a mount while the step runs (default); returns this object."""
        self.mode = "mount"
        return self

    def as_upload(self, overwrite: bool = False, source_globs: Sequence[str] | None = None) -> OutputFileDatasetConfig:
        """Upload the files when the step finishes; returns this object."""
        self.mode, self.overwrite, self.source_globs = "upload", bool(overwrite), list(source_globs or [])
        return self

    def register_on_complete(
        self, name: str, description: str | None = None, tags: Mapping[str, str] | None = None
    ) -> OutputFileDatasetConfig:
        """Register the written files as dataset ``name`` after the step succeeds; returns this object."""
        self.registration = {
            "name": check_identifier(name, "Dataset"),
            "description": description,
            "tags": dict(tags or {}),
            "datasetType": "file",
        }
        return self

    def as_input(self, name: str | None = None) -> DatasetConsumptionConfig:
        """Return this output as the (mounted) input of a later step."""
        return DatasetConsumptionConfig(name or self._input_name(), self, mode="mount")

    def _input_name(self) -> str:
        if self.name is None:
            raise ValidationError(
                "This OutputFileDatasetConfig has no name yet (it is named after the step that writes it). "
                "Give it one: OutputFileDatasetConfig(name='prepped_data'), or pass as_input(name='...')."
            )
        return self.name

    def read_delimited_files(
        self,
        include_path: bool = False,
        separator: str = ",",
        header: Any = True,
        partition_format: str | None = None,
        path_glob: str | None = None,
        set_column_types: Mapping[str, Any] | None = None,
    ) -> OutputTabularDatasetConfig:
        """Return a view of this output as a tabular dataset read from delimited files."""
        fmt = {
            "kind": "delimited",
            "separator": separator,
            "header": bool(header),
            "includePath": bool(include_path),
            "pathGlob": path_glob,
            "partitionFormat": _checked_format(partition_format),
            "setColumnTypes": column_types(set_column_types),
        }
        return OutputTabularDatasetConfig(self, fmt)

    def read_parquet_files(
        self,
        include_path: bool = False,
        partition_format: str | None = None,
        path_glob: str | None = None,
        set_column_types: Mapping[str, Any] | None = None,
    ) -> OutputTabularDatasetConfig:
        """Return a view of this output as a tabular dataset read from parquet files."""
        fmt = {
            "kind": "parquet",
            "includePath": bool(include_path),
            "pathGlob": path_glob,
            "partitionFormat": _checked_format(partition_format),
            "setColumnTypes": column_types(set_column_types),
        }
        return OutputTabularDatasetConfig(self, fmt)

    def read_json_lines_files(
        self, include_path: bool = False, path_glob: str | None = None, **kwargs: Any
    ) -> OutputTabularDatasetConfig:
        """Return a view of this output as a tabular dataset read from JSON-lines files."""
        return OutputTabularDatasetConfig(
            self, {"kind": "json_lines", "includePath": bool(include_path), "pathGlob": path_glob}
        )

    def __repr__(self) -> str:
        return (
            f"OutputFileDatasetConfig(name={self.name!r}, "
            f"destination=({self.datastore_name!r}, {self.path_on_datastore!r}))"
        )


class OutputTabularDatasetConfig:
    """A tabular view of an OutputFileDatasetConfig, consumed with ``as_input(name)``."""

    _consumed_as_dataset = True

    def __init__(
        self, output: OutputFileDatasetConfig, fmt: Mapping[str, Any], transforms: Sequence[Mapping[str, Any]] = ()
    ) -> None:
        self.output = output
        self.format = dict(fmt)
        self.transforms = [dict(t) for t in transforms]

    @property
    def name(self) -> str | None:
        """The name of the underlying output."""
        return self.output.name

    def as_input(self, name: str | None = None) -> DatasetConsumptionConfig:
        """Return this view as the input of a later step; the step gets a TabularDataset."""
        return DatasetConsumptionConfig(name or self.output._input_name(), self)

    def keep_columns(self, columns: str | Sequence[str]) -> OutputTabularDatasetConfig:
        """Return a view with only ``columns``."""
        return self._then({"kind": "keep_columns", "columns": [columns] if isinstance(columns, str) else list(columns)})

    def drop_columns(self, columns: str | Sequence[str]) -> OutputTabularDatasetConfig:
        """Return a view without ``columns``."""
        return self._then({"kind": "drop_columns", "columns": [columns] if isinstance(columns, str) else list(columns)})

    def random_split(
        self, percentage: float, seed: int | None = None
    ) -> tuple[OutputTabularDatasetConfig, OutputTabularDatasetConfig]:
        """Return two views holding about ``percentage`` and ``1 - percentage`` of the rows."""
        split = {"kind": "random_split", "percentage": float(percentage), "seed": seed}
        return self._then({**split, "part": 0}), self._then({**split, "part": 1})

    def register_on_complete(
        self, name: str, description: str | None = None, tags: Mapping[str, str] | None = None
    ) -> OutputTabularDatasetConfig:
        """Register the output as tabular dataset ``name`` after the step succeeds."""
        self.output.register_on_complete(name, description, tags)
        assert self.output.registration is not None
        self.output.registration.update(datasetType="tabular", format=self.format, transforms=self.transforms)
        return self

    def _then(self, transform: Mapping[str, Any]) -> OutputTabularDatasetConfig:
        return OutputTabularDatasetConfig(self.output, self.format, [*self.transforms, transform])

    def as_mount(self) -> OutputTabularDatasetConfig:
        """A tabular view cannot be mounted; consume it with as_input()."""
        raise NotSupportedError("OutputTabularDatasetConfig.as_mount", "Use as_input(name) instead.")

    def __repr__(self) -> str:
        return f"OutputTabularDatasetConfig(output={self.output!r}, format={self.format.get('kind')!r})"


def _checked_format(partition_format: str | None) -> str | None:
    if partition_format is not None:
        parse_partition_format(partition_format)
    return partition_format


HDFSOutputDatasetConfig = unsupported_class(
    "HDFSOutputDatasetConfig", __name__, "Write outputs with OutputFileDatasetConfig instead."
)
