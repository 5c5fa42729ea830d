"""A pipeline that uses most authoring features, shared by the document tests.

Run as a script (``python sample_pipelines.py``) it prints the compiled document as canonical
JSON, so a test can compile the same pipeline in another process and working directory.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from durableml.core import Dataset, Datastore, Environment, Workspace  # noqa: E402
from durableml.core.runconfig import RunConfiguration  # noqa: E402
from durableml.data import OutputFileDatasetConfig  # noqa: E402
from durableml.data.data_reference import DataReference  # noqa: E402
from durableml.data.datapath import DataPath, DataPathComputeBinding  # noqa: E402
from durableml.data.dataset_consumption_config import DatasetConsumptionConfig  # noqa: E402
from durableml.pipeline.core import Pipeline, PipelineData, PipelineParameter  # noqa: E402
from durableml.pipeline.steps import ParallelRunConfig, ParallelRunStep, PythonScriptStep  # noqa: E402
from sdk_double import ServiceDouble  # noqa: E402


def build_sample(ws: Workspace) -> Pipeline:
    """Return a pipeline with DataReference, PipelineData, datasets, OFDC, parameters, PRS and run_after."""
    store = Datastore(ws, "workspaceblobstore")
    raw = DataReference(datastore=store, data_reference_name="raw", path_on_datastore="raw/data.csv")
    iris = Dataset.Tabular.from_delimited_files([(store, "train-dataset/iris.csv")])
    images = Dataset.File.from_files((store, "images/*.jpg"))
    prepared = PipelineData("prepared", datastore=store, pipeline_output_name="prepared_out")
    scored = PipelineData("scored", datastore=store)
    model_dir = OutputFileDatasetConfig(name="model_dir", destination=(store, "models/{run-id}")).register_on_complete(
        "model"
    )
    epochs = PipelineParameter("epochs", 10)
    rate = PipelineParameter("learning_rate", 0.01)
    data_param = PipelineParameter("input_path", DataPath(store, "raw/other.csv"))
    images_param = PipelineParameter("images", images)
    runconfig = RunConfiguration()
    runconfig.environment.python.conda_dependencies.add_pip_package("scikit-learn")
    _prep = PythonScriptStep(  # reached from train through `prepared`
        script_name="prep.py",
        source_directory="src",
        arguments=[
            "--raw",
            raw.as_download(),
            "--extra",
            (data_param, DataPathComputeBinding(mode="mount")),
            "--out",
            prepared,
        ],
        inputs=[raw],
        outputs=[prepared],
        compute_target="cpu-cluster",
        runconfig=runconfig,
    )
    train = PythonScriptStep(
        script_name="train.py",
        name="train",
        source_directory="src",
        arguments=[
            "--data",
            prepared.as_dataset().parse_delimited_files().as_named_input("prepared_table"),
            "--iris",
            iris.as_named_input("iris"),
            "--epochs",
            epochs,
            "--rate",
            rate,
            "--model",
            model_dir,
        ],
        params={"EPOCHS": epochs},
        compute_target="cpu-cluster",
        allow_reuse=False,
        hash_paths=["b.txt", "a.txt"],
    )
    config = ParallelRunConfig(
        environment=Environment("score-env"),
        entry_script="score.py",
        error_threshold=5,
        output_action="append_row",
        compute_target="cpu-cluster",
        node_count=PipelineParameter("nodecount", 2),
        mini_batch_size="5",
        source_directory="src",
    )
    _score = ParallelRunStep(  # reached from report through `scored`
        name="score",
        parallel_run_config=config,
        inputs=[DatasetConsumptionConfig("images", images_param).as_mount()],
        output=scored,
        side_inputs=[model_dir.as_input("model_input")],
        arguments=["--epochs", epochs],
    )
    report = PythonScriptStep(
        script_name="report.py", source_directory="src", arguments=["--scores", scored], compute_target="cpu-cluster"
    )
    report.run_after(train)
    return Pipeline(ws, [report], description="sample pipeline")


def main() -> None:
    """Print the compiled sample document as canonical JSON."""
    document = build_sample(Workspace("sub", "rg", "ws", client=ServiceDouble())).to_document()
    sys.stdout.write(json.dumps(document, sort_keys=True))


if __name__ == "__main__":
    main()
