"""Every code block of the two seed articles, run in article order against a real durableml service.

The blocks are read from ``tests/seeds/*.txt`` and run with only ``azureml`` → ``durableml`` changed
(tests/sdk/test_seeds.py runs the same blocks against an SDK double), including the blocks that
publish a pipeline, call its REST endpoint with ``requests``, version it behind a PipelineEndpoint and
disable it. The in-step block (``Run.get_context()`` reading ``input_datasets``) runs *unchanged*, as the
step script ``iris_train.py``, through the ``azureml`` alias. Names the articles leave undefined
(``project_folder``, ``extractStep``, ``my_dataset``, ``aad_token``) get the few lines of glue a reader
would write; the pipeline id the article copies "from the studio" is given to the pipeline the way a
reader moving from Azure ML keeps the ids their callers use (publishing with ``id``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.seed_blocks import SEEDS, durableml, python_blocks

LATER: list[str] = []  # blocks not run yet: none
STUDIO_ID = "068f4885-7088-424b-8ce2-eeb9ba5381a6"
IN_STEP = "run_context.input_datasets"
STEP_SCRIPT = """import argparse, os
parser = argparse.ArgumentParser()
parser.add_argument("--input"); parser.add_argument("--output"); parser.add_argument("--param1")
parser.add_argument("--comp_data1"); parser.add_argument("--comp_data2"); parser.add_argument("--output_data")
args, _ = parser.parse_known_args()
for out in (args.output, args.output_data):
    if out:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "result.txt"), "w") as f:
            f.write(f"{os.path.basename(__file__)} param1={args.param1}")
print("ran", os.path.basename(__file__), "input", args.input or args.comp_data1)
"""
GLUE = {
    "trainStep = ": """
from azureml.core import Dataset
project_folder = "project"
my_dataset = Dataset.File.from_files((def_blob_store, "train-dataset/iris.csv"))
""",
    "compareModels = ": """
extracted = PipelineData("extracted", datastore=def_blob_store)
extractStep = PythonScriptStep(script_name="extract.py", arguments=["--input", output_data1, "--output", extracted],
                               inputs=[output_data1], outputs=[extracted], compute_target=compute_target,
                               source_directory=project_folder)
comp_data1, comp_data2 = output_data1, extracted
out_data3 = PipelineData("out_data3", datastore=def_blob_store)
compareStep = PythonScriptStep(script_name="compare.py", arguments=["--comp_data1", comp_data1, "--comp_data2",
                               comp_data2, "--output_data", out_data3], inputs=[comp_data1, comp_data2],
                               outputs=[out_data3], compute_target=compute_target, source_directory=project_folder)
""",
    "DatabricksStep(": """
from azureml.data.data_reference import DataReference
step_1_input = DataReference(datastore=def_blob_store, data_reference_name="step_1_input",
                             path_on_datastore="dbfs/input")
step_1_output = PipelineData("step_1_output", datastore=def_blob_store)
notebook_path = "/Users/someone@example.com/train-notebook"
""",
    "hash_paths=": """
aml_compute = compute_target
source_directory = project_folder
""",
    "requests.post(": """
from azureml.core.authentication import InteractiveLoginAuthentication
aad_token = InteractiveLoginAuthentication().get_authentication_header()
""",
    STUDIO_ID: f"""
import json, pathlib
# The pipeline the reader copied the id of in the studio, published here under that id.
endpoint = json.loads(pathlib.Path("config.json").read_text())["endpoint"]
requests.post(endpoint + "/api/published-pipelines", headers=aad_token,
              json={{"sourceRunId": pipeline_run1.id, "name": "From the studio", "id": "{STUDIO_ID}"}}
              ).raise_for_status()
""",
    # The article submits "pipeline1", last assigned to the Databricks example; a reader submits the
    # compare pipeline (with the dataset step) they built before it.
    ".submit(pipeline1)": """
steps = [compareStep] + ([dataset_consuming_step] if "dataset_consuming_step" in globals() else [])
pipeline1 = Pipeline(workspace=ws, steps=steps)
""",
}


@pytest.fixture
def article(service: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The article's working directory: config.json, its data files, and the step scripts."""
    service.write_config(tmp_path)
    monkeypatch.chdir(tmp_path)
    examples = Path(__file__).resolve().parents[2] / "examples" / "compare_models" / "data"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "20news.pkl").write_bytes((examples / "20news.pkl").read_bytes())
    (tmp_path / "iris.csv").write_bytes((examples / "iris.csv").read_bytes())
    (tmp_path / "project").mkdir()
    for script in ("train.py", "extract.py", "compare.py", "hello_world.py"):
        (tmp_path / "project" / script).write_text(STEP_SCRIPT, encoding="utf-8")
    return tmp_path


def in_step_block(seed: Path) -> str:
    return next((b for b in python_blocks(seed) if IN_STEP in b), "")


def run_article(seed: Path, article: Path, service: Any) -> dict[str, Any]:
    step_code = in_step_block(seed)
    if step_code:  # the article's own in-step code is the step script, unchanged (azureml imports and all)
        (article / "project" / "iris_train.py").write_text(step_code + "\nprint('rows', len(dataframe))\n")
    from durableml.core import Datastore, Workspace

    store = Datastore(Workspace.from_config(), "workspaceblobstore")
    store.upload_files(
        [str(Path(__file__).resolve().parents[2] / "examples/compare_models/data/iris.csv")],
        target_path="train-dataset",
        overwrite=True,
    )
    namespace: dict[str, Any] = {"__name__": "article"}
    for block in python_blocks(seed):
        if block == step_code or any(marker in block for marker in LATER) or "Run.get_context()" in block:
            continue
        for marker, glue in GLUE.items():
            if marker in block:
                exec(durableml(glue), namespace)  # noqa: S102 - names the article leaves undefined
        exec(compile(durableml(block), f"<{seed.name}>", "exec"), namespace)  # noqa: S102 - the article's code
    return namespace


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name)
def test_article_runs_against_the_service(seed: Path, article: Path, service: Any) -> None:
    pytest.importorskip("pandas")  # the article's iris_train.py reads a TabularDataset with pandas
    ns = run_article(seed, article, service)
    run = ns["pipeline_run1"]
    assert run.get_status() == "Finished", service.log_tail()
    names = sorted(s.name for s in run.get_steps())
    expected = ["compare.py", "extract.py", "train.py"] + (["iris_train.py"] if in_step_block(seed) else [])
    assert names == sorted(expected)
    for step in run.get_steps():
        log = step.get_job_log() if hasattr(step, "get_job_log") else ""
        if step.name == "iris_train.py":
            assert re.search(r"rows 60", log), log
        elif step._record.get("reusedFrom") is None:
            assert f"ran {step.name}" in log, log
    assert os.path.exists(article / "config.json")
    check_published(ns, service)


def check_published(ns: dict[str, Any], service: Any) -> None:
    """What the publish, REST, endpoint and disable blocks did, seen through the service."""
    response = ns["response"]
    assert response.status_code == 200, response.text
    rest_run = service.api("GET", f"/api/runs/{response.json()['Id']}").json()
    assert rest_run["runSource"] == "API"
    assert rest_run["experimentName"] in ("My_Pipeline", "PipelineEndpointExperiment")
    published = ns["published_pipeline1"]
    assert published.status == "Active" and published.name == "My_Published_Pipeline"
    if "pipeline_endpoint_by_name" not in ns:
        return
    endpoint = ns["pipeline_endpoint_by_name"]
    assert [v.version for v in endpoint.list_versions()] == ["0"]
    assert ns["run_id"].experiment.name == "PipelineEndpointExperiment"
    assert rest_run["properties"]["azureml.pipelineEndpointId"] == endpoint.id
    assert ns["p"].status == "Disabled" and ns["p"].id == STUDIO_ID
    refused = service.api("POST", urlsplit(ns["p"].endpoint).path, json={"ExperimentName": "after-disable"})
    assert refused.status_code == 410 and "Disabled" in refused.json()["error"]["message"]
