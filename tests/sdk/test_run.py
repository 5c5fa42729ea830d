"""Run handles: the offline run, the step-context hook, and pipeline/step runs over the client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from durableml.core import Experiment, Run, Workspace
from durableml.core.run import _OfflineRun, set_context_provider
from durableml.data import TabularDataset
from durableml.exceptions import ActivityFailedException, ConfigurationError, NotFoundError, UserErrorException
from durableml.pipeline.core import PipelineRun
from sdk_double import ServiceDouble


def test_outside_a_step_get_context_is_an_offline_run() -> None:
    run = Run.get_context()
    assert isinstance(run, _OfflineRun) and run.id.startswith("OfflineRun_")
    run.log("accuracy", 0.9)
    run.log("accuracy", 0.95)
    run.log_row("table", a=1)
    assert run.get_metrics() == {"accuracy": [0.9, 0.95], "table": [{"a": 1}]}
    assert run.input_datasets == {}
    with pytest.raises(UserErrorException, match="not running inside a durableml step"):
        run.experiment  # noqa: B018
    with pytest.raises(UserErrorException, match="allow_offline=False"):
        Run.get_context(allow_offline=False)


@pytest.fixture
def step_context(ws: Workspace) -> Iterator[Run]:
    run = Run(Experiment(ws, "exp"), "step-1", _input_datasets={"raw": "/mnt/raw"})
    previous = set_context_provider(lambda: run)
    yield run
    set_context_provider(previous)


def test_the_step_runner_can_install_the_run_context(step_context: Run, ws: Workspace) -> None:
    run = Run.get_context()
    assert run is step_context and run.input_datasets == {"raw": "/mnt/raw"} and run.experiment.workspace is ws


class RunsDouble(ServiceDouble):
    """Adds canned step runs and a download to the service double."""

    def __init__(self, status: str = "Finished") -> None:
        super().__init__()
        self.status = status
        self.downloads: list[tuple[Any, ...]] = []

    def get_run(self, run_id: str) -> dict[str, Any]:
        steps = {record["id"]: record for record in self.list_step_runs("run-9")}
        if run_id in steps:
            return steps[run_id]
        return {
            "id": run_id,
            "status": self.status,
            "error": "train.py exited with 1",
            "pipelineOutputs": {"best": {"datastore": "workspaceblobstore", "path": "azureml/s2/model"}},
        }

    def list_step_runs(self, run_id: str) -> list[dict[str, Any]]:
        return [
            {"id": "s1", "name": "prep.py", "status": "Finished", "startTimeUtc": "2024-01-01T00:00:01Z"},
            {
                "id": "s2",
                "name": "train.py",
                "status": "Finished",
                "startTimeUtc": "2024-01-01T00:00:05Z",
                "outputs": {"model": {"datastore": "workspaceblobstore", "path": "azureml/s2/model"}},
            },
        ]

    def download_files(
        self, datastore: str, prefix: str | None, target: str, overwrite: bool, show_progress: bool
    ) -> int:
        self.downloads.append((datastore, prefix, target))
        return 3


def test_pipeline_run_steps_outputs_and_downloads() -> None:
    service = RunsDouble()
    run = PipelineRun(Experiment(Workspace("s", "r", "w", client=service), "exp"), "run-9")
    assert [s.name for s in run.get_steps()] == ["train.py", "prep.py"]  # latest first, as v1
    (train,) = run.find_step_run("train.py")
    reference = train.get_output_data("model")
    assert (reference.datastore_name, reference.path_on_datastore) == ("workspaceblobstore", "azureml/s2/model")
    assert reference.download(local_path="out") == 3 and service.downloads == [
        ("workspaceblobstore", "azureml/s2/model", "out")
    ]
    assert run.get_pipeline_output("best").path_on_datastore == "azureml/s2/model"
    with pytest.raises(NotFoundError, match="has no output 'missing'; it has: model"):
        train.get_output_data("missing")
    assert run.wait_for_completion(show_output=False) == "Finished"


def test_failed_pipeline_run_raises_with_the_error() -> None:
    run = PipelineRun(Experiment(Workspace("s", "r", "w", client=RunsDouble("Failed")), "exp"), "run-9")
    with pytest.raises(ActivityFailedException, match="train.py exited with 1"):
        run.wait_for_completion(show_output=False)
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"


def test_step_context_file_gives_the_step_run(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = tmp_path / "metrics.jsonl"
    (tmp_path / "iris").mkdir()
    (tmp_path / "iris" / "iris.csv").write_text("a\n1\n", encoding="utf-8")
    context = {  # the shape durableml/runner/context.py writes
        "run_id": "run-1", "step_run_id": "run-1_train", "step_name": "train.py", "experiment_name": "exp",
        "parent_run_id": "run-1",
        "workspace": {"subscription_id": "s", "resource_group": "r", "workspace_name": "w", "endpoint": "http://h:1"},
        "input_datasets": {"raw": "/staged/raw", "iris": str(tmp_path / "iris")},
        "inputs": {"raw": {"path": "/staged/raw", "mode": "mount", "dataset": None},
                   "iris": {"path": str(tmp_path / "iris"), "mode": "download", "dataset": "tabular"}},
        "outputs": {}, "metrics_file": str(metrics),
    }  # fmt: skip
    (tmp_path / "context.json").write_text(json.dumps(context), encoding="utf-8")
    monkeypatch.setenv("DURABLEML_RUN_CONTEXT", str(tmp_path / "context.json"))
    run = Run.get_context()
    assert run.id == "run-1_train" and run.experiment.name == "exp" and run.experiment.workspace.name == "w"
    assert run.parent is not None and run.parent.id == "run-1"
    assert run.input_datasets["raw"] == "/staged/raw"
    iris = run.input_datasets["iris"]
    assert isinstance(iris, TabularDataset) and iris._local_files == [str(tmp_path / "iris" / "iris.csv")]
    run.log("accuracy", 0.9)
    run.log_list("losses", [1, 0.5])
    assert [json.loads(line) for line in metrics.read_text(encoding="utf-8").splitlines()] == [
        {"kind": "scalar", "name": "accuracy", "value": 0.9, "description": ""},
        {"kind": "list", "name": "losses", "value": [1, 0.5], "description": ""},
    ]


def test_broken_step_context_file_is_a_clear_error(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "context.json").write_text("{}", encoding="utf-8")
    monkeypatch.setenv("DURABLEML_RUN_CONTEXT", str(tmp_path / "context.json"))
    with pytest.raises(ConfigurationError, match="is incomplete: it names no run_id"):
        Run.get_context()
