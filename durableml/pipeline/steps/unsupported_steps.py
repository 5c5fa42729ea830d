"""Step types of Azure ML SDK v1 that durableml does not support yet (label X).

They import fine and raise NotSupportedError, naming the step, when constructed.
"""

from __future__ import annotations

from durableml._unsupported import unsupported_class

__all__ = [
    "AutoMLStep",
    "AutoMLStepRun",
    "AzureBatchStep",
    "EstimatorStep",
    "HyperDriveStep",
    "HyperDriveStepRun",
    "KustoStep",
    "ModuleStep",
    "MpiStep",
    "SynapseSparkStep",
]

_HINT = "Use a PythonScriptStep that runs the equivalent script."

AutoMLStep = unsupported_class("AutoMLStep", "durableml.pipeline.steps", _HINT)
AutoMLStepRun = unsupported_class("AutoMLStepRun", "durableml.pipeline.steps", _HINT)
AzureBatchStep = unsupported_class("AzureBatchStep", "durableml.pipeline.steps", _HINT)
EstimatorStep = unsupported_class("EstimatorStep", "durableml.pipeline.steps", _HINT)
HyperDriveStep = unsupported_class("HyperDriveStep", "durableml.pipeline.steps", _HINT)
HyperDriveStepRun = unsupported_class("HyperDriveStepRun", "durableml.pipeline.steps", _HINT)
KustoStep = unsupported_class("KustoStep", "durableml.pipeline.steps", _HINT)
ModuleStep = unsupported_class("ModuleStep", "durableml.pipeline.steps", _HINT)
MpiStep = unsupported_class("MpiStep", "durableml.pipeline.steps", _HINT)
SynapseSparkStep = unsupported_class("SynapseSparkStep", "durableml.pipeline.steps", _HINT)
