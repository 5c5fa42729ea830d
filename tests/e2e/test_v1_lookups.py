"""v1's get-or-create idioms, as v1 code writes them, against funchost + Azurite (issue 12, item 7).

Each test is a lookup that v1 code wraps in ``try``/``except`` to create what is missing: the code imports
from ``azureml.*`` through durableml's alias and connects with ``Workspace.from_config()``. What v1 raised
for each lookup (and the message fragments v1 code tests with ``in str(e)``) is tabled in
:mod:`durableml.exceptions`.

``msrest`` is not a dependency of durableml and is not installed here. The ``HttpOperationError`` idiom
(``from msrest.exceptions import HttpOperationError`` around ``Datastore.get``) is run with a stand-in
``msrest.exceptions`` module shaped like msrest's (``HttpOperationError(ClientException)``), as if the
user had installed msrest: durableml only looks at ``sys.modules`` and never imports it.
"""

from __future__ import annotations

import sys
import textwrap
import types
import uuid
from pathlib import Path
from typing import Any

import pytest

from durableml.exceptions import AzureMLException

from ._helpers import ensure_compute


@pytest.fixture
def ws(v1_ws: Any) -> Any:
    return v1_ws


@pytest.fixture
def msrest_installed(monkeypatch: pytest.MonkeyPatch) -> type[Exception]:
    """A stand-in for an installed msrest (its ``exceptions`` module's classes, as msrest defines them)."""
    module = types.ModuleType("msrest.exceptions")
    exec(  # noqa: S102  the shape of msrest/exceptions.py: ClientException <- HttpOperationError
        textwrap.dedent(
            """
            class ClientException(Exception):
                def __init__(self, message, inner_exception=None, *args, **kwargs):
                    self.inner_exception = inner_exception
                    super().__init__(message, *args, **kwargs)

            class HttpOperationError(ClientException):
                def __init__(self, deserialize, response, resp_type=None, *args, **kwargs):
                    self.error = None
                    self.response = response
                    super().__init__("Operation returned an invalid status code", *args, **kwargs)
            """
        ),
        module.__dict__,
    )
    package = types.ModuleType("msrest")
    package.exceptions = module  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "msrest", package)
    monkeypatch.setitem(sys.modules, "msrest.exceptions", module)
    return module.HttpOperationError  # type: ignore[no-any-return]


def _name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


# ---- Datastore.get


def test_datastore_get_or_register_catching_user_error(ws: Any) -> None:
    from azureml.core import Datastore
    from azureml.exceptions import UserErrorException

    name = _name("v1ds")
    try:
        store = Datastore.get(ws, name)
        found = True
    except UserErrorException as e:
        assert f"Could not find datastore: {name}" in str(e)  # v1's words
        store = Datastore.register_azure_blob_container(
            workspace=ws, datastore_name=name, container_name="v1-lookups", account_name="devstoreaccount1",
            create_if_not_exists=True,
        )  # fmt: skip
        found = False
    assert not found and store.name == name
    assert Datastore.get(ws, name).name == name and Datastore(ws, name).name == name


def test_datastore_get_or_register_catching_http_operation_error(ws: Any, msrest_installed: type) -> None:
    from msrest.exceptions import HttpOperationError  # type: ignore[import-not-found]

    from azureml.core import Datastore

    name = _name("v1ds")
    try:
        Datastore.get(ws, name)
        raise AssertionError("found a datastore that was never registered")
    except HttpOperationError as e:
        assert e.response.status_code == 404 and f"Could not find datastore: {name}" in str(e)
        assert isinstance(e, AzureMLException) and isinstance(e, LookupError)  # still durableml's own tree
        Datastore.register_azure_blob_container(ws, name, "v1-lookups", "devstoreaccount1", create_if_not_exists=True)
    assert Datastore.get(ws, name).name == name


def test_datastore_miss_without_msrest_is_no_foreign_class(ws: Any) -> None:
    from azureml.core import Datastore
    from azureml.exceptions import UserErrorException

    assert "msrest.exceptions" not in sys.modules
    with pytest.raises(UserErrorException) as raised:
        Datastore(ws, _name("v1ds"))
    assert {c.__module__ for c in type(raised.value).__mro__} == {"durableml.exceptions", "builtins"}


# ---- ComputeTarget(ws, name) / AmlCompute(ws, name)


def test_compute_target_get_or_create_checking_the_message(ws: Any) -> None:
    from azureml.core.compute import AmlCompute, ComputeTarget
    from azureml.core.compute_target import ComputeTargetException

    name = _name("v1cpu")
    try:
        target = ComputeTarget(workspace=ws, name=name)
    except ComputeTargetException as e:
        if "ComputeTargetNotFound" not in str(e):
            raise
        assert f"Compute Target with name {name} not found in provided workspace" in str(e)
        config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", max_nodes=2)
        target = ComputeTarget.create(ws, name, config)
        target.wait_for_completion(show_output=False)
    assert type(target) is AmlCompute
    assert AmlCompute(ws, name).name == name


def test_aml_compute_miss_is_a_compute_target_exception_from_azureml_exceptions(ws: Any) -> None:
    from azureml.core.compute import AmlCompute
    from azureml.exceptions import ComputeTargetException

    with pytest.raises(ComputeTargetException, match="ComputeTargetNotFound: Compute Target with name") as raised:
        AmlCompute(ws, _name("v1cpu"))
    assert isinstance(raised.value, LookupError)


# ---- Dataset.get_by_name / get_by_id


def test_dataset_get_by_name_or_register(ws: Any) -> None:
    from azureml.core import Dataset
    from azureml.exceptions import UserErrorException

    name = _name("v1set")
    store = ws.get_default_datastore()
    store.upload_files([__file__], target_path=f"{name}/", overwrite=True, show_progress=False)
    try:
        dataset = Dataset.get_by_name(ws, name=name)
    except UserErrorException as e:
        assert f'Cannot find dataset registered with name "{name}" in the workspace.' in str(e)
        files = Dataset.File.from_files(path=(store, f"{name}/*.py"))
        dataset = files.register(workspace=ws, name=name, description="v1 get-or-register")
    assert dataset.name == name and Dataset.get_by_name(ws, name).id == dataset.id
    with pytest.raises(UserErrorException, match=rf'name "{name}" \(version: 7\) in the workspace'):
        Dataset.get_by_name(ws, name, version=7)
    assert Dataset.get_by_id(ws, dataset.id).name == name


def test_dataset_get_by_id_miss(ws: Any) -> None:
    from azureml.core import Dataset
    from azureml.exceptions import UserErrorException

    missing = str(uuid.uuid4())
    with pytest.raises(UserErrorException, match=f'Cannot find dataset with id "{missing}" in the workspace.'):
        Dataset.get_by_id(ws, missing)


# ---- Model(ws, name)


def test_model_get_or_register(ws: Any, tmp_path: Path) -> None:
    from azureml.core import Model
    from azureml.exceptions import WebserviceException

    name = _name("v1model")
    (tmp_path / "model.pkl").write_bytes(b"weights")
    try:
        model = Model(ws, name=name)
    except WebserviceException as e:
        assert f"ModelNotFound: Model with name {name} not found in provided workspace" in str(e)
        model = Model.register(ws, model_path=str(tmp_path / "model.pkl"), model_name=name)
    assert model.name == name and Model(ws, name=name).version == model.version
    with pytest.raises(WebserviceException, match=f"ModelNotFound: Model with name {name}, version 9 not found"):
        Model(ws, name=name, version=9)


# ---- Experiment(ws, name): v1 creates it, nothing to catch


def test_experiment_is_get_or_create(ws: Any) -> None:
    from azureml.core import Experiment

    name = _name("v1exp")
    experiment = Experiment(workspace=ws, name=name)
    assert experiment.name == name and Experiment(ws, name).name == name


# ---- PipelineRun(experiment, run_id)


def test_pipeline_run_of_an_unknown_id(ws: Any) -> None:
    from azureml.core import Experiment
    from azureml.exceptions import UserErrorException
    from azureml.pipeline.core import PipelineRun

    missing = str(uuid.uuid4())
    try:  # v1 raised at PipelineRun(...) already; durableml at the first use of the run
        status = PipelineRun(Experiment(ws, "v1-lookups"), missing).get_status()
    except UserErrorException as e:
        assert f"Run {missing} was not found" in str(e)  # v1's words
        status = None
    assert status is None


# ---- PublishedPipeline.get, PipelineEndpoint.get, Schedule.get


@pytest.fixture(scope="module")
def published(service: Any, v1_project: Path) -> Any:
    from durableml.core import Workspace
    from durableml.pipeline.core import Pipeline
    from durableml.pipeline.steps import PythonScriptStep

    ws = Workspace.from_config(path=str(v1_project / "config.json"))
    source = v1_project / "src"
    source.mkdir(exist_ok=True)
    (source / "hello.py").write_text("print('hello')\n")
    step = PythonScriptStep(script_name="hello.py", source_directory=str(source), compute_target=ensure_compute(ws))
    return Pipeline(workspace=ws, steps=[step]).publish(name="v1-lookups", description="lookups")


def test_published_pipeline_get_miss(ws: Any, msrest_installed: type) -> None:
    from msrest.exceptions import HttpOperationError

    from azureml.exceptions import UserErrorException
    from azureml.pipeline.core import PublishedPipeline

    missing = str(uuid.uuid4())
    for caught in (UserErrorException, HttpOperationError):
        with pytest.raises(caught, match=missing):
            PublishedPipeline.get(ws, id=missing)


def test_pipeline_endpoint_get_or_publish(ws: Any, published: Any) -> None:
    from azureml.pipeline.core import PipelineEndpoint, PublishedPipeline

    name = _name("v1endpoint")
    pipeline = PublishedPipeline.get(ws, id=published.id)
    try:
        endpoint = PipelineEndpoint.get(workspace=ws, name=name)
        endpoint.add_default(pipeline)
    except Exception as e:  # noqa: BLE001  what v1 code catches here
        assert "PipelineEndpoint name not found" in str(e) and name in str(e)
        endpoint = PipelineEndpoint.publish(workspace=ws, name=name, pipeline=pipeline, description="v1")
    assert PipelineEndpoint.get(workspace=ws, name=name).id == endpoint.id


def test_pipeline_endpoint_get_miss_is_an_http_operation_error_once_msrest_is_imported(
    ws: Any, msrest_installed: type
) -> None:
    from msrest.exceptions import HttpOperationError

    from azureml.exceptions import UserErrorException
    from azureml.pipeline.core import PipelineEndpoint

    for kwargs in ({"name": _name("v1endpoint")}, {"id": str(uuid.uuid4())}):
        with pytest.raises(HttpOperationError) as raised:
            PipelineEndpoint.get(workspace=ws, **kwargs)
        assert isinstance(raised.value, UserErrorException) and raised.value.response.status_code == 404
        assert next(iter(kwargs.values())) in str(raised.value)


def test_schedule_get_miss(ws: Any, msrest_installed: type) -> None:
    from msrest.exceptions import HttpOperationError

    from azureml.exceptions import UserErrorException
    from azureml.pipeline.core import Schedule

    missing = str(uuid.uuid4())
    for caught in (UserErrorException, HttpOperationError):
        with pytest.raises(caught, match=missing):
            Schedule.get(ws, missing)
