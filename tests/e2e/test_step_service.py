"""Step processes call the service that started them (issue 3): ``Run.get_context().experiment.workspace``
registers models, reads datasets and datastores; the step key never lands in a job spec, a run record,
storage, or a log.

The service here is started the way an operator sets it up: funchost's keys.json holds a dedicated
function key for steps, and the Function App's ``DURABLEML_STEP_KEY`` setting names it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from durableml.compute.base import JobSpec
from durableml.core import Dataset, Experiment
from durableml.core.model import Model
from durableml.core.step_context import load_step_context
from durableml.exceptions import AuthenticationException, ValidationError
from durableml.pipeline.core import Pipeline
from durableml.pipeline.steps import PythonScriptStep
from durableml.runner.context import make_redactor, step_environment

from ._helpers import ensure_compute, step_summary
from .conftest import PROJECTS, Service, running_service

STEP_PROJECT = PROJECTS / "step_service"


@pytest.fixture(scope="module")
def service(funchost_process: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """conftest's service with a step key provisioned in keys.json and named by DURABLEML_STEP_KEY."""
    with running_service(funchost_process, tmp_path_factory.mktemp("e2e-step-service"), step_key=True) as svc:
        yield svc


@pytest.fixture(scope="module")
def ws(service: Service) -> Any:
    workspace = service.workspace()
    ensure_compute(workspace, max_nodes=2)
    return workspace


def _step(script: str, name: str, *arguments: Any) -> PythonScriptStep:
    return PythonScriptStep(
        script_name=script,
        name=name,
        source_directory=str(STEP_PROJECT),
        arguments=list(arguments),
        compute_target="e2e-cpu",
        allow_reuse=False,
    )


def _run(ws: Any, service: Service, experiment: str, *steps: PythonScriptStep) -> Any:
    run: Any = Experiment(ws, experiment).submit(Pipeline(ws, list(steps)))
    status = run.wait_for_completion(show_output=False, timeout_seconds=180, raise_on_error=False)
    assert status == "Finished", f"{step_summary(run)}\n{service.log_tail()}"
    return run


def test_a_step_registers_a_model_and_a_later_step_finds_it(ws: Any, service: Service, tmp_path: Path) -> None:
    name = f"m-{uuid.uuid4().hex[:8]}"
    registered, used = tmp_path / "registered.json", tmp_path / "used.json"
    train = _step("register_model.py", "train", "--model-name", name, "--report", str(registered))
    score = _step("use_model.py", "score", "--model-name", name, "--report", str(used))
    score.run_after(train)
    run = _run(ws, service, "e2e-step-models", score)

    report = json.loads(registered.read_text())
    train_run = run.find_step_run("train")[0]
    assert report == {"name": name, "version": 1, "id": f"{name}:1", "run": train_run.id}
    found = json.loads(used.read_text())
    assert found["is_file"] and found["path"].startswith(found["cwd"])
    assert found["path"].endswith(f"azureml-models/{name}/1/model.pkl")
    assert found["model"] == {"weights": [1, 2, 3], "trained_by": train_run.id}

    # the notebook side sees the same model: list, get, download
    listed = Model.list(ws, name=name)
    assert [(m.name, m.version, m.tags, m.description) for m in listed] == [
        (name, 1, {"stage": "train"}, "registered from inside a step")
    ]
    downloaded = Model(ws, name=name).download(str(tmp_path / "dl"))
    assert downloaded == str(tmp_path / "dl" / "model.pkl")
    trained = (
        service.state_dir / "compute" / "e2e-cpu" / "jobs" / train_run.id / "snapshot" / "outputs" / "model.pkl"
    ).read_bytes()
    assert Path(downloaded).read_bytes() == trained

    # v1's StepRun.register_model over the files the finished step captured (./outputs)
    from_run = train_run.register_model(model_name=f"{name}-run", model_path="outputs/model.pkl", tags={"k": "v"})
    assert (from_run.version, from_run.run_id, from_run.tags) == (1, train_run.id, {"k": "v"})
    assert Path(from_run.download(str(tmp_path / "from-run"))).read_bytes() == trained
    with pytest.raises(ValidationError, match="captured no file at 'outputs/absent.pkl'"):
        train_run.register_model(model_name=f"{name}-absent", model_path="outputs/absent.pkl")
    assert Model.list(ws, name=f"{name}-absent") == []


def test_a_folder_model_is_a_directory_in_the_later_step(ws: Any, service: Service, tmp_path: Path) -> None:
    name = f"folder-{uuid.uuid4().hex[:8]}"
    registered, used = tmp_path / "registered.json", tmp_path / "used.json"
    train = _step("register_model.py", "train", "--model-name", name, "--folder", "--report", str(registered))
    score = _step("use_model.py", "score", "--model-name", name, "--report", str(used))
    score.run_after(train)
    _run(ws, service, "e2e-step-models", score)
    found = json.loads(used.read_text())
    assert found["is_dir"] and found["path"].endswith(f"azureml-models/{name}/1/model")
    assert found["files"] == ["meta.txt", "weights/w.json"]


def test_a_step_reads_a_registered_dataset_and_a_datastore(ws: Any, service: Service, tmp_path: Path) -> None:
    name = f"rows-{uuid.uuid4().hex[:8]}"
    data = tmp_path / "rows.csv"
    data.write_text("a,b\n1,x\n2,y\n", encoding="utf-8")
    store = ws.get_default_datastore()
    store.upload_files([str(data)], target_path=f"step-service/{name}", overwrite=True, show_progress=False)
    Dataset.Tabular.from_delimited_files(path=(store, f"step-service/{name}/rows.csv")).register(ws, name)
    report = tmp_path / "report.json"
    run = _run(
        ws, service, "e2e-step-datasets", _step("use_dataset.py", "read", "--dataset", name, "--report", str(report))
    )
    service_workspace = service.api("GET", "/api/workspace").json()["name"]  # the step's names are the service's
    assert json.loads(report.read_text()) == {
        "version": 1,
        "rows": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}],
        "datastore": "workspaceblobstore",
        "workspace": service_workspace,
    }
    # run.upload_file inside the step: captured with the run's files
    step_run = run.find_step_run("read")[0]
    assert {"outputs/report.json", "logs/note.txt"} <= set(step_run.get_file_names())
    step_run.download_file("outputs/report.json", str(tmp_path / "uploaded.json"))
    assert (tmp_path / "uploaded.json").read_bytes() == report.read_bytes()
    assert "refused: Run.upload_file('elsewhere.txt') is not supported" in step_run.get_job_log()


def test_the_step_key_reaches_the_script_and_nothing_else(ws: Any, service: Any, tmp_path: Path) -> None:
    report = tmp_path / "env.json"
    run = _run(ws, service, "e2e-step-secrets", _step("show_env.py", "env", "--report", str(report)))
    key: str = service.step_key
    seen = json.loads(report.read_text())
    assert seen == {
        "key_sha256": hashlib.sha256(key.encode()).hexdigest(),
        "endpoint": service.base_url,
        "step_settings": [],
    }  # the script has the key, but not the worker's settings
    step_run = run.find_step_run("env")[0]
    log = step_run.get_job_log()
    assert "the step has a key: True; datastores: ['workspaceblobstore'" in log and key not in log

    job = service.state_dir / "compute" / "e2e-cpu" / "jobs" / step_run.id
    assert (job / "spec.json").is_file() and (job / "context.json").is_file()
    records = [service.api("GET", f"/api/runs/{run.id}").text, service.api("GET", f"/api/runs/{run.id}/steps").text]
    assert not [text for text in records if key in text]
    holders = [
        path
        for root in (service.state_dir, service.azurite.data_dir, service.host.state_dir)
        for path in Path(root).rglob("*")
        if path.is_file() and key.encode() in path.read_bytes()
    ]
    # only funchost's keys file: no job spec, context file, worker or driver log, table, blob or orchestration store
    assert holders == [service.host.state_dir / "keys.json"]
    assert key not in service.host.output()


def test_a_refused_step_key_points_at_the_setting(
    service: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = {
        "run_id": "r",
        "step_run_id": "r-s",
        "experiment_name": "e",
        "workspace": {"workspace_name": "w"},
        "metrics_file": str(tmp_path / "m.jsonl"),
    }
    (tmp_path / "context.json").write_text(json.dumps(context), encoding="utf-8")
    monkeypatch.setenv("DURABLEML_ENDPOINT", service.base_url)
    monkeypatch.setenv("DURABLEML_KEY", "not-a-key-of-this-service")
    run = load_step_context(str(tmp_path / "context.json"))
    assert run is not None
    with pytest.raises(AuthenticationException, match="from the service's DURABLEML_STEP_KEY setting") as info:
        run.experiment.workspace.get_default_datastore()
    assert "not-a-key-of-this-service" not in str(info.value)


# ---- the worker's side, without a service: which endpoint and key the script gets
def _job(**fields: Any) -> JobSpec:
    return JobSpec(
        **{
            "job_id": "step-1",
            "run_id": "run-1",
            "step_name": "s",
            "snapshot": "/src",
            "script_name": "s.py",
            "connection_string": "UseDevelopmentStorage=true",
            **fields,
        }
    )


def _env(job: JobSpec, base: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return step_environment(job, tmp_path / "context.json", {}, {}, base, [])


def test_the_script_gets_the_notify_origin_and_the_step_key_only(tmp_path: Path) -> None:
    job = _job(
        notify={"url": "http://127.0.0.1:7123/runtime/webhooks/durabletask/instances/x?code=sys"},
        environment={"DURABLEML_KEY": "from-the-job", "DURABLEML_ENDPOINT": "http://evil"},
    )
    base = {
        "PATH": "/bin",
        "DURABLEML_STEP_KEY": "step-key-123",
        "DURABLEML_KEY": "someone-elses",
        "DURABLEML_ENDPOINT": "http://elsewhere",
    }
    env = _env(job, base, tmp_path)
    assert (env["DURABLEML_ENDPOINT"], env["DURABLEML_KEY"]) == ("http://127.0.0.1:7123", "step-key-123")
    assert not [name for name in env if name.startswith("DURABLEML_STEP_")]


def test_a_configured_step_endpoint_wins_and_no_key_means_none(tmp_path: Path) -> None:
    job = _job(notify={"url": "http://127.0.0.1:7123/x"}, workspace={"endpoint": "http://ws:1"})
    env = _env(job, {"DURABLEML_STEP_ENDPOINT": "https://app.example/", "DURABLEML_KEY": "inherited"}, tmp_path)
    assert env["DURABLEML_ENDPOINT"] == "https://app.example" and "DURABLEML_KEY" not in env
    assert _env(_job(workspace={"endpoint": "http://ws:1"}), {}, tmp_path)["DURABLEML_ENDPOINT"] == "http://ws:1"


def test_the_worker_redacts_the_step_key_in_its_own_notes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DURABLEML_STEP_KEY", "step-key-123456")
    assert make_redactor([])("failed with step-key-123456 in it") == "failed with *** in it"
