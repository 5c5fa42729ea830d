"""The seed articles' pipeline-building snippets run with only ``azureml`` -> ``durableml`` changed.

The snippets are read from the articles themselves (``tests/seeds/*.txt``) at test time, so the
test runs the articles' code, not a copy made of it. Each ```python block either builds something
(run here, in article order, against the ServiceDouble) or needs a running service or a step
process (listed in ``SERVICE_OR_STEP_BLOCKS``, covered by the end-to-end tests). A block in neither
list fails the test, so a snippet cannot be skipped silently. The articles leave a few names
undefined (``project_folder``, ``extractStep``, ``my_dataset``...); ``GLUE`` defines them, as a
reader would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from durableml.pipeline.core import Pipeline
from sdk_double import ServiceDouble
from tests.seed_blocks import SEEDS, durableml, python_blocks


AUTHORING_BLOCKS = [
    "Workspace.from_config()",
    "get_default_datastore()",
    "upload_files(",
    "DataReference(",
    "Dataset.Tabular",
    "PipelineData(",
    "AmlCompute.provisioning_configuration",
    "DatabricksCompute.attach_configuration",
    "AdlaCompute.attach_configuration",
    "trainStep = ",
    "compareModels = ",
    "DatabricksStep(",
    "dataset_consuming_step = ",
    "PipelineParameter(",
    "compareStep = ",
    "hash_paths=",
]
SERVICE_OR_STEP_BLOCKS = [
    ".submit(pipeline1)",
    "publish_pipeline(",
    "requests.post(",
    "PublishedPipeline.get(",
    "Run.get_context()",
    "pipeline_endpoint_by_name.submit(",
]
GLUE = {
    "trainStep = ": """
from azureml.core import Dataset
project_folder = "project"
my_dataset = Dataset.File.from_files((def_blob_store, "train-dataset/iris.csv"))
""",
    "compareModels = ": """
extracted_data = PipelineData("extracted_data", datastore=def_blob_store)
extractStep = PythonScriptStep(
    script_name="extract.py", arguments=["--input", output_data1, "--output", extracted_data],
    inputs=[output_data1], outputs=[extracted_data], compute_target=compute_target, source_directory=project_folder,
)
comp_data1, comp_data2 = output_data1, extracted_data
out_data3 = PipelineData("out_data3", datastore=def_blob_store)
compareStep = PythonScriptStep(
    script_name="compare.py",
    arguments=["--comp_data1", comp_data1, "--comp_data2", comp_data2, "--output_data", out_data3],
    inputs=[comp_data1, comp_data2], outputs=[out_data3],
    compute_target=compute_target, source_directory=project_folder,
)
""",
    "DatabricksStep(": """
from azureml.data.data_reference import DataReference
step_1_input = DataReference(
    datastore=def_blob_store, data_reference_name="step_1_input", path_on_datastore="dbfs/input"
)
step_1_output = PipelineData("step_1_output", datastore=def_blob_store)
notebook_path = "/Users/someone@example.com/train-notebook"
""",
    "hash_paths=": """
aml_compute = compute_target
source_directory = project_folder
""",
}


def run_authoring_blocks(seed: Path) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "seed"}
    for block in python_blocks(seed):
        authoring = [m for m in AUTHORING_BLOCKS if m in block]
        service = [m for m in SERVICE_OR_STEP_BLOCKS if m in block]
        assert authoring or service, (
            f"{seed.name}: a snippet is neither run nor listed as needing the service:\n{block}"
        )
        if service:
            continue
        for marker, glue in GLUE.items():
            if marker in block:
                exec(durableml(glue), namespace)  # noqa: S102 - glue for names the article leaves undefined
        exec(compile(durableml(block), f"<{seed.name}>", "exec"), namespace)  # noqa: S102 - the article's code
    return namespace


@pytest.fixture
def article_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client_factory: ServiceDouble) -> Path:
    """A working directory with the files the articles upload and the scripts their steps run."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "20news.pkl").write_bytes(b"pickle")
    (tmp_path / "iris.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (tmp_path / "project").mkdir()
    for script in ("train.py", "extract.py", "compare.py", "iris_train.py", "hello_world.py"):
        (tmp_path / "project" / script).write_text("print('hi')\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name)
def test_seed_snippets_build_and_compile(seed: Path, article_dir: Path, client_factory: ServiceDouble) -> None:
    ns = run_authoring_blocks(seed)
    assert type(ns["compute_target"]).__name__ == "AmlCompute"
    assert client_factory.computes["aml-compute"]["maxNodeCount"] == 4
    assert {c["type"] for c in client_factory.computes.values()} == {"AmlCompute", "Databricks", "DataLakeAnalytics"}
    assert any(call[0] == "upload_files" for call in client_factory.calls)

    databricks = ns["pipeline1"].to_document()  # the article's last pipeline1 is the DatabricksStep one
    assert [s["kind"] for s in databricks["steps"]] == ["databricks"]
    assert databricks["steps"][0]["settings"]["notebookParams"] == {
        "myparam": {"kind": "literal", "value": "testparam"}
    }

    compare = Pipeline(ns["ws"], [ns["compareStep"]]).to_document()  # closure from the last step
    assert [s["name"] for s in compare["steps"]] == ["train.py", "extract.py", "compare.py"]
    assert compare["parameters"] == {"pipeline_arg": {"type": "int", "default": 10}}
    assert {"kind": "parameter", "name": "pipeline_arg"} in compare["steps"][2]["arguments"]
    assert json.dumps(compare, sort_keys=True) == json.dumps(
        Pipeline(ns["ws"], [ns["compareStep"]]).to_document(), sort_keys=True
    )

    hello = Pipeline(ns["ws"], [ns["step"]]).to_document()["steps"][0]
    assert (
        hello["name"] == "Hello World"
        and hello["allowReuse"] is False
        and hello["snapshot"]["hashPaths"] == ["hello_world.ipynb"]
    )


def train_inputs(ns: dict[str, Any]) -> dict[str, Any]:
    return Pipeline(ns["ws"], [ns["trainStep"]]).to_document()["steps"][0]["inputs"]


def test_first_article_reads_a_data_reference(article_dir: Path) -> None:
    ns = run_authoring_blocks(SEEDS[0])
    assert train_inputs(ns)["test_data"]["source"] == {
        "kind": "datastore",
        "datastore": "workspaceblobstore",
        "path": "20newsgroups/20news.pkl",
    }


def test_second_article_reads_datasets(article_dir: Path) -> None:
    ns = run_authoring_blocks(SEEDS[1])
    inputs = train_inputs(ns)
    assert inputs["input1"]["mode"] == "download" and inputs["input1"]["datasetType"] == "file"
    consuming = Pipeline(ns["ws"], [ns["dataset_consuming_step"]]).to_document()["steps"][0]
    assert consuming["inputs"]["iris_data"]["datasetType"] == "tabular"
    assert consuming["inputs"]["iris_data"]["source"]["dataset"]["paths"] == [
        {"datastore": "workspaceblobstore", "path": "train-dataset/iris.csv"}
    ]


def test_submit_snippet_sends_the_document_with_snapshots(article_dir: Path, client_factory: ServiceDouble) -> None:
    ns = run_authoring_blocks(SEEDS[0])
    ns["pipeline1"] = Pipeline(ns["ws"], [ns["compareStep"]])
    submit = next(block for block in python_blocks(SEEDS[0]) if ".submit(pipeline1)" in block)
    exec(durableml(submit), ns)  # noqa: S102 - the article's code
    (record,) = client_factory.submitted
    assert record["experimentName"] == "Compare_Models_Exp"
    assert all(step["snapshot"]["id"] for step in record["document"]["steps"])
    assert ns["pipeline_run1"].get_status() == "Finished"
