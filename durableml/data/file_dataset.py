"""FileDataset: a set of files on datastores or URLs, consumed by path."""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING

from durableml.data import url_fetch
from durableml.data.abstract_dataset import AbstractDataset
from durableml.exceptions import NotSupportedError

if TYPE_CHECKING:
    from durableml.data.dataset_consumption_config import DatasetConsumptionConfig

__all__ = ["FileDataset"]


class FileDataset(AbstractDataset):
    """Files referenced by paths or globs; in a step, a mounted or downloaded local path.

    For a definition over a single file, the path a step receives points at the file itself.
    """

    _dataset_type = "file"

    def _default_input_name(self) -> str:
        return self.name or f"dataset_{self.id.replace('-', '')[:8]}"

    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        """Return this dataset as a mounted step input."""
        return self.as_named_input(self._default_input_name()).as_mount(path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        """Return this dataset as a downloaded step input."""
        return self.as_named_input(self._default_input_name()).as_download(path_on_compute)

    def as_hdfs(self) -> DatasetConsumptionConfig:
        """HDFS consumption (Synapse) is not supported."""
        raise NotSupportedError("FileDataset.as_hdfs", "Use as_mount() or as_download().")

    def download(
        self, target_path: str | os.PathLike[str] | None = None, overwrite: bool = False, ignore_not_found: bool = False
    ) -> list[str]:
        """Download the files to ``target_path`` (a new temporary directory by default)."""
        target = os.fspath(target_path) if target_path is not None else tempfile.mkdtemp(prefix="durableml-dataset-")
        if not self._url_files():
            return self._client("FileDataset.download").download_dataset(self._definition, target, overwrite)
        rest = self._datastore_part()  # http(s) files are fetched here, the datastore files through the service
        local = self._client("FileDataset.download").download_dataset(rest, target, overwrite) if rest else []
        return local + self._fetch_urls(target, overwrite, ignore_not_found)

    def to_path(self) -> list[str]:
        """Return the paths of the files, relative to the dataset's root."""
        placed = self._url_files()
        if not placed:
            return self._client("FileDataset.to_path").list_dataset_files(self._definition)
        rest = self._datastore_part()
        listed = self._client("FileDataset.to_path").list_dataset_files(rest) if rest else []
        transforms = self._definition.get("transforms") or []
        return listed + ["/" + rel for _, rel in url_fetch.select_files(placed, transforms)]

    def mount(self, mount_point: str | None = None, **kwargs: object) -> None:
        """Mounting on the local machine is not supported; use download()."""
        raise NotSupportedError("FileDataset.mount", "Use download(target_path) instead.")
