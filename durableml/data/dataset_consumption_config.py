"""DatasetConsumptionConfig: a dataset as a named step input, and how the step sees it.

``run.input_datasets[name]`` inside the step is a local path for mounted/downloaded file data and
a TabularDataset for tabular data. The dataset may be a FileDataset/TabularDataset, a
PipelineParameter whose default is one, or the output of an earlier step (OutputFileDatasetConfig,
``PipelineData.as_dataset()``).
"""

from __future__ import annotations

from typing import Any

from durableml._names import check_identifier
from durableml.data._modes import check_mode
from durableml.exceptions import NotSupportedError, ValidationError

__all__ = ["DatasetConsumptionConfig"]


def _check_dataset(name: str, dataset: Any) -> Any:
    """``dataset`` if it can be consumed as a dataset: a FileDataset or TabularDataset, a PipelineParameter
    whose default is one, or a step output (OutputFileDatasetConfig and its tabular view,
    ``PipelineData.as_dataset()`` and its tabular view). Each of those says so with ``_consumed_as_dataset``:
    their classes create DatasetConsumptionConfigs (``as_named_input``, ``as_input``), so this module,
    which they import, does not import them back."""
    if not isinstance(dataset, type) and getattr(dataset, "_consumed_as_dataset", False) is True:
        return dataset
    raise ValidationError(
        f"DatasetConsumptionConfig {name!r} needs a dataset, a PipelineParameter whose default is a "
        f"dataset, or a step output; got {type(dataset).__name__} {dataset!r}."
    )


class DatasetConsumptionConfig:
    """A dataset consumed by a step under ``name`` with ``mode`` direct, mount or download."""

    def __init__(self, name: str, dataset: Any, mode: str = "direct", path_on_compute: str | None = None) -> None:
        self.name = check_identifier(name, "DatasetConsumptionConfig")
        self.dataset = _check_dataset(self.name, dataset)
        self.mode = check_mode(mode, ("direct", "mount", "download"), "DatasetConsumptionConfig mode")
        self.path_on_compute = path_on_compute
        self._mode_explicit = mode != "direct"

    def _with_mode(self, mode: str, path_on_compute: str | None) -> DatasetConsumptionConfig:
        config = DatasetConsumptionConfig(self.name, self.dataset, mode, path_on_compute or self.path_on_compute)
        config._mode_explicit = True
        return config

    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        """Return a copy that mounts the data (optionally at ``path_on_compute``)."""
        return self._with_mode("mount", path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        """Return a copy that downloads the data (optionally to ``path_on_compute``)."""
        return self._with_mode("download", path_on_compute)

    def as_hdfs(self) -> DatasetConsumptionConfig:
        """HDFS consumption (Synapse) is not supported."""
        raise NotSupportedError("DatasetConsumptionConfig.as_hdfs", "Use as_mount() or as_download().")

    def __repr__(self) -> str:
        return f"DatasetConsumptionConfig(name={self.name!r}, mode={self.mode!r}, dataset={self.dataset!r})"
