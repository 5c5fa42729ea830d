"""Every import path of aml-v1-api.md §2.1 resolves under ``durableml``; out-of-scope names fail clearly."""

from __future__ import annotations

import importlib
import types

import pytest

from durableml._unsupported import UnsupportedMeta
from durableml.exceptions import NotSupportedError, UserErrorException

# (v1 module path, name) exactly as the corpus imports them; None = "import the module".
V1_IMPORTS = [
    ("azureml.core", None),
    ("azureml.core", "ComputeTarget"),
    ("azureml.core", "Dataset"),
    ("azureml.core", "Datastore"),
    ("azureml.core", "Environment"),
    ("azureml.core", "Experiment"),
    ("azureml.core", "LinkedService"),
    ("azureml.core", "Model"),
    ("azureml.core", "Run"),
    ("azureml.core", "RunConfiguration"),
    ("azureml.core", "ScriptRunConfig"),
    ("azureml.core", "SynapseWorkspaceLinkedServiceConfiguration"),
    ("azureml.core", "Workspace"),
    ("azureml.core", "VERSION"),
    ("azureml.core.authentication", "InteractiveLoginAuthentication"),
    ("azureml.core.compute", "AdlaCompute"),
    ("azureml.core.compute", "AmlCompute"),
    ("azureml.core.compute", "BatchCompute"),
    ("azureml.core.compute", "ComputeTarget"),
    ("azureml.core.compute", "DataFactoryCompute"),
    ("azureml.core.compute", "DatabricksCompute"),
    ("azureml.core.compute", "KustoCompute"),
    ("azureml.core.compute", "SynapseCompute"),
    ("azureml.core.compute_target", "ComputeTargetException"),
    ("azureml.core.conda_dependencies", "CondaDependencies"),
    ("azureml.core.dataset", "Dataset"),
    ("azureml.core.datastore", "Datastore"),
    ("azureml.core.environment", "CondaDependencies"),
    ("azureml.core.environment", "Environment"),
    ("azureml.core.experiment", "Experiment"),
    ("azureml.core.model", "Dataset"),
    ("azureml.core.model", "Model"),
    ("azureml.core.run", "Run"),
    ("azureml.core.run", "_OfflineRun"),
    ("azureml.core.runconfig", "CondaDependencies"),
    ("azureml.core.runconfig", "DEFAULT_CPU_IMAGE"),
    ("azureml.core.runconfig", "DEFAULT_GPU_IMAGE"),
    ("azureml.core.runconfig", "JarLibrary"),
    ("azureml.core.runconfig", "MpiConfiguration"),
    ("azureml.core.runconfig", "RunConfiguration"),
    ("azureml.core.workspace", "Workspace"),
    ("azureml.data", "HDFSOutputDatasetConfig"),
    ("azureml.data", "OutputFileDatasetConfig"),
    ("azureml.data.data_reference", "DataReference"),
    ("azureml.data.datapath", "DataPath"),
    ("azureml.data.datapath", "DataPathComputeBinding"),
    ("azureml.data.dataset_consumption_config", "DatasetConsumptionConfig"),
    ("azureml.data.dataset_factory", "TabularDatasetFactory"),
    ("azureml.data.output_dataset_config", "OutputFileDatasetConfig"),
    ("azureml.data.sql_data_reference", "SqlDataReference"),
    ("azureml.exceptions", "ComputeTargetException"),
    ("azureml.exceptions", "UserErrorException"),
    ("azureml.pipeline.core", "Pipeline"),
    ("azureml.pipeline.core", "PipelineData"),
    ("azureml.pipeline.core", "PipelineDraft"),
    ("azureml.pipeline.core", "PipelineEndpoint"),
    ("azureml.pipeline.core", "PipelineParameter"),
    ("azureml.pipeline.core", "PipelineRun"),
    ("azureml.pipeline.core", "PublishedPipeline"),
    ("azureml.pipeline.core", "Schedule"),
    ("azureml.pipeline.core", "TrainingOutput"),
    ("azureml.pipeline.core", "ScheduleRecurrence"),
    ("azureml.pipeline.core", "StepRun"),
    ("azureml.pipeline.core", "PortDataReference"),
    ("azureml.pipeline.core.graph", "InputPortDef"),
    ("azureml.pipeline.core.graph", "OutputPortDef"),
    ("azureml.pipeline.core.graph", "PipelineParameter"),
    ("azureml.pipeline.core.module", "Module"),
    ("azureml.pipeline.core.run", "PipelineRun"),
    ("azureml.pipeline.core.schedule", "Schedule"),
    ("azureml.pipeline.core.schedule", "ScheduleRecurrence"),
    ("azureml.pipeline.steps", "AdlaStep"),
    ("azureml.pipeline.steps", "AutoMLStep"),
    ("azureml.pipeline.steps", "AzureBatchStep"),
    ("azureml.pipeline.steps", "CommandStep"),
    ("azureml.pipeline.steps", "DataTransferStep"),
    ("azureml.pipeline.steps", "DatabricksStep"),
    ("azureml.pipeline.steps", "EstimatorStep"),
    ("azureml.pipeline.steps", "HyperDriveStep"),
    ("azureml.pipeline.steps", "HyperDriveStepRun"),
    ("azureml.pipeline.steps", "KustoStep"),
    ("azureml.pipeline.steps", "ModuleStep"),
    ("azureml.pipeline.steps", "ParallelRunConfig"),
    ("azureml.pipeline.steps", "ParallelRunStep"),
    ("azureml.pipeline.steps", "PythonScriptStep"),
    ("azureml.pipeline.steps", "SynapseSparkStep"),
    ("azureml.widgets", "RunDetails"),
    ("azureml.automl.core.forecasting_parameters", "ForecastingParameters"),
    ("azureml.automl.core.shared.constants", None),
    ("azureml.automl.runtime.shared.score", "constants"),
    ("azureml.automl.runtime.shared.score", "scoring"),
    ("azureml.contrib.automl.pipeline.steps", "AutoMLPipelineBuilder"),
    ("azureml.contrib.automl.pipeline.steps.utilities", "get_output_from_mm_pipeline"),
    ("azureml.contrib.notebook", "AzureMLNotebookHandler"),
    ("azureml.contrib.notebook", "NotebookRunConfig"),
    ("azureml.contrib.notebook", "NotebookRunnerStep"),
    ("azureml.opendatasets", "NoaaIsdWeather"),
    ("azureml.opendatasets", "NycTlcGreen"),
    ("azureml.opendatasets", "NycTlcYellow"),
    ("azureml.train.automl", "AutoMLConfig"),
    ("azureml.train.automl.automlconfig", "AutoMLConfig"),
    ("azureml.train.automl.run", "AutoMLRun"),
    ("azureml.train.automl.runtime._hts.hts_parameters", "HTSInferenceParameters"),
    ("azureml.train.automl.runtime._hts.hts_parameters", "HTSTrainParameters"),
    ("azureml.train.automl.runtime._many_models.many_models_parameters", "ManyModelsInferenceParameters"),
    ("azureml.train.automl.runtime._many_models.many_models_parameters", "ManyModelsTrainParameters"),
    ("azureml.train.estimator", "Estimator"),
    ("azureml.train.hyperdrive", "BanditPolicy"),
    ("azureml.train.hyperdrive", "HyperDriveConfig"),
    ("azureml.train.hyperdrive", "HyperDriveRun"),
    ("azureml.train.hyperdrive", "PrimaryMetricGoal"),
    ("azureml.train.hyperdrive", "RandomParameterSampling"),
    ("azureml.train.hyperdrive", "choice"),
    ("azureml.train.hyperdrive", "loguniform"),
]

# Names labelled X: importable, but using them raises NotSupportedError naming them.
X_CLASSES = [
    ("durableml.core", "LinkedService"),
    ("durableml.core", "SynapseWorkspaceLinkedServiceConfiguration"),
    ("durableml.data", "HDFSOutputDatasetConfig"),
    ("durableml.pipeline.core.graph", "InputPortDef"),
    ("durableml.pipeline.core.graph", "OutputPortDef"),
    ("durableml.pipeline.core.module", "Module"),
    ("durableml.pipeline.steps", "AutoMLStep"),
    ("durableml.pipeline.steps", "AzureBatchStep"),
    ("durableml.pipeline.steps", "EstimatorStep"),
    ("durableml.pipeline.steps", "HyperDriveStep"),
    ("durableml.pipeline.steps", "HyperDriveStepRun"),
    ("durableml.pipeline.steps", "KustoStep"),
    ("durableml.pipeline.steps", "ModuleStep"),
    ("durableml.pipeline.steps", "SynapseSparkStep"),
    ("durableml.automl.core.forecasting_parameters", "ForecastingParameters"),
    ("durableml.contrib.automl.pipeline.steps", "AutoMLPipelineBuilder"),
    ("durableml.contrib.notebook", "AzureMLNotebookHandler"),
    ("durableml.contrib.notebook", "NotebookRunConfig"),
    ("durableml.contrib.notebook", "NotebookRunnerStep"),
    ("durableml.opendatasets", "NoaaIsdWeather"),
    ("durableml.opendatasets", "NycTlcGreen"),
    ("durableml.opendatasets", "NycTlcYellow"),
    ("durableml.train.automl", "AutoMLConfig"),
    ("durableml.train.automl.run", "AutoMLRun"),
    ("durableml.train.automl.runtime._hts.hts_parameters", "HTSTrainParameters"),
    ("durableml.train.automl.runtime._many_models.many_models_parameters", "ManyModelsTrainParameters"),
    ("durableml.train.estimator", "Estimator"),
    ("durableml.train.hyperdrive", "HyperDriveConfig"),
    ("durableml.train.hyperdrive", "BanditPolicy"),
    ("durableml.train.hyperdrive", "RandomParameterSampling"),
]
X_FUNCTIONS = [
    ("durableml.train.hyperdrive", "choice"),
    ("durableml.train.hyperdrive", "loguniform"),
    ("durableml.contrib.automl.pipeline.steps.utilities", "get_output_from_mm_pipeline"),
]
X_NAMES = {name for _, name in X_CLASSES + X_FUNCTIONS}
X_PACKAGES = ("azureml.train", "azureml.automl", "azureml.contrib", "azureml.opendatasets")


def _durableml(module: str) -> str:
    return "durableml" + module[len("azureml") :]


@pytest.mark.parametrize(("module", "name"), V1_IMPORTS, ids=lambda v: str(v))
def test_v1_import_path_resolves(module: str, name: str | None) -> None:
    imported = importlib.import_module(_durableml(module))
    if name is None:
        assert isinstance(imported, types.ModuleType)
        return
    value = getattr(imported, name, None)
    if value is None:  # a submodule imported with "from package import module"
        value = importlib.import_module(f"{_durableml(module)}.{name}")
    if name not in X_NAMES and not module.startswith(X_PACKAGES):
        assert not isinstance(value, UnsupportedMeta), f"{module}.{name} is supported and must not be a placeholder"


def test_names_imported_from_several_modules_are_the_same_object() -> None:
    from durableml.core import Dataset, Run, RunConfiguration
    from durableml.core.conda_dependencies import CondaDependencies
    from durableml.core.environment import CondaDependencies as EnvConda
    from durableml.core.model import Dataset as ModelDataset
    from durableml.core.run import Run as RunRun
    from durableml.core.runconfig import CondaDependencies as RcConda, RunConfiguration as RcRunConfiguration
    from durableml.core.compute_target import ComputeTargetException
    from durableml.exceptions import ComputeTargetException as ExcComputeTargetException
    from durableml.pipeline.core import PipelineParameter, PipelineRun
    from durableml.pipeline.core.graph import PipelineParameter as GraphParameter
    from durableml.pipeline.core.run import PipelineRun as RunPipelineRun

    assert CondaDependencies is EnvConda is RcConda
    assert Dataset is ModelDataset and Run is RunRun and RunConfiguration is RcRunConfiguration
    assert ComputeTargetException is ExcComputeTargetException
    assert PipelineParameter is GraphParameter and PipelineRun is RunPipelineRun


def test_core_imports_runconfig_eagerly_and_has_a_version() -> None:
    import durableml.core

    assert durableml.core.runconfig.DEFAULT_CPU_IMAGE.startswith("mcr.microsoft.com/")
    assert isinstance(durableml.core.VERSION, str) and durableml.core.VERSION


@pytest.mark.parametrize(("module", "name"), X_CLASSES, ids=lambda v: str(v))
def test_out_of_scope_class_raises_named_not_supported_error(module: str, name: str) -> None:
    cls = getattr(importlib.import_module(module), name)
    with pytest.raises(NotSupportedError, match=rf"^{name} is not supported by durableml yet") as info:
        cls(name="x")
    assert isinstance(info.value, NotImplementedError) and isinstance(info.value, UserErrorException)
    with pytest.raises(NotSupportedError, match=name):
        cls.some_class_method  # noqa: B018  (attribute use fails with the same message)


@pytest.mark.parametrize(("module", "name"), X_FUNCTIONS, ids=lambda v: str(v))
def test_out_of_scope_function_raises_named_not_supported_error(module: str, name: str) -> None:
    function = getattr(importlib.import_module(module), name)
    with pytest.raises(NotSupportedError, match=rf"^{name} is not supported by durableml yet"):
        function(0.1, 1)


def test_out_of_scope_module_attributes_raise_not_supported_error() -> None:
    from durableml.automl.core.shared import constants

    with pytest.raises(NotSupportedError, match="PROPERTY_KEY_OF_MODEL_PATH"):
        constants.PROPERTY_KEY_OF_MODEL_PATH  # noqa: B018
    assert not hasattr(constants, "_private")


def test_primary_metric_goal_attribute_is_unsupported_but_hasattr_is_false() -> None:
    from durableml.train.hyperdrive import PrimaryMetricGoal

    with pytest.raises(NotSupportedError, match="PrimaryMetricGoal.MAXIMIZE"):
        PrimaryMetricGoal.MAXIMIZE  # noqa: B018
    assert not hasattr(PrimaryMetricGoal, "MAXIMIZE")


def test_attaching_unsupported_compute_types_is_refused() -> None:
    from durableml.core.compute import BatchCompute, KustoCompute, SynapseCompute

    for cls in (BatchCompute, KustoCompute, SynapseCompute):
        with pytest.raises(NotSupportedError, match=f"{cls.__name__}.attach_configuration"):
            cls.attach_configuration(resource_group="rg")


def test_run_details_widget_is_a_no_op() -> None:
    from durableml.widgets import RunDetails

    widget = RunDetails(object())
    assert widget.show() is None
    assert "RunDetails" in repr(widget)
