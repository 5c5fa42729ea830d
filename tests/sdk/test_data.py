"""Data authoring objects: data references, paths, datasets, consumption configs, outputs, parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from durableml.core import Dataset, Datastore, Workspace
from durableml.data import OutputFileDatasetConfig
from durableml.data.data_reference import DataReference
from durableml.data.datapath import DataPath, DataPathComputeBinding
from durableml.data.dataset_consumption_config import DatasetConsumptionConfig
from durableml.exceptions import InvalidNameError, NotSupportedError, ValidationError
from durableml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from durableml.pipeline.steps import PythonScriptStep


def only_step(ws: Workspace, **kwargs: Any) -> dict[str, Any]:
    step = PythonScriptStep(script_name="s.py", compute_target="c", **kwargs)
    return Pipeline(ws, [step]).to_document()["steps"][0]


def test_data_reference_modes_and_placeholder(blob_store: Datastore) -> None:
    ref = DataReference(datastore=blob_store, data_reference_name="raw", path_on_datastore="/a/b.csv")
    assert ref.mode == "mount" and ref.path_on_datastore == "a/b.csv" and str(ref) == "$AZUREML_DATAREFERENCE_raw"
    download = ref.as_download(path_on_compute="/tmp/raw", overwrite=True)
    assert (download.mode, download.path_on_compute, download.overwrite) == ("download", "/tmp/raw", True)
    assert ref.mode == "mount"  # as_download returns a copy
    with pytest.raises(ValidationError, match="mode 'copy' is not supported"):
        DataReference(blob_store, "raw", "a", mode="copy")
    with pytest.raises(InvalidNameError, match="'bad name'"):
        DataReference(blob_store, "bad name", "a")


def test_explicit_mode_in_arguments_wins_over_the_inputs_list(ws: Workspace, blob_store: Datastore) -> None:
    ref = DataReference(blob_store, "raw", "a.csv")
    step = only_step(ws, arguments=["--in", ref.as_download()], inputs=[ref])
    assert list(step["inputs"]) == ["raw"] and step["inputs"]["raw"]["mode"] == "download"
    with pytest.raises(ValidationError, match="uses input 'raw' both as 'mount' and as 'download'; pick one"):
        PythonScriptStep(script_name="s.py", arguments=[ref.as_download()], inputs=[ref.as_mount()])


def test_two_different_inputs_with_one_name_are_rejected(blob_store: Datastore) -> None:
    with pytest.raises(ValidationError, match="two different inputs named 'raw'"):
        PythonScriptStep(
            script_name="s.py", inputs=[DataReference(blob_store, "raw", "a"), DataReference(blob_store, "raw", "b")]
        )


def test_datapath_parameter_with_binding_in_arguments_and_inputs(ws: Workspace, blob_store: Datastore) -> None:
    param = PipelineParameter("input_data", DataPath(datastore=blob_store, path_on_datastore="raw/x.csv"))
    binding = DataPathComputeBinding(mode="mount")
    step = only_step(ws, arguments=["--data", (param, binding)], inputs=[(param, binding)])
    assert step["inputs"]["input_data"]["source"] == {"kind": "parameter", "name": "input_data"}
    with pytest.raises(ValidationError, match="pair it with a binding"):
        PythonScriptStep(script_name="s.py", arguments=[param])


def test_datastore_path_is_accepted_as_a_datapath(blob_store: Datastore) -> None:
    param = PipelineParameter("p", blob_store.path("raw/x.csv"))
    assert param.type == "datapath" and param.default_to_document() == {
        "datastore": "workspaceblobstore",
        "path": "raw/x.csv",
    }


@pytest.mark.parametrize(("default", "kind"), [("a", "string"), (3, "int"), (2.5, "float"), (True, "bool")])
def test_parameter_types_come_from_the_default(default: object, kind: str) -> None:
    assert PipelineParameter("p", default).type == kind


def test_parameter_defaults_that_cannot_be_typed_are_rejected() -> None:
    with pytest.raises(ValidationError, match=r"default of type list \(\[1, 2\]\)"):
        PipelineParameter("p", [1, 2])
    with pytest.raises(ValidationError, match="finite"):
        PipelineParameter("p", float("nan"))


def test_dataset_definitions_accept_tuples_globs_datapaths_and_urls(blob_store: Datastore) -> None:
    files = Dataset.File.from_files(
        path=[(blob_store, "images/*.jpg"), DataPath(blob_store, "more"), "https://example.com/a.csv"]
    )
    assert files.to_dict()["paths"] == [
        {"datastore": "workspaceblobstore", "path": "images/*.jpg"},
        {"datastore": "workspaceblobstore", "path": "more"},
        {"url": "https://example.com/a.csv"},
    ]
    with pytest.raises(ValidationError, match="is not supported: use"):
        Dataset.File.from_files("local/folder")


def test_unregistered_dataset_ids_are_stable_and_content_derived(blob_store: Datastore) -> None:
    one = Dataset.Tabular.from_delimited_files([(blob_store, "train/iris.csv")])
    two = Dataset.Tabular.from_delimited_files([(blob_store, "train/iris.csv")])
    other = Dataset.Tabular.from_delimited_files([(blob_store, "train/iris.csv")], separator=";")
    assert one.id == two.id != other.id
    first, second = one.random_split(0.8, seed=1)
    assert first.id != second.id != one.id


def test_named_inputs_and_modes(ws: Workspace, blob_store: Datastore) -> None:
    files = Dataset.File.from_files((blob_store, "images"))
    step = only_step(ws, arguments=["--images", files.as_named_input("images").as_mount("/mnt/images")])
    assert step["inputs"]["images"]["mode"] == "mount" and step["inputs"]["images"]["pathOnCompute"] == "/mnt/images"
    with pytest.raises(NotSupportedError, match="as_hdfs"):
        files.as_named_input("x").as_hdfs()
    with pytest.raises(ValidationError, match="needs a dataset"):
        DatasetConsumptionConfig("x", "not a dataset")


def test_dataset_parameter_in_a_consumption_config(ws: Workspace, blob_store: Datastore) -> None:
    param = PipelineParameter("images", Dataset.File.from_files((blob_store, "images")))
    step = only_step(ws, inputs=[DatasetConsumptionConfig("images", param).as_mount()])
    assert step["inputs"]["images"]["source"] == {"kind": "parameter", "name": "images"}
    assert step["inputs"]["images"]["datasetType"] == "file"


def test_dataset_reads_go_through_the_workspace_client(blob_store: Datastore, service: Any, tmp_path: Path) -> None:
    files = Dataset.File.from_files((blob_store, "images/*.jpg"))
    service.download_dataset = lambda definition, target, overwrite: [
        f"{target}/{p['path']}" for p in definition["paths"]
    ]
    assert files.download(str(tmp_path)) == [f"{tmp_path}/images/*.jpg"]
    with pytest.raises(ValidationError, match="not an http"):  # http(s) URLs are fetched (tests/sdk/test_url_data.py)
        Dataset.File.from_files("wasbs://c@a.blob.core.windows.net/a.csv").download(str(tmp_path))


def test_output_file_dataset_config_destination_and_registration(ws: Workspace, blob_store: Datastore) -> None:
    out = OutputFileDatasetConfig(name="scores", destination=(blob_store, "outputdataset/{run-id}")).as_upload(
        overwrite=True
    )
    out.register_on_complete(name="scores_ds", description="scores")
    entry = only_step(ws, arguments=["--out", out])["outputs"]["scores"]
    assert (entry["destination"], entry["mode"], entry["overwrite"]) == ("outputdataset/{run-id}", "upload", True)
    assert entry["registerAs"]["name"] == "scores_ds"
    with pytest.raises(ValidationError, match="destination must be a"):
        OutputFileDatasetConfig(destination="outputdataset")  # type: ignore[arg-type]


def test_unnamed_output_is_named_after_its_step(ws: Workspace) -> None:
    out = OutputFileDatasetConfig()
    PythonScriptStep(script_name="prep.py", arguments=[out], compute_target="c")
    assert out.name == "prep_py_output_0"


def test_tabular_view_of_an_output_is_a_tabular_input(ws: Workspace) -> None:
    out = OutputFileDatasetConfig(name="prepped")
    PythonScriptStep(script_name="prep.py", arguments=[out], compute_target="c")
    train = PythonScriptStep(
        script_name="train.py",
        compute_target="c",
        arguments=["--data", out.read_delimited_files().keep_columns(["a"]).as_input("table")],
    )
    entry = Pipeline(ws, [train]).to_document()["steps"][1]["inputs"]["table"]
    assert entry["datasetType"] == "tabular" and entry["view"]["transforms"] == [
        {"kind": "keep_columns", "columns": ["a"]}
    ]


def test_pipeline_data_settings_reach_the_document(ws: Workspace, blob_store: Datastore) -> None:
    data = PipelineData(
        "model_file",
        datastore=blob_store,
        output_mode="upload",
        is_directory=False,
        output_path_on_compute="outputs/model.pkl",
        pipeline_output_name="best_model",
    )
    entry = only_step(ws, outputs=[data], arguments=["--model", data])["outputs"]["model_file"]
    assert (entry["mode"], entry["isDirectory"], entry["pipelineOutputName"]) == ("upload", False, "best_model")
    assert entry["destination"] == "azureml/{run-id}/{output-name}"
    with pytest.raises(InvalidNameError):
        PipelineData("bad-name with space")
    with pytest.raises(ValidationError, match="output_mode"):
        PipelineData("x", output_mode="download")


def test_pipeline_data_as_dataset_is_keyed_by_its_name(ws: Workspace) -> None:
    data = PipelineData("cleansed_green_data")
    PythonScriptStep(script_name="clean.py", outputs=[data], compute_target="c")
    merge = PythonScriptStep(
        script_name="merge.py", inputs=[data.as_dataset().parse_parquet_files()], compute_target="c"
    )
    entry = Pipeline(ws, [merge]).to_document()["steps"][1]["inputs"]["cleansed_green_data"]
    assert entry["datasetType"] == "tabular" and entry["view"]["format"]["kind"] == "parquet"
