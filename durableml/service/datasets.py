"""Registered datasets (name + version → definition) and resolving a definition to the files behind it.

A definition is the SDK's dataset document (``datasetType``, ``paths`` of ``{"datastore", "path"}``,
``format``, ``transforms``). Paths may be a file, a folder (every file under it) or a glob (``*``, ``?``,
``**``). Each resolved file carries its path relative to the dataset's root (the folder part before
the first wildcard), which is where downloads put it, as v1 does.
"""

from __future__ import annotations

import fnmatch
import json
import uuid
from typing import Any, Mapping, Optional

from durableml.data import expressions, layout, url_fetch
from durableml.data.partitions import parse_partition_format
from durableml._names import check_blob_prefix, check_lookup_name
from durableml.exceptions import ConflictError, DatasetNotFoundError, ValidationError
from durableml.service import datastores
from durableml.service.records import records
from durableml.service.runs import utc_now

TABLE, BY_ID = "dmlDatasets", "dmlDatasetIds"


def _version_key(version: int) -> str:
    return f"{version:08d}"


def _versions(name: str) -> list[dict[str, Any]]:
    return sorted(records().query(TABLE, name), key=lambda r: int(r["version"]))


def register(
    definition: Mapping[str, Any],
    name: str,
    description: Optional[str],
    tags: Optional[Mapping[str, str]],
    create_new_version: bool,
) -> dict[str, Any]:
    """Register ``definition`` as ``name``: v1 rules for versions (same definition → the existing one)."""
    if not name or not isinstance(name, str):
        raise ValidationError("a dataset needs a name, e.g. dataset.register(ws, name='iris')")
    check_lookup_name(name, "dataset")
    check_definition(definition)
    if definition.get("datasetType") not in ("file", "tabular") or not (
        definition.get("paths") or definition.get("sql")
    ):
        raise ValidationError(
            "a dataset definition needs datasetType 'file' or 'tabular' and at least one path (or a SQL query)"
        )
    check_operations(definition)
    core = _core(definition)
    existing = _versions(name)
    if existing:
        latest = existing[-1]
        if _core(latest["definition"]) == core:
            return latest
        if not create_new_version:
            raise ConflictError(
                f"a dataset named '{name}' already exists with a different definition; pass "
                "create_new_version=True to register this one as version "
                f"{int(latest['version']) + 1}"
            )
    version = int(existing[-1]["version"]) + 1 if existing else 1
    dataset_id = str(uuid.uuid4())
    record = {
        "id": dataset_id,
        "name": name,
        "version": version,
        "description": description,
        "tags": dict(tags or {}),
        "created": utc_now(),
        "definition": {**definition, "id": dataset_id, "name": name, "version": version},
    }
    records().put(TABLE, name, _version_key(version), record)
    records().put(BY_ID, "id", dataset_id, {"name": name, "version": version})
    return record


_COLUMN_TYPES = ("string", "long", "float", "bool", "datetime")


def check_definition(definition: Any) -> None:
    """Refuse a definition that is not a dataset document (a client may send any JSON): an object whose ``paths``
    are ``{"datastore", "path"}`` or ``{"url"}`` objects, each path a safe path in its datastore."""
    if not isinstance(definition, Mapping):
        raise ValidationError(
            "a dataset definition must be a JSON object with 'datasetType' and 'paths' (or 'sql'), got "
            f"{type(definition).__name__} {str(definition)[:80]}"
        )
    paths = definition.get("paths")
    if paths is not None and not isinstance(paths, list):
        raise ValidationError(f"a dataset definition's 'paths' must be a list, got {type(paths).__name__}")
    for index, entry in enumerate(paths or ()):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("url", entry.get("path")), str):
            raise ValidationError(
                f"paths[{index}] of a dataset definition must be {{'datastore': name, 'path': 'folder/file.csv'}} "
                f"or {{'url': 'https://...'}}, got {str(entry)[:80]}"
            )
        if "url" not in entry:
            check_blob_prefix(entry["path"], f"paths[{index}].path")
            if entry.get("datastore") is not None:
                check_lookup_name(entry["datastore"], f"paths[{index}].datastore")
    for key in ("sql", "format"):
        if definition.get(key) is not None and not isinstance(definition[key], Mapping):
            raise ValidationError(f"a dataset definition's {key!r} must be an object, got {definition[key]!r}")
    if definition.get("transforms") is not None and not isinstance(definition["transforms"], list):
        raise ValidationError(f"a dataset definition's 'transforms' must be a list, got {definition['transforms']!r}")


def check_operations(definition: Mapping[str, Any]) -> None:
    """Refuse a definition whose partition format, column types or filter records are malformed (a client may
    send any JSON): they are data, checked here and again where they are applied, never code."""
    check_definition(definition)
    fmt = definition.get("format") or {}
    if not isinstance(fmt, Mapping):
        raise ValidationError(f"a dataset's format is a record, got {fmt!r}")
    for text in (definition.get("partitionFormat"), fmt.get("partitionFormat")):
        if text is not None:
            parse_partition_format(str(text))
    for column, kind in dict(fmt.get("setColumnTypes") or {}).items():
        name = kind.get("type") if isinstance(kind, Mapping) else kind
        if name not in _COLUMN_TYPES:
            raise ValidationError(f"column {column!r}: unknown column type {kind!r}; use one of {_COLUMN_TYPES}")
    for transform in definition.get("transforms") or []:
        if isinstance(transform, Mapping) and transform.get("kind") == "filter":
            expressions.check(transform.get("expression"))


_SAVED_NAMESPACE = uuid.UUID("0b9f3c52-4d1e-4f7a-9a39-2f8f1d6c7e44")


def save(definition: Mapping[str, Any]) -> str:
    """The id of ``definition`` as an unregistered ("saved") dataset, recorded so that it can be used later by
    id (``Dataset.get_by_id``, v1 REST ``SavedDataSetReference``), as v1 gives every dataset a run used one.

    The id is the one the definition carries (the SDK gives each dataset one; a registered dataset keeps its
    own), else one derived from the definition, so saving the same definition again changes nothing."""
    if definition.get("datasetType") not in ("file", "tabular") or not (
        definition.get("paths") or definition.get("sql")
    ):
        raise ValidationError(
            "a dataset definition needs datasetType 'file' or 'tabular' and at least one path (or a SQL query)"
        )
    check_operations(definition)
    dataset_id = str(definition.get("id") or uuid.uuid5(_SAVED_NAMESPACE, _core(definition)))
    if records().get(BY_ID, "id", dataset_id) is not None:  # registered, or saved before
        return dataset_id
    saved = {k: v for k, v in definition.items() if k not in ("name", "version")}
    records().put(BY_ID, "id", dataset_id, {"saved": True, "definition": {**saved, "id": dataset_id}})
    return dataset_id


def _saved(dataset_id: str, ref: Mapping[str, Any]) -> dict[str, Any]:
    """The record of an unregistered dataset saved by :func:`save` (no name, no version)."""
    return {"id": dataset_id, "name": None, "version": None, "description": None, "tags": {}, "created": None,
            "definition": dict(ref["definition"])}  # fmt: skip


def _core(definition: Mapping[str, Any]) -> str:
    """The parts of a definition that make it a different dataset (not its id, name or version)."""
    return json.dumps({k: v for k, v in definition.items() if k not in ("id", "name", "version")}, sort_keys=True)


def get(
    name: Optional[str] = None, version: Optional[int | str] = None, dataset_id: Optional[str] = None
) -> dict[str, Any]:
    if dataset_id:
        ref = records().get(BY_ID, "id", dataset_id)
        if ref is None:
            raise DatasetNotFoundError(f"no dataset with id '{dataset_id}'")
        if ref.get("saved"):
            return _saved(dataset_id, ref)
        name, version = ref["name"], ref["version"]
    if not name:
        raise ValidationError("give a dataset name or id")
    found = _versions(name)
    if not found:
        raise DatasetNotFoundError(f"no dataset named '{name}'; register it with dataset.register(ws, name='{name}')")
    if version in (None, "", "latest"):
        return found[-1]
    match = [r for r in found if str(r["version"]) == str(version)]
    if not match:
        raise DatasetNotFoundError(
            f"dataset '{name}' has no version {version}; versions: {', '.join(str(r['version']) for r in found)}"
        )
    return match[0]


def list_latest() -> list[dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for ref in records().query(BY_ID, "id"):
        if ref.get("saved"):  # used by a run, never registered: not listed (v1 lists registered datasets)
            continue
        record = get(ref["name"], ref["version"])
        if ref["name"] not in latest or record["version"] > latest[ref["name"]]["version"]:
            latest[ref["name"]] = record
    return sorted(latest.values(), key=lambda r: r["name"])


def files(definition: Mapping[str, Any]) -> list[dict[str, str]]:
    """Every file behind a definition: ``{"datastore", "path", "relative"}``; missing paths are an error.

    ``relative`` is where the file lands when the dataset is mounted or downloaded: v1's layout rule
    (durableml.data.layout), the same one the step runner stages inputs with. A FileDataset's ``take``/``skip``
    select among its files in that order, as when a step stages it.
    """
    check_definition(definition)
    if definition.get("sql"):
        return [_sql_rows(definition["sql"])]
    check_operations(definition)
    selected: list[tuple[str, str, list[str]]] = []
    for entry in definition.get("paths") or []:
        store = entry.get("datastore")
        path = str(entry.get("path") or "").lstrip("/")
        matches = _resolve(store, path)
        if not matches:
            raise DatasetNotFoundError(
                f"the dataset path '{path}' on datastore '{store}' matches no files; upload "
                "the data first or fix the path"
            )
        selected.append((datastores.get_datastore(store)["name"], path, matches))
    folder = layout.common_folder(layout.path_folder(path, matches) for _, path, matches in selected)
    found = [
        {"datastore": store, "path": m, "relative": layout.relative_to(m, folder)}
        for store, _, matches in selected
        for m in matches
    ]
    if definition.get("datasetType") == "tabular":
        return found  # take/skip count rows of a TabularDataset: applied where its rows are read
    return url_fetch.select_files(found, definition.get("transforms") or [])  # a FileDataset's take/skip: files


def _sql_rows(sql: Mapping[str, Any]) -> dict[str, str]:
    """Run a SQL dataset's query on its datastore's server into a CSV file of the workspace datastore
    (``azureml/sql-results/<hash of datastore and query>.csv``, overwritten at each read) for the client to
    download. The connection text with its password stays in this process."""
    import hashlib
    import os
    import tempfile

    from durableml import sql_sources

    store = str(sql.get("datastore") or "")
    conn = datastores.sql_connection(store)
    key = hashlib.sha256(json.dumps([store, sql.get("query"), sql.get("table")]).encode()).hexdigest()[:32]
    path = f"azureml/sql-results/{key}.csv"
    with tempfile.TemporaryDirectory(prefix="durableml-sql-") as tmp:
        local = os.path.join(tmp, "rows.csv")
        timeout = sql.get("timeout")
        sql_sources.query_to_csv(conn, sql, local, float(timeout) if timeout else None)
        with open(local, "rb") as f:
            datastores.upload(datastores.DEFAULT_NAME, path, f.read(), overwrite=True)
    return {"datastore": datastores.DEFAULT_NAME, "path": path, "relative": "query.csv"}


def _resolve(store: Optional[str], path: str) -> list[str]:
    if layout.has_wildcard(path):
        prefix = layout.path_folder(path, [])
        pattern = path.replace("**/", "*")
        return sorted(n for n in datastores.list_files(store, prefix) if fnmatch.fnmatchcase(n, pattern))
    names = sorted(datastores.list_files(store, path))
    if path in names:
        return [path]
    return [n for n in names if n.startswith(path.rstrip("/") + "/")]
