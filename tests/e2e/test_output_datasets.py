"""OutputFileDatasetConfig end to end: a destination with {run-id}, consumed downstream with as_input(),
and register_on_complete registering what the step wrote as a new dataset version."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from durableml.core import Dataset, Experiment
from durableml.data import OutputFileDatasetConfig
from durableml.pipeline.core import Pipeline
from durableml.pipeline.steps import PythonScriptStep

from ._helpers import STEPS_DIR, ensure_compute, step_summary


@pytest.fixture(scope="module")
def ws(service: Any) -> Any:
    workspace = service.workspace()
    ensure_compute(workspace, max_nodes=2)
    return workspace


def test_output_dataset_is_consumed_downstream_and_registered(ws: Any, service: Any, tmp_path: Any) -> None:
    name = f"outds_{uuid.uuid4().hex[:8]}"
    journal = tmp_path / "journal.txt"
    store = ws.get_default_datastore()
    produced = OutputFileDatasetConfig(name="produced", destination=(store, "outputs/{run-id}/produced"))
    produced = produced.register_on_complete(name=name, description="made by the e2e test")
    write = PythonScriptStep(
        script_name="step.py",
        name="write",
        source_directory=str(STEPS_DIR),
        arguments=["--name", "write", "--journal", str(journal), "--out", produced],
        compute_target="e2e-cpu",
        allow_reuse=False,
    )
    read = PythonScriptStep(
        script_name="step.py",
        name="read",
        source_directory=str(STEPS_DIR),
        arguments=["--name", "read", "--journal", str(journal), "--in", produced.as_input("produced_in")],
        compute_target="e2e-cpu",
        allow_reuse=False,
    )
    pipeline = Pipeline(ws, [read])  # "write" comes in through the data dependency
    assert [s["name"] for s in pipeline.to_document()["steps"]] == [write.name, read.name]
    run: Any = Experiment(ws, "e2e-output-datasets").submit(pipeline)
    status = run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
    assert status == "Finished", f"{step_summary(run)}\n{service.log_tail()}"
    writer = run.find_step_run("write")[0]
    location = writer.get_details()["outputs"]["produced"]
    assert location["path"] == f"outputs/{writer.id}/produced"  # {run-id} is the step run's id
    registered = Dataset.get_by_name(ws, name)
    assert registered.version == 1
    assert registered.to_path(), "the registered dataset lists the files the step wrote"
