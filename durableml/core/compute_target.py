"""v1 ``azureml.core.compute_target``: where ``ComputeTargetException`` is imported from."""

from __future__ import annotations

from durableml.core.compute.compute import ComputeTarget
from durableml.exceptions import ComputeTargetException

__all__ = ["ComputeTarget", "ComputeTargetException", "AbstractComputeTarget"]

AbstractComputeTarget = ComputeTarget
