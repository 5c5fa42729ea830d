"""Publish the batch-scoring pipeline and schedule it daily (v1 API, only the import prefix changed).

    python pipeline.py [--no-wait]

Run it from this folder against a running durableml (``run.py`` starts one and runs this). It uploads a
model and today's incoming files, publishes the scoring pipeline, and creates a Schedule that runs it
every day at 02:00 UTC. As in Azure ML v1, a recurrence without start_time also runs once at once: this
script waits for that first run and prints where the scores are.
"""

import datetime
import os
import sys

from durableml.core import Workspace
from durableml.core.compute import AmlCompute, ComputeTarget
from durableml.data.data_reference import DataReference
from durableml.data.datapath import DataPath, DataPathComputeBinding
from durableml.pipeline.core import Pipeline, PipelineData, PipelineParameter, Schedule, ScheduleRecurrence
from durableml.pipeline.steps import PythonScriptStep

HERE = os.path.dirname(os.path.abspath(__file__))
os.chdir(HERE)
ws = Workspace.from_config()
store = ws.get_default_datastore()

today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
store.upload_files(["data/model.json"], target_path="models/linear", overwrite=True)
store.upload_files(["data/batch-a.csv", "data/batch-b.csv"], target_path=f"incoming/{today}", overwrite=True)

if "cpu" in ws.compute_targets:
    compute = ws.compute_targets["cpu"]
else:
    config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", min_nodes=0, max_nodes=2)
    compute = ComputeTarget.create(ws, "cpu", config)
    compute.wait_for_completion(show_output=True)

incoming = (
    PipelineParameter("incoming", default_value=DataPath(store, "incoming")),
    DataPathComputeBinding(mode="mount"),
)
model = DataReference(
    datastore=store, data_reference_name="model", path_on_datastore="models/linear/model.json", mode="download"
)
scores = PipelineData("scores", datastore=store, pipeline_output_name="scores")
score = PythonScriptStep(
    name="score",
    script_name="score.py",
    source_directory="scoring",
    compute_target=compute,
    arguments=[
        "--incoming",
        incoming,
        "--model",
        model,
        "--day",
        PipelineParameter("day", default_value="today"),
        "--out",
        scores,
    ],
    inputs=[incoming, model],
    outputs=[scores],
    allow_reuse=False,
)
published = Pipeline(workspace=ws, steps=[score]).publish(
    name="batch-scoring", description="scores the files that arrived each day", version="1"
)
print(f"published pipeline {published.id}: {published.endpoint}")

nightly = ScheduleRecurrence(frequency="Day", interval=1, hours=[2], minutes=[0])
schedule = Schedule.create(
    ws,
    name="nightly-batch-scoring",
    pipeline_id=published.id,
    experiment_name="batch-scoring",
    recurrence=nightly,
    description="score yesterday's and today's arrivals at 02:00 UTC",
)
print(f"schedule {schedule.id} is {schedule.status}; next run at {schedule.next_run_time}")
if "--no-wait" in sys.argv:
    sys.exit(0)

run = schedule.get_last_pipeline_run()  # v1: no start_time, so the first run started at once
print(f"the schedule's first run: {run.id}")
status = run.wait_for_completion(show_output=True)
print(f"\nrun {run.id}: {status}; metrics {run.find_step_run('score')[0].get_metrics()}")
target = os.path.join(HERE, "results")
run.get_pipeline_output("scores").download(local_path=target, overwrite=True)
print(f"scores downloaded under {target}")
sys.exit(0 if status == "Finished" else 1)
