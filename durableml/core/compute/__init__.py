"""Compute targets (v1 ``azureml.core.compute``)."""

from __future__ import annotations

from durableml.core.compute.amlcompute import AmlCompute, AmlComputeProvisioningConfiguration, AmlComputeStatus
from durableml.core.compute.attached import (
    AdlaCompute,
    BatchCompute,
    DatabricksCompute,
    DataFactoryCompute,
    KustoCompute,
    RemoteCompute,
    SynapseCompute,
)
from durableml.core.compute.compute import (
    ComputeTarget,
    ComputeTargetAttachConfiguration,
    ComputeTargetProvisioningConfiguration,
)
from durableml.core.compute.ray import RayCompute

__all__ = [
    "AdlaCompute",
    "AmlCompute",
    "AmlComputeProvisioningConfiguration",
    "AmlComputeStatus",
    "BatchCompute",
    "ComputeTarget",
    "ComputeTargetAttachConfiguration",
    "ComputeTargetProvisioningConfiguration",
    "DataFactoryCompute",
    "DatabricksCompute",
    "KustoCompute",
    "RayCompute",
    "RemoteCompute",
    "SynapseCompute",
]
