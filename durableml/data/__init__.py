"""Data objects: datasets, data references, datastore paths and step output configurations.

The v1 import paths are kept: ``durableml.data.OutputFileDatasetConfig``,
``durableml.data.data_reference.DataReference``, ``durableml.data.datapath.DataPath``...
"""

from __future__ import annotations

from durableml.data.abstract_dataset import AbstractDataset
from durableml.data.data_reference import DataReference
from durableml.data.datapath import DataPath, DataPathComputeBinding
from durableml.data.dataset_consumption_config import DatasetConsumptionConfig
from durableml.data.dataset_factory import DataType, FileDatasetFactory, TabularDatasetFactory
from durableml.data.file_dataset import FileDataset
from durableml.data.output_dataset_config import (
    HDFSOutputDatasetConfig,
    OutputDatasetConfig,
    OutputFileDatasetConfig,
    OutputTabularDatasetConfig,
)
from durableml.data.sql_data_reference import SqlDataReference
from durableml.data.tabular_dataset import TabularDataset

__all__ = [
    "AbstractDataset",
    "DataPath",
    "DataPathComputeBinding",
    "DataReference",
    "DataType",
    "DatasetConsumptionConfig",
    "FileDataset",
    "FileDatasetFactory",
    "HDFSOutputDatasetConfig",
    "OutputDatasetConfig",
    "OutputFileDatasetConfig",
    "OutputTabularDatasetConfig",
    "SqlDataReference",
    "TabularDataset",
    "TabularDatasetFactory",
]
