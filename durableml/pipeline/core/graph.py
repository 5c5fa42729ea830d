"""v1 ``azureml.pipeline.core.graph``: where PipelineParameter and the port classes are imported from.

``InputPortDef`` / ``OutputPortDef`` belong to v1 modules (ModuleStep), which durableml does not
support yet.
"""

from __future__ import annotations

from durableml._unsupported import unsupported_class
from durableml.pipeline.core.pipeline_data import (
    InputPortBinding,
    PipelineData,
    PipelineOutputFileDataset,
    PipelineOutputTabularDataset,
)
from durableml.pipeline.core.pipeline_parameter import PipelineParameter

__all__ = [
    "InputPortBinding",
    "InputPortDef",
    "OutputPortDef",
    "PipelineData",
    "PipelineOutputFileDataset",
    "PipelineOutputTabularDataset",
    "PipelineParameter",
]

_HINT = "Modules are not supported; use PipelineData outputs of a PythonScriptStep."
InputPortDef = unsupported_class("InputPortDef", __name__, _HINT)
OutputPortDef = unsupported_class("OutputPortDef", __name__, _HINT)
