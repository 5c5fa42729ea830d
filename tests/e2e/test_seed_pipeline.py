"""The seed article's pipeline (examples/compare_models) end to end, then inspected through the SDK.

pipeline.py runs unchanged as a user would run it (its own process, a config.json naming the service);
the test then rehydrates the run with ``PipelineRun(experiment, run_id)`` and checks what v1 code relies
on (aml-v1-api.md §2.4 items 3, 16, 17, 18).
"""

from __future__ import annotations

import json
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from durableml.core import Experiment
from durableml.pipeline.core import PipelineRun, StepRun

from ._helpers import wait_until

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "compare_models"
EXPERIMENT = "Compare_Models_Exp"


def run_example(folder: Path) -> tuple[str, str]:
    """Run pipeline.py in ``folder`` with sys.executable; return (its stdout, the run id it printed)."""
    done = subprocess.run([sys.executable, "pipeline.py"], cwd=folder, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"pipeline.py failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    found = re.search(r"Run (\S+) finished with status (\w+)\.", done.stdout)
    assert found, f"pipeline.py did not print its run id:\n{done.stdout}"
    assert found.group(2) == "Finished", done.stdout
    return done.stdout, found.group(1)


@pytest.fixture(scope="module")
def example(service: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("seed") / "compare_models"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("config.json", "results", "__pycache__"))
    service.write_config(folder)
    return folder


@pytest.fixture(scope="module")
def first_run(example: Path) -> dict[str, Any]:
    stdout, run_id = run_example(example)
    return {"stdout": stdout, "run_id": run_id}


def test_example_runs_and_reports_progress(first_run: dict[str, Any], example: Path) -> None:
    stdout = first_run["stdout"]
    assert "Creating a new compute target..." in stdout
    for script in ("train.py", "extract.py", "compare.py"):
        assert re.search(rf"StepRun\(\s*{re.escape(script)}\s*\).*Status: Finished", stdout), stdout
    assert f"PipelineRunId: {first_run['run_id']}" in stdout
    assert "PipelineRun Status: Finished" in stdout
    assert "trained on 120 documents" in stdout, "show_output=True streams the step logs"
    reports = list((example / "results").rglob("report.json"))
    assert len(reports) == 1, f"pipeline.py should have downloaded one report.json: {reports}"


def test_rehydrated_run_steps_outputs_metrics_logs(first_run: dict[str, Any], service: Any, tmp_path: Path) -> None:
    ws = service.workspace()
    assert EXPERIMENT in ws.experiments, f"experiments: {list(ws.experiments)}"
    run = PipelineRun(ws.experiments[EXPERIMENT], first_run["run_id"])
    assert run.id == first_run["run_id"]
    assert run.get_status() == "Finished"
    assert PipelineRun(Experiment(ws, EXPERIMENT), run.id).get_status() == "Finished"

    steps = run.get_steps()
    assert [s.name for s in steps] == ["compare.py", "extract.py", "train.py"], "get_steps() is latest first"
    assert all(isinstance(s, StepRun) for s in steps)
    assert [s.get_status() for s in steps] == ["Finished"] * 3
    assert [c.id for c in run.get_children()] == [s.id for s in steps]

    found = run.find_step_run("compare.py")
    assert isinstance(found, list) and len(found) == 1
    compare = found[0]
    assert run.find_step_run("no-such-step.py") == []

    # get_output_data(...).download(local_path) recreates path_on_datastore under local_path.
    report = compare.get_output_data("out_data3")
    assert report.path_on_datastore == f"azureml/{compare.id}/out_data3"
    outputs = compare.get_outputs()
    assert list(outputs) == ["out_data3"]
    assert outputs["out_data3"].get_port_data_reference().path_on_datastore == report.path_on_datastore
    count = report.download(local_path=str(tmp_path / "dl"))
    assert count == 1
    data = json.loads((tmp_path / "dl" / report.path_on_datastore / "report.json").read_text())
    assert data["param1"] == 10

    # Metrics: what the scripts logged through Run.get_context() (train.py: documents, labels).
    with open(EXAMPLE / "data" / "20news.pkl", "rb") as handle:
        docs = pickle.load(handle)
    train = run.find_step_run("train.py")[0]
    metrics = train.get_metrics()
    assert metrics == {"documents": len(docs), "labels": len({label for _text, label in docs})}
    assert compare.get_metrics() == {"param1": 10}
    assert compare.get_metrics("param1") == {"param1": 10}

    # Logs: the driver log holds the script's prints.
    assert f"trained on {len(docs)} documents" in train.get_job_log()
    assert '"param1": 10' in compare.get_job_log()
    assert "top words:" in run.find_step_run("extract.py")[0].get_job_log()

    # The step's ./outputs is captured as run output.
    assert "outputs/report.json" in compare.get_file_names()
    target = tmp_path / "captured.json"
    compare.download_file("./outputs/report.json", str(target))
    assert json.loads(target.read_text()) == data

    details = compare.get_details()
    assert details["runId"] == compare.id and details["status"] == "Finished"
    assert details.get("parentRunId") == run.id


def test_second_run_finds_compute_and_reuses_steps(first_run: dict[str, Any], example: Path, service: Any) -> None:
    stdout, run_id = run_example(example)
    assert "Found compute target: aml-compute" in stdout
    assert run_id != first_run["run_id"]
    ws = service.workspace()
    first = {s.name: s.id for s in PipelineRun(ws.experiments[EXPERIMENT], first_run["run_id"]).get_steps()}
    second = PipelineRun(ws.experiments[EXPERIMENT], run_id)
    assert second.get_status() == "Finished"
    reused = {s.name: s.get_details().get("reusedFrom") for s in second.get_steps()}
    assert reused == first, "an unchanged second submission reuses every step of the first"
    runs = [r.id for r in Experiment(ws, EXPERIMENT).get_runs()]
    wait_until(lambda: set(runs) >= {run_id, first_run["run_id"]}, timeout=1, what="both runs listed")
