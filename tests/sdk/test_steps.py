"""Step types other than PythonScriptStep: ParallelRunStep, DataTransferStep, DatabricksStep, AdlaStep."""

from __future__ import annotations

import pytest

from durableml.core import Dataset, Datastore, Environment, Workspace
from durableml.core.runconfig import JarLibrary
from durableml.data.data_reference import DataReference
from durableml.exceptions import ValidationError
from durableml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from durableml.pipeline.steps import AdlaStep, DatabricksStep, DataTransferStep, ParallelRunConfig, ParallelRunStep


def config(**overrides: object) -> ParallelRunConfig:
    settings: dict[str, object] = dict(
        environment=Environment("env"), entry_script="score.py", error_threshold=10, output_action="append_row",
        compute_target="cpu", node_count=2, mini_batch_size="5", source_directory="scripts",
    )  # fmt: skip
    settings.update(overrides)
    return ParallelRunConfig(**settings)  # type: ignore[arg-type]


def test_parallel_run_step_settings_and_parameters(ws: Workspace, blob_store: Datastore) -> None:
    images = Dataset.File.from_files((blob_store, "mnist/*.png"))
    batch = PipelineParameter("mini_batch_size", "10")
    output = PipelineData("inferences", datastore=blob_store)
    step = ParallelRunStep(
        name="batch-score", parallel_run_config=config(mini_batch_size=batch),
        inputs=[images.as_named_input("mnist").as_mount()], output=output, allow_reuse=False,
    )  # fmt: skip
    entry = Pipeline(ws, [step]).to_document()["steps"][0]
    assert entry["kind"] == "parallel_run" and entry["settings"]["miniBatchSize"] == {
        "kind": "parameter",
        "name": "mini_batch_size",
    }
    assert entry["settings"]["nodeCount"] == {"kind": "literal", "value": 2}
    assert entry["settings"]["appendRowFileName"] == "parallel_run_step.txt" and list(entry["outputs"]) == [
        "inferences"
    ]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"output_action": "append"}, "output_action 'append' must be 'append_row' or 'summary_only'"),
    ({"node_count": 0}, "node_count must be a positive integer"),
    ({"error_threshold": -2}, "error_threshold must be an integer >= -1"),
    ({"node_count": PipelineParameter("n", "2")}, "node_count parameter 'n' must have an int default"),
])  # fmt: skip
def test_parallel_run_config_checks(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        config(**overrides)


def test_data_transfer_into_pipeline_data_and_to_a_datastore(ws: Workspace, blob_store: Datastore) -> None:
    source = DataReference(blob_store, "src", "input/")
    staged = PipelineData("staged", datastore=blob_store)
    copy = DataTransferStep(
        name="copy", source_data_reference=source, destination_data_reference=staged, compute_target="adf"
    )
    out = DataTransferStep(name="publish", source_data_reference=staged, compute_target="adf",
                           destination_data_reference=DataReference(blob_store, "dst", "published/"))  # fmt: skip
    document = Pipeline(ws, [out]).to_document()
    assert [s["name"] for s in document["steps"]] == ["copy", "publish"] and copy.name == "copy"
    assert document["steps"][1]["settings"]["destination"] == {"datastore": "workspaceblobstore", "path": "published/"}
    assert document["steps"][0]["snapshot"] is None
    with pytest.raises(ValidationError, match="needs both"):
        DataTransferStep(name="x", source_data_reference=source)


def test_databricks_step_records_settings_and_sorts_sets(ws: Workspace, blob_store: Datastore) -> None:
    param = PipelineParameter("myparam", "value")
    step = DatabricksStep(
        name="dbjar", inputs=[DataReference(blob_store, "jar_input", "in")], outputs=[PipelineData("jar_out")],
        main_class_name="com.example.Main", jar_params={"--b", param, "--a"},
        jar_libraries=[JarLibrary("dbfs:/lib.jar")],
        num_workers=1, compute_target="databricks", allow_reuse=False,
    )  # fmt: skip
    settings = Pipeline(ws, [step]).to_document()["steps"][0]["settings"]
    assert settings["target"] == {"kind": "main_class_name", "value": "com.example.Main"}
    assert settings["jarParams"] == [{"kind": "literal", "value": "--a"}, {"kind": "literal", "value": "--b"},
                                     {"kind": "parameter", "name": "myparam"}]  # fmt: skip
    assert settings["libraries"] == [{"kind": "jar", "library": "dbfs:/lib.jar"}]


def test_databricks_step_needs_exactly_one_thing_to_run() -> None:
    with pytest.raises(ValidationError, match="^Exactly one of notebook_path, python_script_path, python_script_name"):
        DatabricksStep(name="x", notebook_path="/nb", python_script_path="dbfs:/a.py", existing_cluster_id="c")
    with pytest.raises(ValidationError, match="^If python_script_name is specified then source_directory must be too"):
        DatabricksStep(name="x", python_script_name="train.py", existing_cluster_id="c")
    with pytest.raises(ValidationError, match="^one of num_workers or min_workers and max_workers is required"):
        DatabricksStep(name="x", notebook_path="/nb", compute_target="d")
    with pytest.raises(ValidationError, match="^exactly one of num_workers or min_workers and max_workers"):
        DatabricksStep(name="x", notebook_path="/nb", compute_target="d", num_workers=1, max_workers=2)
    with pytest.raises(ValidationError, match="^Exactly one of node_type or instance_pool_id can be specified"):
        DatabricksStep(name="x", notebook_path="/nb", compute_target="d", num_workers=1, node_type="a",
                       instance_pool_id="p")  # fmt: skip
    with pytest.raises(ValidationError, match="^compute_target is required"):
        DatabricksStep(name="x", notebook_path="/nb", existing_cluster_id="c")


def test_adla_step_compiles(ws: Workspace, blob_store: Datastore) -> None:
    step = AdlaStep(script_name="sample.usql", inputs=[DataReference(blob_store, "usql_in", "in")],
                    outputs=[PipelineData("usql_out")], compute_target="adla", source_directory="usql")  # fmt: skip
    entry = Pipeline(ws, [step]).to_document()["steps"][0]
    assert entry["name"] == "sample.usql" and entry["kind"] == "adla"
