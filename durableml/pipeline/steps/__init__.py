"""Pipeline steps (v1 ``azureml.pipeline.steps``).

Supported: PythonScriptStep, ParallelRunStep (+ ParallelRunConfig), CommandStep, DataTransferStep,
DatabricksStep, AdlaStep. The other v1 step types import fine and raise NotSupportedError.
"""

from __future__ import annotations

from durableml.pipeline.steps.adla_step import AdlaStep
from durableml.pipeline.steps.command_step import CommandStep
from durableml.pipeline.steps.data_transfer_step import DataTransferStep
from durableml.pipeline.steps.databricks_step import DatabricksStep
from durableml.pipeline.steps.parallel_run_config import ParallelRunConfig
from durableml.pipeline.steps.parallel_run_step import ParallelRunStep
from durableml.pipeline.steps.python_script_step import PythonScriptStep
from durableml.pipeline.steps.unsupported_steps import (
    AutoMLStep,
    AutoMLStepRun,
    AzureBatchStep,
    EstimatorStep,
    HyperDriveStep,
    HyperDriveStepRun,
    KustoStep,
    ModuleStep,
    MpiStep,
    SynapseSparkStep,
)

__all__ = [
    "AdlaStep",
    "AutoMLStep",
    "AutoMLStepRun",
    "AzureBatchStep",
    "CommandStep",
    "DataTransferStep",
    "DatabricksStep",
    "EstimatorStep",
    "HyperDriveStep",
    "HyperDriveStepRun",
    "KustoStep",
    "ModuleStep",
    "MpiStep",
    "ParallelRunConfig",
    "ParallelRunStep",
    "PythonScriptStep",
    "SynapseSparkStep",
]
