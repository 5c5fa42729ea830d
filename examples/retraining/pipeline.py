"""Retrain when new training data lands: publish the training pipeline and schedule it on a datastore path.

    python pipeline.py [--upload FILE]

Run it from this folder against a running durableml (``run.py`` starts one and runs this). It publishes
the pipeline and creates a data-change Schedule on ``training-data/`` of the default datastore (v1's
``Schedule.create(datastore=..., path_on_datastore=..., data_path_parameter_name=...)``, plus durableml's
debounce window: files uploaded within 5 s start one run). Then it uploads a training file (data/day1.csv,
or --upload FILE), waits for the run the upload started, and prints the model it registered.
"""

import os
import sys
import time

from durableml.core import Model, Workspace
from durableml.core.compute import AmlCompute, ComputeTarget
from durableml.data.datapath import DataPath, DataPathComputeBinding
from durableml.pipeline.core import Pipeline, PipelineParameter, Schedule
from durableml.pipeline.steps import PythonScriptStep

HERE = os.path.dirname(os.path.abspath(__file__))
os.chdir(HERE)
ws = Workspace.from_config()
store = ws.get_default_datastore()
upload = sys.argv[sys.argv.index("--upload") + 1] if "--upload" in sys.argv else "data/day1.csv"

schedules = [s for s in Schedule.list(ws) if s.name == "retrain-on-new-data"]
if schedules:
    schedule = schedules[0]
    print(f"schedule {schedule.id} already watches {schedule.datastore_name}/{schedule.path_on_datastore}")
else:
    if "cpu" in ws.compute_targets:
        compute = ws.compute_targets["cpu"]
    else:
        config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", min_nodes=0, max_nodes=2)
        compute = ComputeTarget.create(ws, "cpu", config)
        compute.wait_for_completion(show_output=True)
    data = (
        PipelineParameter("training_data", default_value=DataPath(store, "training-data")),
        DataPathComputeBinding(mode="mount"),
    )
    train = PythonScriptStep(
        name="train",
        script_name="train.py",
        source_directory="training",
        compute_target=compute,
        arguments=["--data", data],
        inputs=[data],
        allow_reuse=False,
    )
    published = Pipeline(workspace=ws, steps=[train]).publish(name="retraining", description="retrain on new data")
    schedule = Schedule.create(
        ws,
        name="retrain-on-new-data",
        pipeline_id=published.id,
        experiment_name="retraining",
        datastore=store,
        path_on_datastore="training-data",
        polling_interval=0.05,
        data_path_parameter_name="training_data",
        debounce_seconds=5,
    )
    print(f"published pipeline {published.id}; schedule {schedule.id} watches {store.name}/training-data")

before = {run.id for run in schedule.get_pipeline_runs()}
store.upload_files([upload], target_path="training-data", overwrite=True)
print(f"uploaded {upload} to {store.name}/training-data/; waiting for the schedule to start a run...")
deadline = time.monotonic() + 120
while not [r for r in schedule.get_pipeline_runs() if r.id not in before]:
    if time.monotonic() > deadline:
        sys.exit(f"no run started within 120 s: {Schedule.get(ws, schedule.id).last_error or 'no error recorded'}")
    time.sleep(1)
run = [r for r in schedule.get_pipeline_runs() if r.id not in before][0]
print(f"the upload started run {run.id} (trigger: {run.properties.get('durableml.trigger')})")
status = run.wait_for_completion(show_output=True)
latest = max(Model.list(ws, name="retrained-line"), key=lambda m: m.version)
print(f"\nrun {run.id}: {status}; model {latest.name} version {latest.version}, tags {latest.tags}")
sys.exit(0 if status == "Finished" else 1)
