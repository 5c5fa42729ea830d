"""Attached computes: Databricks, Data Lake Analytics, Data Factory, remote VMs, and the v1 types
durableml does not run yet (Batch, Kusto, Synapse). Each can be looked up by name (raising
``ComputeTargetException`` when missing) and attached with its ``attach_configuration``; the
unsupported ones raise NotSupportedError when you try to attach them.
"""

from __future__ import annotations

from typing import Any, NoReturn

from durableml.core.compute.compute import (
    ComputeTarget,
    ComputeTargetAttachConfiguration,
    ComputeTargetProvisioningConfiguration,
)
from durableml.exceptions import NotSupportedError

__all__ = [
    "DatabricksCompute",
    "AdlaCompute",
    "DataFactoryCompute",
    "RemoteCompute",
    "BatchCompute",
    "KustoCompute",
    "SynapseCompute",
]


class DatabricksCompute(ComputeTarget):
    """An attached Azure Databricks workspace (runs DatabricksStep through ``runs/submit``).

    The access token is sealed by the service (``dmlSecrets``) and never shown in the target's record. Azure ML
    looked the workspace's URL up in Azure Resource Manager; durableml takes it from ``workspace_url=`` (a
    durableml addition), from a ``workspace_name`` that is a URL, or from the service setting
    ``DURABLEML_DATABRICKS_URL``.
    """

    _compute_type = "Databricks"

    @staticmethod
    def attach_configuration(
        resource_group: str | None = None,
        workspace_name: str | None = None,
        resource_id: str | None = None,
        access_token: str = "",
        *,
        workspace_url: str | None = None,
    ) -> ComputeTargetAttachConfiguration:
        """Return the settings to attach a Databricks workspace (v1's arguments, plus ``workspace_url``)."""
        return ComputeTargetAttachConfiguration(
            "Databricks",
            resource_group=resource_group,
            workspace_name=workspace_name,
            resource_id=resource_id,
            access_token=access_token,
            workspace_url=workspace_url,
        )


class AdlaCompute(ComputeTarget):
    """An attached Azure Data Lake Analytics account (ADLA was retired on 2024-02-29)."""

    _compute_type = "DataLakeAnalytics"

    @staticmethod
    def attach_configuration(
        resource_group: str | None = None, account_name: str | None = None, resource_id: str | None = None
    ) -> ComputeTargetAttachConfiguration:
        """Return the settings to attach an ADLA account."""
        return ComputeTargetAttachConfiguration(
            "DataLakeAnalytics", resource_group=resource_group, account_name=account_name, resource_id=resource_id
        )


class _DataFactoryProvisioning(ComputeTargetProvisioningConfiguration):
    compute_type = "DataFactory"


class DataFactoryCompute(ComputeTarget):
    """An Azure Data Factory used by DataTransferStep."""

    _compute_type = "DataFactory"

    @staticmethod
    def provisioning_configuration(location: str | None = None) -> ComputeTargetProvisioningConfiguration:
        """Return the settings to create a data factory."""
        return _DataFactoryProvisioning(location=location)

    @staticmethod
    def attach_configuration(
        resource_group: str | None = None, factory_name: str | None = None, resource_id: str | None = None
    ) -> ComputeTargetAttachConfiguration:
        """Return the settings to attach an existing data factory."""
        return ComputeTargetAttachConfiguration(
            "DataFactory", resource_group=resource_group, factory_name=factory_name, resource_id=resource_id
        )


class RemoteCompute(ComputeTarget):
    """An attached virtual machine reached over SSH."""

    _compute_type = "VirtualMachine"

    @staticmethod
    def attach_configuration(
        address: str | None = None,
        ssh_port: int = 22,
        username: str = "",
        password: str = "",
        private_key_file: str = "",
        private_key_passphrase: str = "",
        resource_id: str | None = None,
    ) -> ComputeTargetAttachConfiguration:
        """Return the settings to attach a VM."""
        return ComputeTargetAttachConfiguration(
            "VirtualMachine",
            address=address,
            ssh_port=ssh_port,
            username=username,
            password=password,
            private_key_file=private_key_file,
            resource_id=resource_id,
        )


def _unsupported(feature: str) -> NoReturn:
    raise NotSupportedError(feature, "Run the work in a PythonScriptStep instead.")


class BatchCompute(ComputeTarget):
    """An Azure Batch account (lookup works; attaching is not supported yet)."""

    _compute_type = "Batch"

    @staticmethod
    def attach_configuration(*args: Any, **kwargs: Any) -> NoReturn:
        """Not supported yet."""
        _unsupported("BatchCompute.attach_configuration")


class KustoCompute(ComputeTarget):
    """An Azure Data Explorer (Kusto) cluster (lookup works; attaching is not supported yet)."""

    _compute_type = "Kusto"

    @staticmethod
    def attach_configuration(*args: Any, **kwargs: Any) -> NoReturn:
        """Not supported yet."""
        _unsupported("KustoCompute.attach_configuration")


class SynapseCompute(ComputeTarget):
    """A Synapse Spark pool (lookup works; attaching is not supported yet)."""

    _compute_type = "SynapseSpark"

    @staticmethod
    def attach_configuration(*args: Any, **kwargs: Any) -> NoReturn:
        """Not supported yet."""
        _unsupported("SynapseCompute.attach_configuration")
