"""The seed article's pipeline ("create, run and track ML pipelines"), with only the import prefix changed.

Run it from this folder against a running durableml (the README's first command does everything):
    python pipeline.py
It uploads the sample data, creates the compute target, builds train -> extract -> compare plus the
dataset-consuming step, submits the pipeline, streams progress, and prints where the results are.
"""
import os
import sys

import durableml.core  # noqa: F401  (the seed imports azureml.core)
from durableml.core import Dataset, Datastore, Experiment, Workspace
from durableml.core.compute import AmlCompute, ComputeTarget
from durableml.data.data_reference import DataReference
from durableml.pipeline.core import Pipeline, PipelineData
from durableml.pipeline.core.graph import PipelineParameter
from durableml.pipeline.steps import PythonScriptStep

os.chdir(os.path.dirname(os.path.abspath(__file__)))
project_folder = "scripts"

ws = Workspace.from_config()

# Default datastore
def_data_store = ws.get_default_datastore()
# Get the blob storage associated with the workspace
def_blob_store = Datastore(ws, "workspaceblobstore")
# Get file storage associated with the workspace
def_file_store = Datastore(ws, "workspacefilestore")

def_blob_store.upload_files(
    ["./data/20news.pkl"],
    target_path="20newsgroups",
    overwrite=True)
def_blob_store.upload_files(["./data/iris.csv"], target_path="train-dataset", overwrite=True)

blob_input_data = DataReference(
    datastore=def_blob_store,
    data_reference_name="test_data",
    path_on_datastore="20newsgroups/20news.pkl")

output_data1 = PipelineData(
    "output_data1",
    datastore=def_blob_store,
    output_name="output_data1")

iris_tabular_dataset = Dataset.Tabular.from_delimited_files([(def_blob_store, 'train-dataset/iris.csv')])

compute_name = "aml-compute"
vm_size = "STANDARD_NC6"
if compute_name in ws.compute_targets:
    compute_target = ws.compute_targets[compute_name]
    if compute_target and type(compute_target) is AmlCompute:
        print('Found compute target: ' + compute_name)
else:
    print('Creating a new compute target...')
    provisioning_config = AmlCompute.provisioning_configuration(vm_size=vm_size,  # STANDARD_NC6 is GPU-enabled
                                                                min_nodes=0,
                                                                max_nodes=4)
    # create the compute target
    compute_target = ComputeTarget.create(
        ws, compute_name, provisioning_config)
    # Can poll for a minimum number of nodes and for a specific timeout.
    # If no min node count is provided it will use the scale settings for the cluster
    compute_target.wait_for_completion(
        show_output=True, min_node_count=None, timeout_in_minutes=20)
    # For a more detailed view of current cluster status, use the 'status' property
    print(compute_target.status.serialize())

trainStep = PythonScriptStep(
    script_name="train.py",
    arguments=["--input", blob_input_data, "--output", output_data1],
    inputs=[blob_input_data],
    outputs=[output_data1],
    compute_target=compute_target,
    source_directory=project_folder
)

output_data2 = PipelineData("output_data2", datastore=def_blob_store, output_name="output_data2")
extractStep = PythonScriptStep(
    script_name="extract.py",
    arguments=["--input_data", output_data1, "--output_extract", output_data2],
    inputs=[output_data1],
    outputs=[output_data2],
    compute_target=compute_target,
    source_directory=project_folder
)

pipeline_param = PipelineParameter(
  name="pipeline_arg",
  default_value=10)
comp_data1, comp_data2 = output_data1, output_data2
out_data3 = PipelineData("out_data3", datastore=def_blob_store, output_name="out_data3")
compareStep = PythonScriptStep(
  script_name="compare.py",
  arguments=["--comp_data1", comp_data1, "--comp_data2", comp_data2, "--output_data", out_data3, "--param1", pipeline_param],
  inputs=[comp_data1, comp_data2],
  outputs=[out_data3],
  target=compute_target,
  source_directory=project_folder)

dataset_consuming_step = PythonScriptStep(
    script_name="iris_train.py",
    inputs=[iris_tabular_dataset.as_named_input("iris_data")],
    compute_target=compute_target,
    source_directory=project_folder
)

# list of steps to run
compareModels = [trainStep, extractStep, compareStep]
if "--with-dataset-step" in sys.argv:
    compareModels.append(dataset_consuming_step)

# Build the pipeline
pipeline1 = Pipeline(workspace=ws, steps=[compareModels])

# Submit the pipeline to be run
pipeline_run1 = Experiment(ws, 'Compare_Models_Exp').submit(pipeline1)
pipeline_run1.wait_for_completion(show_output=True)

compare_run = pipeline_run1.find_step_run("compare.py")[0]
report = compare_run.get_output_data("out_data3")
report.download(local_path="results")
print(f"\nRun {pipeline_run1.id} finished with status {pipeline_run1.get_status()}.")
print(f"The comparison report is in {os.path.abspath('results')}/{report.path_on_datastore}/report.json")
