"""Pipeline parameters of every type, published, and overridden through the SDK and through REST.

One step (``projects/params/seen.py``) prints every value it received: str, int, float and bool
parameters as arguments, a DataPath parameter bound with DataPathComputeBinding, a FileDataset
parameter through DatasetConsumptionConfig, and a TabularDataset parameter read as
``input_datasets["table"]``. The tests compare what the script saw with what the caller sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from durableml.core import Dataset, Datastore, Experiment
from durableml.core.authentication import InteractiveLoginAuthentication
from durableml.data.datapath import DataPath, DataPathComputeBinding
from durableml.data.dataset_consumption_config import DatasetConsumptionConfig
from durableml.pipeline.core import Pipeline, PipelineData, PublishedPipeline
from durableml.pipeline.core.graph import PipelineParameter
from durableml.pipeline.steps import PythonScriptStep

from ._helpers import ensure_compute, seen

PARAMS_DIR = Path(__file__).resolve().parent / "projects" / "params"
DEFAULTS = {"text": "hello", "count": 10, "ratio": 0.5, "flag": "False", "path": ["A1"], "files": "F1", "table_rows": 3}


@pytest.fixture(scope="module")
def env(service: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    pytest.importorskip("pandas")  # the step reads the tabular dataset with pandas
    ws = service.workspace()
    store = Datastore(ws, "workspaceblobstore")
    data = tmp_path_factory.mktemp("params-data")
    files = {
        "params/a/one.txt": "A1",
        "params/b/two.txt": "B2",
        "params/f1.txt": "F1",
        "params/f2.txt": "F2",
        "params/t3.csv": "x,y\n" + "1,2\n" * 3,
        "params/t5.csv": "x,y\n" + "1,2\n" * 5,
    }
    for name, text in files.items():
        local = data / name
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(text)
        store.upload_files([str(local)], target_path=str(Path(name).parent), overwrite=True)
    table5 = Dataset.Tabular.from_delimited_files((store, "params/t5.csv")).register(
        ws, "params-t5", create_new_version=True
    )
    file2 = Dataset.File.from_files((store, "params/f2.txt")).register(ws, "params-f2", create_new_version=True)
    p_path = PipelineParameter("path", default_value=DataPath(store, "params/a"))
    p_files = PipelineParameter("files", default_value=Dataset.File.from_files((store, "params/f1.txt")))
    p_table = PipelineParameter("table", default_value=Dataset.Tabular.from_delimited_files((store, "params/t3.csv")))
    binding = (p_path, DataPathComputeBinding(mode="mount"))
    out = PipelineData("seen_out", datastore=store)
    step = PythonScriptStep(
        script_name="seen.py",
        name="seen",
        source_directory=str(PARAMS_DIR),
        compute_target=ensure_compute(ws),
        arguments=[
            "--text",
            PipelineParameter("text", default_value="hello"),
            "--count",
            PipelineParameter("count", default_value=10),
            "--ratio",
            PipelineParameter("ratio", default_value=0.5),
            "--flag",
            PipelineParameter("flag", default_value=False),
            "--path",
            binding,
            "--files",
            DatasetConsumptionConfig("files", p_files).as_mount(),
            "--out",
            out,
        ],
        inputs=[binding, DatasetConsumptionConfig("table", p_table)],
        outputs=[out],
        allow_reuse=False,
    )
    pipeline = Pipeline(workspace=ws, steps=[step])
    published = pipeline.publish(name="params", description="every parameter type", version="1")
    return {"ws": ws, "store": store, "pipeline": pipeline, "published": published, "table5": table5, "file2": file2}


def test_defaults_of_every_type_reach_the_script(env: dict[str, Any]) -> None:
    run = Experiment(env["ws"], "params-defaults").submit(env["pipeline"])
    assert seen(run) == DEFAULTS


def test_published_pipeline_record(env: dict[str, Any]) -> None:
    published = env["published"]
    again = PublishedPipeline.get(env["ws"], published.id)
    assert (again.name, again.description, again.version, again.status) == (
        "params",
        "every parameter type",
        "1",
        "Active",
    )
    assert again.endpoint.endswith(f"/PipelineRuns/PipelineSubmit/{published.id}")
    assert again.endpoint.startswith(env["ws"]._client.endpoint + "/api/pipelines/v1.0/subscriptions/")
    assert published.id in [p.id for p in PublishedPipeline.list(env["ws"])]


def test_sdk_overrides_of_every_type(env: dict[str, Any]) -> None:
    overrides = {
        "text": "bonjour",
        "count": 45,
        "ratio": 2.25,
        "flag": True,
        "path": DataPath(env["store"], "params/b"),
        "files": env["file2"],
        "table": env["table5"],
    }
    run = env["published"].submit(env["ws"], "params-sdk", pipeline_parameters=overrides)
    assert seen(run) == {
        "text": "bonjour",
        "count": 45,
        "ratio": 2.25,
        "flag": "True",
        "path": ["B2"],
        "files": "F2",
        "table_rows": 5,
    }
    assert run.get_details()["properties"]["azureml.pipelineid"] == env["published"].id


def test_rest_overrides_of_every_type(env: dict[str, Any], service: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(service.project)  # get_authentication_header() reads config.json like the SDK
    body = {
        "ExperimentName": "params-rest",
        "RunSource": "API",
        "ParameterAssignments": {"text": "hola", "count": "7", "ratio": 1.5, "flag": "true", "undeclared": 1},
        "DataPathAssignments": {"path": {"DataStoreName": "workspaceblobstore", "RelativePath": "params/b"}},
        "DataSetDefinitionValueAssignments": {
            "files": {"SavedDataSetReference": {"Id": env["file2"].id}},
            "table": {"SavedDataSetReference": {"Id": env["table5"].id}},
        },
    }
    headers = InteractiveLoginAuthentication().get_authentication_header()
    response = requests.post(env["published"].endpoint, headers=headers, json=body, timeout=30)
    response.raise_for_status()
    answer = response.json()
    assert answer["ExperimentName"] == "params-rest" and answer["Links"]["self"].endswith(answer["Id"])
    from durableml.pipeline.core.run import PipelineRun

    run = PipelineRun(Experiment(env["ws"], "params-rest"), answer["Id"])
    assert seen(run) == {
        "text": "hola",
        "count": 7,
        "ratio": 1.5,
        "flag": "True",
        "path": ["B2"],
        "files": "F2",
        "table_rows": 5,
    }
    assert service.api("GET", f"/api/runs/{answer['Id']}").json()["runSource"] == "API"


@pytest.mark.parametrize(
    ("section", "name", "value", "expected"),
    [
        ("ParameterAssignments", "count", "ten", "int"),
        ("ParameterAssignments", "count", 1.5, "int"),
        ("ParameterAssignments", "ratio", "abc", "float"),
        ("ParameterAssignments", "flag", "maybe", "bool"),
        ("ParameterAssignments", "text", {"a": 1}, "string"),
        ("ParameterAssignments", "path", "params/b", "datapath"),
        ("DataPathAssignments", "path", {"DataStoreName": "workspaceblobstore"}, "datapath"),
        ("DataPathAssignments", "count", {"RelativePath": "x"}, "int"),
        ("DataSetDefinitionValueAssignments", "table", {"SavedDataSetReference": {"Id": "FILE2"}}, "tabular_dataset"),
        ("DataSetDefinitionValueAssignments", "files", {"Id": "x"}, "file_dataset"),
    ],
)
def test_rest_wrong_types_are_400_naming_parameter_and_type(
    env: dict[str, Any], service: Any, section: str, name: str, value: Any, expected: str
) -> None:
    if value == {"SavedDataSetReference": {"Id": "FILE2"}}:
        value = {"SavedDataSetReference": {"Id": env["file2"].id}}  # a file dataset for a tabular parameter
    before = len(service.api("GET", "/api/experiments/params-bad/runs").json())
    response = requests.post(
        env["published"].endpoint,
        headers={"x-functions-key": service.key},
        timeout=30,
        json={"ExperimentName": "params-bad", section: {name: value}},
    )
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert f"'{name}'" in message and expected in message, message
    assert len(service.api("GET", "/api/experiments/params-bad/runs").json()) == before  # nothing half-created


def test_step_setting_parameters_are_typed_overridable_and_recorded(env: dict[str, Any], service: Any) -> None:
    """A node count given as a PipelineParameter (v1's runconfig_pipeline_params): in the schema, type-checked,
    recorded."""
    from durableml.pipeline.steps import PythonScriptStep

    nodes = PipelineParameter("nodecount", default_value=2)
    step = PythonScriptStep(
        "seen.py",
        name="scored",
        source_directory=str(PARAMS_DIR),
        compute_target=ensure_compute(env["ws"]),
        runconfig_pipeline_params={"NodeCount": nodes},
        allow_reuse=False,
    )
    published = Pipeline(workspace=env["ws"], steps=[step]).publish(name="nodes", description="", version="1")
    headers = {"x-functions-key": service.key}
    schema = requests.get(published.endpoint, headers=headers, timeout=30).json()
    assert schema["properties"]["ParameterAssignments"]["properties"]["nodecount"]["type"] == "integer"
    wrong = requests.post(
        published.endpoint,
        headers=headers,
        timeout=30,
        json={"ExperimentName": "nodes", "ParameterAssignments": {"nodecount": "many"}},
    )
    assert wrong.status_code == 400 and "'nodecount'" in wrong.text and "int" in wrong.text
    ok = requests.post(
        published.endpoint,
        headers=headers,
        timeout=30,
        json={"ExperimentName": "nodes", "ParameterAssignments": {"nodecount": "3", "NodeCount": 9}},
    )
    assert ok.status_code == 200, ok.text
    assert service.api("GET", f"/api/runs/{ok.json()['Id']}").json()["parameters"] == {"nodecount": 3}


def test_a_pipeline_durableml_cannot_run_is_refused_at_publish(env: dict[str, Any], service: Any) -> None:
    """A DatabricksStep on an AmlCompute target (a compute type it does not run on) is refused when published, naming
    the step; nothing is published."""
    from durableml.pipeline.steps import PythonScriptStep

    plain = PythonScriptStep(
        "seen.py", name="shell", source_directory=str(PARAMS_DIR), compute_target=ensure_compute(env["ws"])
    )
    document = Pipeline(workspace=env["ws"], steps=[plain]).to_document()
    document["steps"][0].update(kind="databricks", settings={"target": {"kind": "notebook_path", "value": "/x"}})
    answer = service.api("POST", "/api/published-pipelines", json={"document": document, "name": "databricks-nodes"})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (
        error["code"] == "NotSupported" and "step 'shell'" in error["message"] and "DatabricksStep" in error["message"]
    )
    listed = service.api("GET", "/api/published-pipelines").json()
    listed = listed.get("value", listed) if isinstance(listed, dict) else listed
    assert not any(p.get("name") == "databricks-nodes" for p in listed)
