"""Batch scoring with a ParallelRunStep, written as Azure ML SDK v1 code (run with the ``azureml`` alias).

    python -m durableml.compat pipeline.py

Registers the fraud-screening model, uploads the day's transaction files (``incoming/``) to the default
datastore, and runs a pipeline: a ParallelRunStep scores the files in mini-batches of 5 over 2 nodes x 2
processes (the model from the registry, the thresholds as a side input), and a PythonScriptStep summarises the
scores. The summary lands in ``results/``.
"""

import os
import sys

from azureml.core import Dataset, Environment, Experiment, Workspace
from azureml.core.compute import AmlCompute, ComputeTarget
from azureml.core.compute_target import ComputeTargetException
from azureml.core.model import Model
from azureml.data.data_reference import DataReference
from azureml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from azureml.pipeline.steps import ParallelRunConfig, ParallelRunStep, PythonScriptStep

ws = Workspace.from_config()
store = ws.get_default_datastore()

try:
    cluster = ComputeTarget(workspace=ws, name="cpu-cluster")
except ComputeTargetException:
    config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", max_nodes=2)
    cluster = ComputeTarget.create(ws, "cpu-cluster", config)
    cluster.wait_for_completion(show_output=True)

Model.register(workspace=ws, model_path="model/model.json", model_name="fraud-screen")
store.upload(src_dir="incoming", target_path="transactions/today", overwrite=True)
store.upload_files(["config/thresholds.json"], target_path="scoring-config", overwrite=True)

transactions = Dataset.File.from_files(path=(store, "transactions/today/*.csv"))
thresholds = DataReference(store, data_reference_name="thresholds", path_on_datastore="scoring-config")
scores = PipelineData("scores", datastore=store)
report = PipelineData("report", datastore=store)

parallel_run_config = ParallelRunConfig(
    source_directory="scoring",
    entry_script="score.py",
    mini_batch_size=PipelineParameter(name="batch_size", default_value="5"),
    error_threshold=10,
    output_action="append_row",
    environment=Environment("scoring-env"),
    compute_target=cluster,
    node_count=2,
    process_count_per_node=2,
    run_invocation_timeout=60,
)
score_step = ParallelRunStep(
    name="score-transactions",
    parallel_run_config=parallel_run_config,
    inputs=[transactions.as_named_input("transactions")],
    side_inputs=[thresholds],
    output=scores,
    arguments=["--thresholds", thresholds],
    allow_reuse=False,
)
summary_step = PythonScriptStep(
    name="summarize",
    script_name="summarize.py",
    source_directory="summary",
    arguments=["--scores", scores, "--report", report],
    inputs=[scores],
    outputs=[report],
    compute_target=cluster,
    allow_reuse=False,
)

run = Experiment(ws, "parallel-scoring").submit(Pipeline(workspace=ws, steps=[score_step, summary_step]))
run.wait_for_completion(show_output=True)
if run.get_status() != "Finished":
    sys.exit(f"the scoring run ended {run.get_status()}")

summary = run.find_step_run("summarize")[0].get_output_data("report")
summary.download(local_path="results", overwrite=True)
path = os.path.join("results", summary.path_on_datastore, "summary.txt")
print(f"summary: {os.path.abspath(path)}")
print(open(path).read())
