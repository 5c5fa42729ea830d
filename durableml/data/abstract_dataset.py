"""The dataset base class: a definition (paths, format, transforms) plus optional registration.

A dataset is lazy: it records *where* the data is and *how* to read it. Nothing is read at
definition time; reading (``download``, ``to_pandas_dataframe``) goes through the workspace's
service client. An unregistered dataset has an id derived from its definition, so the same
definition always has the same id (v1 user code reads ``ds.id`` before registering).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from durableml._canonical import content_uuid
from durableml.data import url_fetch
from durableml.data.dataset_consumption_config import DatasetConsumptionConfig
from durableml.data.expressions import ColumnExpression
from durableml.data.partitions import local_source_paths, parse_partition_format, source_path
from durableml.exceptions import ServiceNotConnectedError, ValidationError

if TYPE_CHECKING:
    from durableml._handles import WorkspaceHandle
    from durableml.client import ServiceClient

__all__ = ["AbstractDataset", "DATASET_TYPES"]

DATASET_TYPES = ("file", "tabular")
_D = TypeVar("_D", bound="AbstractDataset")


class AbstractDataset:
    """Base of FileDataset and TabularDataset.

    ``definition`` holds ``datasetType``, ``paths`` (``{"datastore", "path"}`` or ``{"url"}``),
    ``format``, ``partitionFormat`` and ``transforms``; ``registration`` holds ``id``, ``name``,
    ``version``, ``description``, ``tags`` once registered.
    """

    _dataset_type = ""
    _consumed_as_dataset = True  # a step input (see DatasetConsumptionConfig)

    def __init__(
        self,
        definition: Mapping[str, Any],
        workspace: WorkspaceHandle | None = None,
        registration: Mapping[str, Any] | None = None,
    ) -> None:
        self._definition = copy.deepcopy(dict(definition))
        self._definition["datasetType"] = self._dataset_type
        self._definition.setdefault("transforms", [])
        self._workspace = workspace
        self._registration = dict(registration or {})

    @property
    def id(self) -> str:
        """The registered id, or an id derived from the definition for unregistered datasets."""
        return str(self._registration.get("id") or content_uuid(self._definition))

    @property
    def name(self) -> str | None:
        """The registered name, or None."""
        return self._registration.get("name")

    @property
    def version(self) -> int | None:
        """The registered version, or None."""
        return self._registration.get("version")

    @property
    def description(self) -> str | None:
        """The registered description, or None."""
        return self._registration.get("description")

    @property
    def tags(self) -> dict[str, str]:
        """The registered tags."""
        return dict(self._registration.get("tags") or {})

    @property
    def workspace(self) -> WorkspaceHandle | None:
        """The workspace the dataset's datastores belong to, if known."""
        return self._workspace

    @property
    def _parameter_type(self) -> str:
        """Its type as a pipeline parameter's value (see durableml._parameter_values)."""
        return f"{self._dataset_type}_dataset"

    @property
    def partition_keys(self) -> list[str]:
        """The partition keys of ``partition_format``: its ``{key}`` columns, then its datetime one (v1's order)."""
        text = self._partition_format
        return list(parse_partition_format(text).columns) if text else []

    @property
    def _partition_format(self) -> str | None:
        text = self._definition.get("partitionFormat") or (self._definition.get("format") or {}).get("partitionFormat")
        return str(text) if text else None

    def get_partition_key_values(self, partition_keys: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The distinct values of ``partition_keys`` (all of the dataset's by default) over its files, read from
        their paths (no data is read): ``[{'state': 'CA', 'date': datetime(2020, 1, 1)}, ...]``, as v1."""
        if not self.partition_keys:
            raise ValidationError("cannot retrieve partition key values for a dataset that has no partition keys")
        keys = list(partition_keys) if partition_keys else self.partition_keys
        invalid = [k for k in keys if k not in self.partition_keys]
        if invalid:
            raise ValidationError(f"{invalid} are invalid partition keys")
        parsed = parse_partition_format(str(self._partition_format))
        seen: dict[tuple[Any, ...], dict[str, Any]] = {}
        for source in self._source_paths("get_partition_key_values"):
            values = parsed.values(source)
            if values is not None:
                picked = {k: values[k] for k in keys}
                seen.setdefault(tuple(picked.values()), picked)
        return list(seen.values())

    def _source_paths(self, operation: str) -> list[str]:
        """The datastore path (``/folder/file``) of each file of the dataset, for its partition values."""
        local_files, local_root = getattr(self, "_local_files", None), getattr(self, "_local_root", None)
        if local_files is not None and local_root is not None:  # a step's staged input
            return list(local_source_paths(self._definition, local_root, local_files).values())
        listed = [rel for _, rel in self._url_files()]
        rest = self._datastore_part()
        if rest:
            listed += self._client(f"{type(self).__name__}.{operation}").list_dataset_files(rest)
        return [source_path(self._definition, rel) for rel in listed]

    def __getitem__(self, column: str) -> ColumnExpression:
        """``dataset['col']``: a column to build a filter with (``dataset['age'] > 30``), as v1."""
        if not isinstance(column, str):
            raise TypeError(f"a dataset is indexed by a column name, got {column!r}.")
        return ColumnExpression(column)

    def __iter__(self) -> Iterator[Any]:
        raise TypeError(f"{type(self).__name__} is not iterable; read it with to_pandas_dataframe() or download().")

    @property
    def data_changed_time(self) -> str | None:
        """When the data last changed, as recorded by the service (None when unknown)."""
        return self._registration.get("dataChangedTime")

    def to_dict(self) -> dict[str, Any]:
        """Return the definition plus the registration identity (used in pipeline documents)."""
        result = copy.deepcopy(self._definition)
        result["id"] = self.id
        result["name"] = self.name
        result["version"] = self.version
        return result

    def as_named_input(self, name: str) -> DatasetConsumptionConfig:
        """Return this dataset as a step input called ``name`` (``run.input_datasets[name]``)."""
        return DatasetConsumptionConfig(name, self)

    def register(
        self: _D,
        workspace: WorkspaceHandle,
        name: str,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        create_new_version: bool = False,
    ) -> _D:
        """Register the definition under ``name`` in ``workspace``; return the registered dataset."""
        record = workspace._client.register_dataset(
            self._definition, name, description, dict(tags or {}), create_new_version
        )
        return type(self)(record.get("definition", self._definition), workspace, record)

    def take(self: _D, count: int) -> _D:
        """Return a dataset of the first ``count`` records (files for a FileDataset)."""
        return self._with_transform({"kind": "take", "count": _count(count, "take")})

    def skip(self: _D, count: int) -> _D:
        """Return a dataset without the first ``count`` records."""
        return self._with_transform({"kind": "skip", "count": _count(count, "skip")})

    def random_split(self: _D, percentage: float, seed: int | None = None) -> tuple[_D, _D]:
        """Split into two datasets holding about ``percentage`` and ``1 - percentage`` of the records."""
        if not isinstance(percentage, (int, float)) or not 0 < percentage < 1:
            raise ValidationError(f"random_split percentage must be between 0 and 1 (exclusive), got {percentage!r}.")
        split = {"kind": "random_split", "percentage": float(percentage), "seed": seed}
        return self._with_transform({**split, "part": 0}), self._with_transform({**split, "part": 1})

    def _with_transform(self: _D, transform: dict[str, Any]) -> _D:
        definition = copy.deepcopy(self._definition)
        definition["transforms"] = [*definition.get("transforms", []), transform]
        return type(self)(definition, self._workspace)

    def _url_files(self) -> list[tuple[str, str]]:
        """``(url, relative path)`` for each ``http(s)://`` path: user code fetches these itself (no service)."""
        urls = url_fetch.url_entries(self._definition)
        return url_fetch.url_layout(urls) if urls else []

    def _datastore_part(self) -> dict[str, Any] | None:
        """The definition without its URL paths (read through the service), or None when only URLs are left."""
        paths = [p for p in self._definition.get("paths") or [] if not p.get("url")]
        return {**self._definition, "paths": paths} if paths else None

    def _fetch_urls(self, target: str, overwrite: bool, ignore_not_found: bool = False) -> list[str]:
        """Fetch the URL files (a FileDataset's take/skip applied) below ``target``; their local paths."""
        placed = self._url_files()
        if self._dataset_type != "tabular":
            placed = url_fetch.select_files(placed, self._definition.get("transforms") or [])
        pairs = [(url, url_fetch.relative_dest(Path(target), rel)) for url, rel in placed]
        if not ignore_not_found:
            url_fetch.fetch_all(pairs, overwrite)
            return [str(dest) for _, dest in pairs]
        local = []
        for url, dest in pairs:
            try:
                url_fetch.fetch_all([(url, dest)], overwrite)
            except url_fetch.UrlFetchError as exc:
                if exc.status not in (404, 410):
                    raise
                continue
            local.append(str(dest))
        return local

    def _client(self, operation: str) -> ServiceClient:
        if self._workspace is None:
            raise ServiceNotConnectedError(
                f"{operation} reads data through a workspace, and dataset {self.id} knows none. "
                "Register it with dataset.register(ws, name) or define it over a datastore of the workspace."
            )
        return self._workspace._client

    def __repr__(self) -> str:
        label = f"name={self.name!r}, version={self.version!r}" if self.name else f"id={self.id!r}"
        return f"{type(self).__name__}({label}, paths={self._definition.get('paths')!r})"


def _count(count: object, what: str) -> int:
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValidationError(f"{what} count must be a non-negative integer, got {count!r}.")
    return count
