"""Dataset: the v1 entry point to dataset factories and registered datasets.

``Dataset.File.from_files(...)`` and ``Dataset.Tabular.from_delimited_files(...)`` define
datasets; ``Dataset.get_by_name(ws, name)`` and ``Dataset.get_by_id(ws, id)`` fetch registered
ones through the workspace's service client. Service records carry ``id``, ``name``,
``version``, ``description``, ``tags`` and ``definition``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from durableml.data.abstract_dataset import AbstractDataset
from durableml.data.dataset_factory import FileDatasetFactory, TabularDatasetFactory
from durableml.data.file_dataset import FileDataset
from durableml.data.tabular_dataset import TabularDataset
from durableml._http_errors import v1_lookup_error
from durableml.exceptions import DatasetNotFoundError, ValidationError

if TYPE_CHECKING:
    from durableml._handles import WorkspaceHandle

__all__ = ["Dataset", "dataset_from_record"]


def dataset_from_record(workspace: WorkspaceHandle, record: Mapping[str, Any]) -> AbstractDataset:
    """Build a FileDataset or TabularDataset from a service record."""
    definition = dict(record.get("definition") or {})
    kind = definition.get("datasetType")
    if kind == "file":
        return FileDataset(definition, workspace, record)
    if kind == "tabular":
        return TabularDataset(definition, workspace, record)
    raise ValidationError(f"Dataset record {record.get('name')!r} has unknown datasetType {kind!r}.")


class _Scenario:
    """Labels for datasets attached to a model (``Model.register(datasets=[(label, ds)])``)."""

    TRAINING = "training"
    VALIDATION = "validation"
    INFERENCE = "inference"


class Dataset:
    """Factories and lookups for datasets (v1 ``azureml.core.Dataset``)."""

    File = FileDatasetFactory
    Tabular = TabularDatasetFactory
    Scenario = _Scenario

    @staticmethod
    def get_by_name(workspace: WorkspaceHandle, name: str, version: str | int = "latest") -> AbstractDataset:
        """Return the registered dataset ``name`` (the latest version unless ``version`` is given).

        A missing one raises ``DatasetNotFoundError`` (a ``UserErrorException``, as v1), in v1's words.
        """
        wanted = None if version in ("latest", None) else version
        try:
            record = workspace._client.get_dataset(name=name, version=wanted)
        except DatasetNotFoundError as exc:
            which = "" if wanted is None else f" (version: {wanted})"
            raise v1_lookup_error(
                exc, f'Cannot find dataset registered with name "{name}"{which} in the workspace.'
            ) from exc
        return dataset_from_record(workspace, record)

    @staticmethod
    def get_by_id(workspace: WorkspaceHandle, id: str) -> AbstractDataset:
        """Return the registered dataset with ``id`` (a missing one: ``DatasetNotFoundError``, in v1's words)."""
        try:
            record = workspace._client.get_dataset(id=id)
        except DatasetNotFoundError as exc:
            raise v1_lookup_error(exc, f'Cannot find dataset with id "{id}" in the workspace.') from exc
        return dataset_from_record(workspace, record)

    @staticmethod
    def get_all(workspace: WorkspaceHandle) -> dict[str, AbstractDataset]:
        """Return every registered dataset (latest versions), by name (``Workspace.datasets``)."""
        return {record["name"]: dataset_from_record(workspace, record) for record in workspace._client.list_datasets()}
