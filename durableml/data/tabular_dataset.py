"""TabularDataset: delimited, parquet or JSON-lines files read as one table."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from typing import Any

from durableml.data.abstract_dataset import AbstractDataset
from durableml.exceptions import NotSupportedError, ValidationError

__all__ = ["TabularDataset"]


class TabularDataset(AbstractDataset):
    """A table read from files; in a step, ``run.input_datasets[name]`` is a TabularDataset."""

    _dataset_type = "tabular"
    _local_files: list[str] | None = None  # set for step inputs the runner already staged

    def to_pandas_dataframe(self, on_error: str = "null", out_of_range_datetime: str = "null") -> Any:
        """Read the data into a pandas DataFrame (needs pandas; outside steps, the workspace's service)."""
        from durableml.data.tabular_reader import read_dataframe

        if self._local_files is not None:
            return read_dataframe(self._local_files, self._definition)
        if not self._url_files():
            client = self._client("TabularDataset.to_pandas_dataframe")
            with tempfile.TemporaryDirectory(prefix="durableml-tabular-") as target:
                return read_dataframe(client.download_dataset(self._definition, target, True), self._definition)
        rest = self._datastore_part()  # http(s) files are fetched here, the datastore files through the service
        with tempfile.TemporaryDirectory(prefix="durableml-tabular-") as target:
            files = self._fetch_urls(target, True)
            if rest:
                files += self._client("TabularDataset.to_pandas_dataframe").download_dataset(rest, target, True)
            return read_dataframe(files, self._definition)

    def keep_columns(self, columns: str | Sequence[str], validate: bool = False) -> TabularDataset:
        """Return a dataset with only ``columns``."""
        return self._with_transform({"kind": "keep_columns", "columns": _columns(columns)})

    def drop_columns(self, columns: str | Sequence[str]) -> TabularDataset:
        """Return a dataset without ``columns``."""
        return self._with_transform({"kind": "drop_columns", "columns": _columns(columns)})

    def partition_by(
        self, partition_keys: Sequence[str], target: Any, name: str | None = None, **kwargs: Any
    ) -> TabularDataset:
        """Re-partitioning a dataset on the service is not supported yet."""
        raise NotSupportedError("TabularDataset.partition_by", "Partition the files in a PythonScriptStep instead.")

    def to_csv_files(self, separator: str = ",") -> Any:
        """Conversion to files is not supported yet."""
        raise NotSupportedError("TabularDataset.to_csv_files")

    def to_parquet_files(self) -> Any:
        """Conversion to files is not supported yet."""
        raise NotSupportedError("TabularDataset.to_parquet_files")


def _columns(columns: str | Sequence[str]) -> list[str]:
    names = [columns] if isinstance(columns, str) else list(columns)
    if not names or not all(isinstance(c, str) and c for c in names):
        raise ValidationError(f"columns must be a column name or a list of column names, got {columns!r}.")
    return names
