"""A step script written for Azure ML: it imports azureml.core unchanged and logs metrics."""

from azureml.core import Run

run = Run.get_context()
run.log("accuracy", 0.91)
run.log("accuracy", 0.93)
run.log_list("losses", [0.5, 0.3, 0.2])
run.log_row("epochs", epoch=1, loss=0.5)
run.log("label", "alias-ok")
print(f"alias step: run id {run.id}")
print(f"alias step: parent id {run.parent.id if run.parent else None}")
print(f"alias step: experiment {run.experiment.name}")
print(f"alias step: Run class from {Run.__module__}")
