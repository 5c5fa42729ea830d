"""v1's ``azureml.data.azure_data_lake_datastore``: the ADLS Gen1 datastore class (Gen2 stores are ``Datastore``s
of type ``AzureDataLakeGen2``)."""

from __future__ import annotations

from durableml.core.datastore import AzureDataLakeDatastore

__all__ = ["AzureDataLakeDatastore"]
