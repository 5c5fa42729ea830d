"""v1's ``azureml.data.dbfs_datastore``: the Databricks File System datastore class."""

from __future__ import annotations

from durableml.core.datastore import DBFSDatastore

__all__ = ["DBFSDatastore"]
