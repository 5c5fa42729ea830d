"""v1 pipeline code, unchanged: datastores on two other storage accounts, read by one step."""

import os

from azureml.core import Datastore, Experiment, Workspace
from azureml.core.compute import AmlCompute, ComputeTarget
from azureml.pipeline.core import Pipeline, PipelineData
from azureml.pipeline.steps import PythonScriptStep

ws = Workspace.from_config()

# a partner's private container, with the account key they gave us
partner = Datastore.register_azure_blob_container(
    workspace=ws,
    datastore_name="partner_sales",
    container_name="sales",
    account_name="partnerdata",
    account_key=os.environ["PARTNER_ACCOUNT_KEY"],
    overwrite=True,
)
# a public container: no credential at all (read-only)
holidays = Datastore.register_azure_blob_container(
    workspace=ws, datastore_name="public_holidays", container_name="holidays", account_name="publicdata"
)

if "cpu-cluster" in ws.compute_targets:
    compute_target = ws.compute_targets["cpu-cluster"]
else:
    config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", max_nodes=2)
    compute_target = ComputeTarget.create(ws, "cpu-cluster", config)
    compute_target.wait_for_completion(show_output=True)

sales = partner.path("2026").as_mount()
calendar = holidays.path("calendar").as_download()
report = PipelineData("report", datastore=ws.get_default_datastore())
step = PythonScriptStep(
    name="sales on holidays",
    script_name="report.py",
    arguments=["--sales", sales, "--holidays", calendar, "--report", report],
    inputs=[sales, calendar],
    outputs=[report],
    compute_target=compute_target,
    source_directory="scripts",
    allow_reuse=False,
)
run = Experiment(ws, "other-accounts").submit(Pipeline(workspace=ws, steps=[step]))
run.wait_for_completion(show_output=True)

results = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "results")
step_run = run.find_step_run("sales on holidays")[0]
step_run.get_output_data("report").download(local_path=results, overwrite=True)
print("report downloaded under", os.path.normpath(results))
