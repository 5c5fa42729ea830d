"""Dataset factories: ``Dataset.File.from_files`` and ``Dataset.Tabular.from_delimited_files``.

A path may be a ``(datastore, "path/or/glob*.csv")`` tuple, a DataPath, a DataReference
(``datastore.path(...)``), an ``http(s)://`` URL, or a list of any of these. Factories only build a
definition; ``validate=True`` is recorded, and missing files surface when the data is read.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from durableml.data.data_reference import DataReference
from durableml.data.datapath import DataPath
from durableml.data.file_dataset import FileDataset
from durableml.data.tabular_dataset import TabularDataset
from durableml.data.column_types import DataType, column_types
from durableml.data.partitions import parse_partition_format
from durableml.exceptions import ValidationError

if TYPE_CHECKING:
    from durableml._handles import DatastoreHandle, WorkspaceHandle

__all__ = ["FileDatasetFactory", "TabularDatasetFactory", "DataType", "normalize_paths"]

_URL_PREFIXES = ("http://", "https://", "wasbs://", "abfss://", "azureml://")


def normalize_paths(path: Any) -> tuple[list[dict[str, str]], WorkspaceHandle | None]:
    """Turn every accepted path form into ``{"datastore", "path"}`` / ``{"url"}`` entries.

    Also returns the workspace of the first datastore seen, which reads will go through.
    """
    items = path if isinstance(path, list) else [path]
    if not items:
        raise ValidationError("A dataset needs at least one path; got an empty list.")
    entries: list[dict[str, str]] = []
    workspace: WorkspaceHandle | None = None
    for item in items:
        entry, datastore = _one_path(item)
        entries.append(entry)
        if workspace is None and datastore is not None:
            workspace = getattr(datastore, "workspace", None)
    return entries, workspace


def _one_path(item: Any) -> tuple[dict[str, str], DatastoreHandle | None]:
    if isinstance(item, (DataPath, DataReference)):
        return {"datastore": item.datastore_name, "path": item.to_dict()["path"]}, item.datastore
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], str) and hasattr(item[0], "name"):
        return {"datastore": str(item[0].name), "path": item[1].lstrip("/")}, item[0]
    if isinstance(item, str) and item.startswith(_URL_PREFIXES):
        return {"url": item}, None
    raise ValidationError(
        f"Dataset path {item!r} is not supported: use (datastore, 'path/or/glob'), a DataPath, "
        "datastore.path('...'), or an http(s):// URL."
    )


def _definition(
    path: Any, fmt: Mapping[str, Any], partition_format: str | None, validate: bool
) -> tuple[dict[str, Any], Any]:
    if partition_format is not None:
        parse_partition_format(partition_format)  # v1's checks and messages, at definition time
    paths, workspace = normalize_paths(path)
    definition = {"paths": paths, "format": dict(fmt), "partitionFormat": partition_format, "validate": bool(validate)}
    return definition, workspace


class FileDatasetFactory:
    """Creates FileDatasets (``Dataset.File``)."""

    @staticmethod
    def from_files(
        path: Any, validate: bool = True, partition_format: str | None = None, is_file: bool = False
    ) -> FileDataset:
        """Define a FileDataset over files or globs on datastores or URLs."""
        definition, workspace = _definition(
            path, {"kind": "files", "isFile": bool(is_file)}, partition_format, validate
        )
        return FileDataset(definition, workspace)

    @staticmethod
    def upload_directory(
        src_dir: str, target: Any, pattern: str | None = None, overwrite: bool = False, show_progress: bool = True
    ) -> FileDataset:
        """Upload ``src_dir`` to ``target`` ((datastore, path) or DataPath); return a FileDataset over it."""
        entries, _ = normalize_paths(target)
        datastore = target[0] if isinstance(target, tuple) else target.datastore
        datastore.upload(src_dir, target_path=entries[0]["path"], overwrite=overwrite, show_progress=show_progress)
        return FileDatasetFactory.from_files((datastore, entries[0]["path"].rstrip("/") + "/" + (pattern or "**")))


class TabularDatasetFactory:
    """Creates TabularDatasets (``Dataset.Tabular``)."""

    @staticmethod
    def from_delimited_files(
        path: Any,
        validate: bool = True,
        include_path: bool = False,
        infer_column_types: bool = True,
        set_column_types: Mapping[str, Any] | None = None,
        separator: str = ",",
        header: Any = True,
        partition_format: str | None = None,
        support_multi_line: bool = False,
        empty_as_string: bool = False,
        encoding: str = "utf8",
    ) -> TabularDataset:
        """Define a TabularDataset over delimited (CSV/TSV) files."""
        fmt = {
            "kind": "delimited",
            "separator": separator,
            "header": bool(header),
            "includePath": bool(include_path),
            "inferColumnTypes": bool(infer_column_types),
            "setColumnTypes": column_types(set_column_types),
            "supportMultiLine": bool(support_multi_line),
            "emptyAsString": bool(empty_as_string),
            "encoding": encoding,
        }
        definition, workspace = _definition(path, fmt, partition_format, validate)
        return TabularDataset(definition, workspace)

    @staticmethod
    def from_parquet_files(
        path: Any,
        validate: bool = True,
        include_path: bool = False,
        set_column_types: Mapping[str, Any] | None = None,
        partition_format: str | None = None,
    ) -> TabularDataset:
        """Define a TabularDataset over parquet files."""
        fmt = {"kind": "parquet", "includePath": bool(include_path), "setColumnTypes": column_types(set_column_types)}
        definition, workspace = _definition(path, fmt, partition_format, validate)
        return TabularDataset(definition, workspace)

    @staticmethod
    def from_json_lines_files(
        path: Any,
        validate: bool = True,
        include_path: bool = False,
        set_column_types: Mapping[str, Any] | None = None,
        partition_format: str | None = None,
        invalid_lines: str = "error",
        encoding: str = "utf8",
    ) -> TabularDataset:
        """Define a TabularDataset over JSON-lines files."""
        fmt = {
            "kind": "json_lines",
            "includePath": bool(include_path),
            "setColumnTypes": column_types(set_column_types),
            "encoding": encoding,
        }
        definition, workspace = _definition(path, fmt, partition_format, validate)
        return TabularDataset(definition, workspace)

    @staticmethod
    def from_sql_query(
        query: Any,
        validate: bool = True,
        set_column_types: Mapping[str, Any] | None = None,
        query_timeout: int = 30,
    ) -> TabularDataset:
        """Define a TabularDataset over the rows of a query on a SQL datastore: ``(datastore, "SELECT ...")`` or
        a DataPath of one. The query runs where the data is read (the service for ``to_pandas_dataframe``,
        the step's compute for a step input), each time it is read."""
        if isinstance(query, (DataPath, DataReference)):
            datastore, text = query.datastore, str(query.to_dict()["path"] or "")
        elif isinstance(query, tuple) and len(query) == 2 and isinstance(query[1], str) and hasattr(query[0], "name"):
            datastore, text = query
        else:
            raise ValidationError(
                f"from_sql_query needs (datastore, 'SELECT ...') or a DataPath of a SQL datastore, got {query!r}."
            )
        if not text.strip():
            raise ValidationError("from_sql_query needs a non-empty query.")
        kind = str(getattr(datastore, "datastore_type", "") or "")
        if kind and kind not in ("AzureSqlDatabase", "AzurePostgreSql", "AzureMySql"):
            raise ValidationError(
                f"from_sql_query needs a SQL datastore (Azure SQL Database, PostgreSQL or MySQL); "
                f"'{datastore.name}' is a {kind} datastore."
            )
        definition: dict[str, Any] = {
            "paths": [],
            "format": {"kind": "sql", "setColumnTypes": column_types(set_column_types)},
            "sql": {"datastore": str(datastore.name), "query": text, "timeout": int(query_timeout)},
            "partitionFormat": None,
            "validate": bool(validate),
        }
        return TabularDataset(definition, getattr(datastore, "workspace", None))

    @staticmethod
    def register_pandas_dataframe(
        dataframe: Any,
        target: Any,
        name: str,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        show_progress: bool = True,
    ) -> TabularDataset:
        """Upload ``dataframe`` as CSV to ``target`` ((datastore, path) or DataPath) and register it."""
        entries, _ = normalize_paths(target)
        datastore = target[0] if isinstance(target, tuple) else target.datastore
        folder = entries[0]["path"].rstrip("/")
        with tempfile.TemporaryDirectory(prefix="durableml-df-") as tmp:
            local = os.path.join(tmp, f"{name}.csv")
            dataframe.to_csv(local, index=False)
            datastore.upload_files([local], target_path=folder, overwrite=True, show_progress=show_progress)
        dataset = TabularDatasetFactory.from_delimited_files((datastore, f"{folder}/{name}.csv"))
        return dataset.register(datastore.workspace, name, description, tags, create_new_version=True)
