"""The core of the v1 SDK surface: workspace, experiments, datastores, datasets, runs, models,
environments and run configurations (v1 ``azureml.core``).

``runconfig`` is imported eagerly because notebooks read ``azureml.core.runconfig.DEFAULT_CPU_IMAGE``
after a bare ``import azureml.core``. ``step_context`` is imported so that it installs the loader of the
step's run context (see :mod:`durableml.core._context`) before ``Run.get_context()`` can be called.
"""

from __future__ import annotations

from durableml._version import __version__
from durableml.core import runconfig
from durableml.core.compute.compute import ComputeTarget
from durableml.core.conda_dependencies import CondaDependencies
from durableml.core.dataset import Dataset
from durableml.core.datastore import Datastore
from durableml.core.environment import Environment
from durableml.core.experiment import Experiment
from durableml.core.linked_service import LinkedService, SynapseWorkspaceLinkedServiceConfiguration
from durableml.core.model import Model
from durableml.core.run import Run
from durableml.core.runconfig import RunConfiguration
from durableml.core.script_run_config import ScriptRunConfig
from durableml.core.workspace import Workspace
from durableml.core import step_context  # noqa: F401  (installs the step context loader)

VERSION = __version__

__all__ = [
    "VERSION",
    "ComputeTarget",
    "CondaDependencies",
    "Dataset",
    "Datastore",
    "Environment",
    "Experiment",
    "LinkedService",
    "Model",
    "Run",
    "RunConfiguration",
    "ScriptRunConfig",
    "SynapseWorkspaceLinkedServiceConfiguration",
    "Workspace",
    "runconfig",
]
