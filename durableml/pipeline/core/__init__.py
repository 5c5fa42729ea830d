"""Pipeline authoring and run handles (v1 ``azureml.pipeline.core``).

Import order matters here: leaf modules (parameters, data, ports, steps) first, so that
``durableml.pipeline.compiler`` and the step modules can import them while this package loads.
"""

from __future__ import annotations

from durableml.pipeline.core.pipeline_parameter import PipelineParameter
from durableml.pipeline.core.pipeline_data import (
    InputPortBinding,
    PipelineData,
    PipelineOutputFileDataset,
    PipelineOutputTabularDataset,
    TrainingOutput,
)
from durableml.pipeline.core.pipeline_step import PipelineStep, StepSequence
from durableml.pipeline.core.pipeline import Pipeline
from durableml.pipeline.core.run import PipelineRun, PortDataReference, StepRun, StepRunOutput
from durableml.pipeline.core.published_pipeline import PublishedPipeline
from durableml.pipeline.core.pipeline_endpoint import PipelineEndpoint, PipelineEndpointVersion
from durableml.pipeline.core.pipeline_draft import PipelineDraft
from durableml.pipeline.core.schedule import Schedule, ScheduleRecurrence, TimeZone
from durableml.pipeline.core.module import Module, ModuleVersion

__all__ = [
    "InputPortBinding",
    "Module",
    "ModuleVersion",
    "Pipeline",
    "PipelineData",
    "PipelineDraft",
    "PipelineEndpoint",
    "PipelineEndpointVersion",
    "PipelineOutputFileDataset",
    "PipelineOutputTabularDataset",
    "PipelineParameter",
    "PipelineRun",
    "PipelineStep",
    "PortDataReference",
    "PublishedPipeline",
    "Schedule",
    "ScheduleRecurrence",
    "StepRun",
    "StepRunOutput",
    "StepSequence",
    "TimeZone",
    "TrainingOutput",
]
