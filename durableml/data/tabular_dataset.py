"""TabularDataset: delimited, parquet or JSON-lines files read as one table."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Sequence
from typing import Any

from durableml.data.abstract_dataset import AbstractDataset
from durableml.data.data_reference import DataReference
from durableml.data.datapath import DataPath
from durableml.data.expressions import FilterExpression, check
from durableml.data.file_dataset import FileDataset
from durableml.exceptions import NotSupportedError, ValidationError

__all__ = ["TabularDataset"]


class TabularDataset(AbstractDataset):
    """A table read from files; in a step, ``run.input_datasets[name]`` is a TabularDataset."""

    _dataset_type = "tabular"
    _local_files: list[str] | None = None  # set for step inputs the runner already staged
    _local_root: str | None = None  # the folder (or file) they were staged to

    def to_pandas_dataframe(self, on_error: str = "null", out_of_range_datetime: str = "null") -> Any:
        """Read the data into a pandas DataFrame (needs pandas; outside steps, the workspace's service).

        Column types set with ``set_column_types`` apply: a value that does not convert is null, or with
        ``on_error='fail'`` an error naming it; partition key columns (``partition_format``) are added."""
        from durableml.data.tabular_reader import read_dataframe

        options = {"on_error": on_error, "out_of_range_datetime": out_of_range_datetime}
        if self._local_files is not None:
            return read_dataframe(self._local_files, self._definition, self._local_root, **options)
        if not self._url_files():
            client = self._client("TabularDataset.to_pandas_dataframe")
            with tempfile.TemporaryDirectory(prefix="durableml-tabular-") as target:
                files = client.download_dataset(self._definition, target, True)
                return read_dataframe(files, self._definition, target, **options)
        rest = self._datastore_part()  # http(s) files are fetched here, the datastore files through the service
        with tempfile.TemporaryDirectory(prefix="durableml-tabular-") as target:
            files = self._fetch_urls(target, True)
            if rest:
                files += self._client("TabularDataset.to_pandas_dataframe").download_dataset(rest, target, True)
            return read_dataframe(files, self._definition, target, **options)

    def filter(self, expression: FilterExpression) -> TabularDataset:
        """Keep the records that match ``expression``, built from the dataset's columns as in v1:
        ``ds.filter((ds['age'] > 30) & ds['state'].starts_with('C'))``; partition key columns work too.

        The expression is kept in the definition as a typed record and applied wherever the data is read
        (``to_pandas_dataframe``, a step input)."""
        if not isinstance(expression, FilterExpression):
            raise ValidationError(
                f"filter takes an expression built from the dataset's columns, such as dataset['col'] > 5, "
                f"not {expression!r}."
            )
        return self._with_transform({"kind": "filter", "expression": check(expression.to_dict())})

    def keep_columns(self, columns: str | Sequence[str], validate: bool = False) -> TabularDataset:
        """Return a dataset with only ``columns``."""
        return self._with_transform({"kind": "keep_columns", "columns": _columns(columns)})

    def drop_columns(self, columns: str | Sequence[str]) -> TabularDataset:
        """Return a dataset without ``columns``."""
        return self._with_transform({"kind": "drop_columns", "columns": _columns(columns)})

    def take_sample(self, probability: float, seed: int | None = None) -> TabularDataset:
        """Return a dataset of a random sample: each record is kept with ``probability`` (v1)."""
        if not isinstance(probability, (int, float)) or not 0 < probability <= 1:
            raise ValidationError(f"take_sample probability must be in (0, 1], got {probability!r}.")
        return self._with_transform({"kind": "take_sample", "probability": float(probability), "seed": seed})

    def with_timestamp_columns(
        self,
        timestamp: str | None = None,
        partition_timestamp: str | None = None,
        validate: bool = False,
        **kwargs: Any,
    ) -> TabularDataset:
        """Name the column the time filters (``time_before`` ...) use; ``timestamp=None`` clears it (v1)."""
        column = timestamp if timestamp is not None else partition_timestamp
        if column is not None and (not isinstance(column, str) or not column):
            raise ValidationError(f"with_timestamp_columns timestamp must be a column name, got {column!r}.")
        return self._with_transform({"kind": "timestamp_column", "column": column})

    @property
    def timestamp_columns(self) -> tuple[str | None, str | None]:
        """``(timestamp, partition_timestamp)`` as v1 returns them."""
        column = None
        for transform in self._definition.get("transforms") or []:
            if transform.get("kind") == "timestamp_column":
                column = transform.get("column")
        return (column, None)

    def time_before(self, end_time: Any, include_boundary: bool = True, validate: bool = True) -> TabularDataset:
        """Records whose timestamp column is before ``end_time`` (at it too with ``include_boundary``)."""
        return self._time_filter(None, end_time, include_boundary)

    def time_after(self, start_time: Any, include_boundary: bool = True, validate: bool = True) -> TabularDataset:
        """Records whose timestamp column is after ``start_time`` (at it too with ``include_boundary``)."""
        return self._time_filter(start_time, None, include_boundary)

    def time_between(
        self, start_time: Any, end_time: Any, include_boundary: bool = True, validate: bool = True
    ) -> TabularDataset:
        """Records whose timestamp column lies between ``start_time`` and ``end_time``."""
        return self._time_filter(start_time, end_time, include_boundary)

    def time_recent(self, time_delta: Any, include_boundary: bool = True, validate: bool = True) -> TabularDataset:
        """Records of the last ``time_delta`` (a ``datetime.timedelta``) before the data is read."""
        seconds = getattr(time_delta, "total_seconds", None)
        if seconds is None or seconds() <= 0:
            raise ValidationError(f"time_recent needs a positive datetime.timedelta, got {time_delta!r}.")
        self._timestamp_column("time_recent")
        return self._with_transform({"kind": "time_recent", "seconds": seconds(), "includeBoundary": include_boundary})

    def _time_filter(self, start: Any, end: Any, include_boundary: bool) -> TabularDataset:
        column = self._timestamp_column("time filters")
        bounds = {"after": _instant(start, "start_time"), "before": _instant(end, "end_time")}
        return self._with_transform({"kind": "time_filter", "column": column, **bounds,
                                     "includeBoundary": bool(include_boundary)})  # fmt: skip

    def _timestamp_column(self, what: str) -> str:
        column = self.timestamp_columns[0]
        if not column:
            raise ValidationError(
                f"{what} need a timestamp column: call with_timestamp_columns(timestamp='<column>') first."
            )
        return column

    def partition_by(
        self,
        partition_keys: Sequence[str],
        target: Any,
        name: str | None = None,
        show_progress: bool = True,
        partition_as_file_dataset: bool = False,
    ) -> AbstractDataset:
        """Copy the data to parquet files partitioned by ``partition_keys`` below ``target`` (a DataPath or
        ``(datastore, path)``), in a new folder ``<path>/<guid>/<value>/.../*.parquet`` as v1 writes them; return
        a TabularDataset (a FileDataset with ``partition_as_file_dataset``) over them whose ``partition_format``
        gives the key columns back, registered as ``name`` (a new version) when given.

        The data is read here (``to_pandas_dataframe``), written by DuckDB, and uploaded with the datastore."""
        from durableml.data.partition_writer import write_partitions

        keys = [partition_keys] if isinstance(partition_keys, str) else list(partition_keys)
        datastore, folder = _target(target)
        _progress(show_progress, "Validating arguments.")
        if not keys:
            raise ValidationError("partition_keys cannot be empty")
        frame = self.to_pandas_dataframe()
        invalid = [k for k in keys if k not in frame.columns]
        if invalid:
            raise ValidationError(f"{invalid} are invalid partition keys")
        if len(keys) != len(set(keys)):
            raise ValidationError("partition_keys cannot have duplicates")
        _progress(show_progress, "Arguments validated.")
        root = "/".join(p for p in (folder.strip("/"), str(uuid.uuid4())) if p)
        with tempfile.TemporaryDirectory(prefix="durableml-partition-") as local:
            written = write_partitions(frame, keys, local)
            _progress(show_progress, f"Uploading file to /{root}/")
            datastore.upload(local, target_path=root, overwrite=True, show_progress=show_progress)
        _progress(show_progress, "Successfully uploaded file to datastore.")
        dates = set(written.date_keys)
        fmt = f"/{root}/" + "".join(f"{{{k}:yyyyMMddHHmmss}}*/" if k in dates else f"{{{k}}}/" for k in keys)
        definition: dict[str, Any] = {
            "paths": [{"datastore": str(datastore.name), "path": f"{root}/" + "*/" * len(keys) + "*.parquet"}],
            "partitionFormat": fmt + "*.parquet",
            "validate": True,
        }
        dataset: AbstractDataset
        if partition_as_file_dataset:
            dataset = FileDataset({**definition, "format": {"kind": "files", "isFile": False}}, self._workspace)
        else:
            fmt_record = {"kind": "parquet", "includePath": False, "setColumnTypes": written.key_types}
            dataset = TabularDataset({**definition, "format": fmt_record}, self._workspace)
        if name is None:
            return dataset
        workspace = getattr(datastore, "workspace", None) or self._workspace
        if workspace is None:
            raise ValidationError(f"partition_by cannot register {name!r}: the target datastore knows no workspace.")
        return dataset.register(workspace, name, create_new_version=True)

    def to_csv_files(self, separator: str = ",") -> Any:
        """Conversion to files is not supported yet."""
        raise NotSupportedError("TabularDataset.to_csv_files")

    def to_parquet_files(self) -> Any:
        """Conversion to files is not supported yet."""
        raise NotSupportedError("TabularDataset.to_parquet_files")


def _target(target: Any) -> tuple[Any, str]:
    """``(datastore, folder)`` of a partition_by target: a DataPath / DataReference, ``(datastore, path)``, or a
    datastore (its root)."""
    if isinstance(target, (DataPath, DataReference)):
        return target.datastore, str(target.path_on_datastore or "")
    if isinstance(target, tuple) and len(target) == 2 and isinstance(target[1], str) and hasattr(target[0], "name"):
        return target[0], target[1]
    if hasattr(target, "upload") and hasattr(target, "name"):
        return target, ""
    raise ValidationError(
        f"partition_by target must be a DataPath, a (datastore, 'path') tuple or a datastore, got {target!r}."
    )


def _progress(show: bool, message: str) -> None:
    if show:
        print(message)


def _columns(columns: str | Sequence[str]) -> list[str]:
    names = [columns] if isinstance(columns, str) else list(columns)
    if not names or not all(isinstance(c, str) and c for c in names):
        raise ValidationError(f"columns must be a column name or a list of column names, got {columns!r}.")
    return names


def _instant(value: Any, what: str) -> str | None:
    """A time bound as ISO 8601 text (a ``datetime`` or a string pandas can read), or None."""
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValidationError(f"{what} must be a datetime, got {value!r}.")
