"""v1 pipeline code, unchanged: the day's sales copied from the landing folder by a DataTransferStep (Azure Data
Factory in v1), then a notebook and a Spark script on an attached Azure Databricks workspace, then a report by a
PythonScriptStep."""

import os

from azureml.core import Experiment, Workspace
from azureml.core.compute import AmlCompute, ComputeTarget, DatabricksCompute, DataFactoryCompute
from azureml.core.compute_target import ComputeTargetException
from azureml.data.data_reference import DataReference
from azureml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from azureml.pipeline.steps import DatabricksStep, DataTransferStep, PythonScriptStep

ws = Workspace.from_config()
store = ws.get_default_datastore()
here = os.path.dirname(os.path.abspath(__file__))
store.upload_files([os.path.join(here, "..", "data", "sales.csv")], target_path="databricks-example", overwrite=True)

try:
    databricks_compute = DatabricksCompute(workspace=ws, name="databricks")
except ComputeTargetException:
    config = DatabricksCompute.attach_configuration(
        resource_group="analytics",
        workspace_name="sales-databricks",
        access_token=os.environ["DATABRICKS_ACCESS_TOKEN"],
    )
    databricks_compute = ComputeTarget.attach(ws, "databricks", config)
    databricks_compute.wait_for_completion(True)

if "cpu-cluster" in ws.compute_targets:
    cpu_cluster = ws.compute_targets["cpu-cluster"]
else:
    cpu_cluster = ComputeTarget.create(ws, "cpu-cluster", AmlCompute.provisioning_configuration(max_nodes=2))

try:
    data_factory = DataFactoryCompute(workspace=ws, name="data-factory")
except ComputeTargetException:
    data_factory = ComputeTarget.create(ws, "data-factory", DataFactoryCompute.provisioning_configuration())
    data_factory.wait_for_completion(True)

landing = DataReference(datastore=store, data_reference_name="landing", path_on_datastore="databricks-example")
sales = PipelineData("sales", datastore=store)
land_sales = DataTransferStep(
    name="land-sales",
    source_data_reference=landing,
    destination_data_reference=sales,
    compute_target=data_factory,
    source_reference_type="directory",
    destination_reference_type="directory",
    allow_reuse=False,
)
minimum = PipelineParameter(name="minimum", default_value="2")
summary = DatabricksStep(
    name="summary",
    notebook_path="/Shared/sales_summary",
    notebook_params={"minimum": minimum},
    inputs=[sales],
    num_workers=1,
    run_name="sales summary",
    compute_target=databricks_compute,
    allow_reuse=False,
)
totals = PipelineData("totals", datastore=store)
spark_totals = DatabricksStep(
    name="totals",
    python_script_name="spark_totals.py",
    source_directory="scripts",
    python_script_params=["--minimum", minimum],
    inputs=[sales],
    outputs=[totals],
    existing_cluster_id="0101-120000-sales",
    compute_target=databricks_compute,
    allow_reuse=False,
)
report = PipelineData("report", datastore=store)
report_step = PythonScriptStep(
    name="report",
    script_name="report.py",
    arguments=["--totals", totals, "--report", report],
    inputs=[totals],
    outputs=[report],
    compute_target=cpu_cluster,
    source_directory="scripts",
    allow_reuse=False,
)
run = Experiment(ws, "databricks").submit(
    Pipeline(workspace=ws, steps=[land_sales, summary, spark_totals, report_step])
)
run.wait_for_completion(show_output=True)

results = os.path.join(here, "..", "results")
run.find_step_run("report")[0].get_output_data("report").download(local_path=results, overwrite=True)
print("report downloaded under", os.path.normpath(results))
