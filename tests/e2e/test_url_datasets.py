"""Datasets over http(s) URLs and mounted paths with no data (issue 12, items 2 and 3), end to end.

Written the way v1 code is: ``from azureml.core import ...`` through the alias, ``Workspace.from_config()``
in a directory holding the config.json of a real funchost + Azurite. The URLs are served by a local HTTP
server on 127.0.0.1 (tests/http_files.py); the step runner fetches them itself.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.http_files import FileServer, serve_files

from ._helpers import ensure_compute, step_summary
from .conftest import PROJECTS, Service

PROJECT = PROJECTS / "url_datasets"
IRIS = "sepal,label\n5.1,setosa\n7.0,versicolor\n"
MORE = "sepal,label\n6.3,virginica\n"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    with serve_files(tmp_path_factory.mktemp("web")) as files:
        files.write("data/iris.csv", IRIS)
        files.write("data/more/iris2.csv", MORE)
        files.write("data/readme.txt", "about iris")
        yield files


@pytest.fixture(scope="module")
def v1(v1_project: Path) -> Iterator[dict[str, Any]]:
    """The ``azureml`` names v1 code imports, and the workspace ``Workspace.from_config()`` finds (cwd)."""
    with pytest.MonkeyPatch.context() as patch:  # the alias is on for the module (v1_project)
        patch.chdir(v1_project)
        from azureml.core import Dataset, Datastore, Experiment, Workspace
        from azureml.data.data_reference import DataReference
        from azureml.data.datapath import DataPath, DataPathComputeBinding
        from azureml.pipeline.core import Pipeline, PipelineParameter
        from azureml.pipeline.steps import PythonScriptStep

        ws = Workspace.from_config()
        ensure_compute(ws, max_nodes=2)
        yield {
            "ws": ws,
            "Dataset": Dataset,
            "Datastore": Datastore,
            "Experiment": Experiment,
            "DataReference": DataReference,
            "DataPath": DataPath,
            "DataPathComputeBinding": DataPathComputeBinding,
            "Pipeline": Pipeline,
            "PipelineParameter": PipelineParameter,
            "PythonScriptStep": PythonScriptStep,
        }


def _run(v1: dict[str, Any], arguments: list[Any], inputs: list[Any], name: str = "read") -> Any:
    step = v1["PythonScriptStep"](
        script_name="read_urls.py",
        name=name,
        source_directory=str(PROJECT),
        arguments=arguments,
        inputs=inputs,
        compute_target="e2e-cpu",
        allow_reuse=False,
    )
    run = v1["Experiment"](v1["ws"], "e2e-url-datasets").submit(v1["Pipeline"](v1["ws"], [step]))
    run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
    return run


def test_url_datasets_as_mounted_and_downloaded_step_inputs(
    v1: dict[str, Any], web: FileServer, service: Service, tmp_path: Path
) -> None:
    Dataset = v1["Dataset"]
    files = Dataset.File.from_files([web.url("data/iris.csv"), web.url("data/more/iris2.csv")])
    one = Dataset.File.from_files(path=web.url("data/readme.txt"))
    table = Dataset.Tabular.from_delimited_files(path=[web.url("data/iris.csv"), web.url("data/more/iris2.csv")])
    report = tmp_path / "report.json"
    mounted, downloaded = files.as_named_input("files").as_mount(), one.as_named_input("one").as_download()
    arguments = ["--report", str(report), "--path", "files", mounted, "--path", "one", downloaded]
    run = _run(v1, [*arguments, "--url", web.url("data/iris.csv")], [table.as_named_input("table")])
    assert run.get_status() == "Finished", f"{step_summary(run)}\n{service.log_tail()}"

    seen = json.loads(report.read_text())
    assert seen["args"]["files"]["files"] == {"iris.csv": IRIS, "more/iris2.csv": MORE}  # v1's common-prefix rule
    assert seen["args"]["one"] == {
        "path": seen["args"]["one"]["path"],
        "is_dir": False,
        "files": {"readme.txt": "about iris"},
    }
    assert seen["inputs"]["files"]["files"] == seen["args"]["files"]["files"]  # Run.get_context().input_datasets
    assert seen["inputs"]["one"]["path"] == seen["args"]["one"]["path"]
    assert seen["inputs"]["table"]["rows"] == [
        {"sepal": 5.1, "label": "setosa"},
        {"sepal": 7.0, "label": "versicolor"},
        {"sepal": 6.3, "label": "virginica"},
    ]
    assert seen["direct"]["rows"][1] == {"sepal": 7.0, "label": "versicolor"}  # read by the script itself
    assert seen["direct"]["first"] == [{"sepal": 5.1, "label": "setosa"}] and seen["direct"]["paths"] == ["/iris.csv"]
    log = run.find_step_run("read")[0].get_job_log()
    assert "input 'files': fetched 2 file(s)" in log, log


def test_a_url_dataset_parameter_and_urls_mixed_with_datastore_paths(
    v1: dict[str, Any], web: FileServer, service: Service, tmp_path: Path
) -> None:
    Dataset, ws = v1["Dataset"], v1["ws"]
    store = ws.get_default_datastore()
    folder = f"url-e2e/mixed-{uuid.uuid4().hex[:8]}"
    (tmp_path / "local.csv").write_text(MORE)
    store.upload_files([str(tmp_path / "local.csv")], target_path=folder, overwrite=True)
    mixed = Dataset.File.from_files([(store, f"{folder}/local.csv"), web.url("data/iris.csv")])
    param = v1["PipelineParameter"]("remote", default_value=Dataset.File.from_files(web.url("data/readme.txt")))
    from azureml.data.dataset_consumption_config import DatasetConsumptionConfig

    remote = DatasetConsumptionConfig("remote", param).as_download()
    report = tmp_path / "report.json"
    arguments = ["--report", str(report), "--path", "mixed", mixed.as_named_input("mixed").as_mount()]
    run = _run(v1, [*arguments, "--path", "remote", remote], [])
    assert run.get_status() == "Finished", f"{step_summary(run)}\n{service.log_tail()}"
    seen = json.loads(report.read_text())
    assert seen["args"]["mixed"]["files"] == {"local.csv": MORE, "iris.csv": IRIS}
    assert seen["args"]["remote"]["files"] == {"readme.txt": "about iris"}


def test_url_datasets_read_directly_and_registered(v1: dict[str, Any], web: FileServer, tmp_path: Path) -> None:
    Dataset, ws = v1["Dataset"], v1["ws"]
    files = Dataset.File.from_files([web.url("data/iris.csv"), web.url("data/more/iris2.csv")])
    assert files.to_path() == ["/iris.csv", "/more/iris2.csv"]
    local = files.download(target_path=str(tmp_path / "dl"), overwrite=True)
    assert [Path(p).read_text() for p in local] == [IRIS, MORE]
    assert files.take(1).download(str(tmp_path / "first")) == [str(tmp_path / "first" / "iris.csv")]

    name = f"url-iris-{uuid.uuid4().hex[:6]}"
    Dataset.Tabular.from_delimited_files(web.url("data/iris.csv")).register(ws, name)
    table = Dataset.get_by_name(ws, name)
    assert table.to_pandas_dataframe()["label"].tolist() == ["setosa", "versicolor"]
    assert table.take(1).to_pandas_dataframe()["label"].tolist() == ["setosa"]


@pytest.mark.parametrize(("route", "status"), [("files/data/gone.csv", 404), ("status/500/broken.csv", 500)])
def test_an_http_error_fails_the_step_naming_the_url_and_the_status(
    v1: dict[str, Any], web: FileServer, tmp_path: Path, route: str, status: int
) -> None:
    url = f"{web.base}/{route}"
    files = v1["Dataset"].File.from_files([url, web.url("data/iris.csv")], validate=False)
    report = tmp_path / "report.json"
    run = _run(v1, ["--report", str(report), "--path", "files", files.as_named_input("files").as_mount()], [])
    error = run.find_step_run("read")[0].get_details()["error"]
    assert run.get_status() == "Failed" and f"GET {url} answered HTTP {status}" in error, error
    assert not report.exists()


def test_mounted_paths_with_no_data_are_empty_folders_and_downloading_one_fails(
    v1: dict[str, Any], tmp_path: Path
) -> None:
    ws, DataPath = v1["ws"], v1["DataPath"]
    store = ws.get_default_datastore()
    (tmp_path / "elsewhere.txt").write_text("the datastore has data, just not at the paths the step reads\n")
    store.upload_files([str(tmp_path / "elsewhere.txt")], target_path="url-e2e", overwrite=True)
    nowhere = f"url-e2e/not-yet-{uuid.uuid4().hex[:8]}"
    param = v1["PipelineParameter"]("input_path", default_value=DataPath(datastore=store, path_on_datastore=nowhere))
    by_param = (param, v1["DataPathComputeBinding"](mode="mount"))
    by_ref = v1["DataReference"](datastore=store, data_reference_name="by_ref", path_on_datastore=f"{nowhere}/ref")
    report = tmp_path / "report.json"
    arguments = ["--report", str(report), "--path", "by_param", by_param, "--path", "by_ref", by_ref]
    run = _run(v1, arguments, [by_param, by_ref])
    assert run.get_status() == "Finished", step_summary(run)
    seen = json.loads(report.read_text())
    assert seen["args"]["by_param"]["is_dir"] and seen["args"]["by_param"]["files"] == {}
    assert seen["args"]["by_ref"]["is_dir"] and seen["args"]["by_ref"]["files"] == {}
    log = run.find_step_run("read")[0].get_job_log()
    assert f"path '{nowhere}' on datastore '{store.name}'" in log and "has no data" in log, log
    assert f"path '{nowhere}/ref' on datastore '{store.name}'" in log, log

    download = v1["DataReference"](store, "dl", f"{nowhere}/dl", mode="download")
    failed = _run(v1, ["--report", str(report), "--path", "dl", download], [download])
    error = failed.find_step_run("read")[0].get_details()["error"]
    assert failed.get_status() == "Failed" and "nothing found at" in error, error
    assert f"path '{nowhere}/dl' on datastore '{store.name}'" in error, error
