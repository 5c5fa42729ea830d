"""``durableml export`` / ``durableml import`` (issue 15) from one running durableml to another: two services
started by the launcher, each on its own Azurite, the CLI run as a user runs it (``.venv/bin/durableml``).

The source has a published pipeline in two versions behind one endpoint (default version 1), a third pipeline
that is disabled, a datastore on its own account, a datastore on another storage account registered with an
account key, a minute schedule that is disabled and a data-change schedule that is active. The export file holds
no key; the import without the key fails naming the variable and changes nothing; with it, everything is there:
the endpoint answers a v1 REST call by name and version and runs the right pipeline, the schedules keep their
settings and their enabled/disabled state, and a second import creates nothing twice.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from durableml.core import Datastore, Experiment
from durableml.pipeline.core import Pipeline, PipelineEndpoint, PipelineParameter, PublishedPipeline, Schedule
from durableml.pipeline.core import ScheduleRecurrence
from durableml.pipeline.steps import PythonScriptStep
from durableml.workspace_move import secret_env_name
from funchost.azurite import account_key

from ._helpers import ensure_compute
from .conftest import Service, running_service

SCRIPT = Path(sys.executable).with_name("durableml")
PROJECT = Path(__file__).resolve().parent / "projects" / "moved"
OTHER = "movedextra"


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, Service]]:
    with running_service(None, tmp_path_factory.mktemp("source"), accounts=(OTHER,)) as source:
        with running_service(None, tmp_path_factory.mktemp("target"), accounts=(OTHER,)) as target:
            yield source, target


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})},
        cwd=cwd, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def publish(ws: Any, version: str) -> Any:
    step = PythonScriptStep(
        "echo.py", name="echo", source_directory=str(PROJECT), compute_target=ensure_compute(ws),
        arguments=["--value", PipelineParameter("value", default_value="d"), "--version", version], allow_reuse=False,
    )  # fmt: skip
    return Pipeline(ws, [step]).publish(name="moved", description=f"version {version}", version=version)


def rest_run(svc: Service, endpoint: Any, version: str, value: str) -> str:
    """POST the v1 REST endpoint by name (PipelineEndpointSubmit/Name) and return the run's echo line."""
    by_name = endpoint.endpoint.split("/PipelineEndpointSubmit/")[0] + "/PipelineEndpointSubmit/Name"
    answer = requests.post(
        by_name, params={"name": endpoint.name, "pipelineVersion": version},
        json={"ExperimentName": "moved-rest", "ParameterAssignments": {"value": value}},
        headers={"x-functions-key": svc.key}, timeout=60,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    from durableml.pipeline.core import PipelineRun

    run = PipelineRun(Experiment(svc.workspace(), "moved-rest"), answer.json()["Id"])
    assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished"
    log = run.find_step_run("echo")[0].get_job_log()
    return next(line for line in log.splitlines() if line.startswith("MOVED "))


def test_export_and_import_move_pipelines_endpoints_schedules_and_datastores(
    services: tuple[Service, Service], tmp_path: Path
) -> None:
    source, target = services
    ws = source.workspace()
    landing = Datastore.register_azure_blob_container(
        ws, "landing", "landing-data", ws.get_default_datastore().account_name, create_if_not_exists=True
    )
    other = Datastore.register_azure_blob_container(
        ws, "extra_store", "extra", OTHER, account_key=account_key(OTHER), create_if_not_exists=True
    )
    assert other.name == "extra_store" and landing.name == "landing"
    v0, v1, off = publish(ws, "v0"), publish(ws, "v1"), publish(ws, "off")
    off.disable()
    endpoint = PipelineEndpoint.publish(ws, name="moved-endpoint", pipeline=v0, description="moved")
    endpoint.add_default(v1)
    start = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).replace(tzinfo=None, microsecond=0)
    minute = Schedule.create(
        ws, name="every-minute", pipeline_id=v0.id, experiment_name="moved-sched",
        recurrence=ScheduleRecurrence(frequency="Minute", interval=1, start_time=start),
    )  # fmt: skip
    minute.disable()
    Schedule.create_for_pipeline_endpoint(
        ws, name="on-landing", pipeline_endpoint_id=endpoint.id, experiment_name="moved-sched", datastore=landing,
        path_on_datastore="incoming", polling_interval=5, debounce_seconds=2,
    )  # fmt: skip

    exported = tmp_path / "workspace.json"
    done = cli("export", "--out", str(exported), "--config", str(source.project / "config.json"))
    assert done.returncode == 0, done.stderr
    assert "extra_store (account_key)" in done.stdout, done.stdout
    text = exported.read_text()
    assert account_key(OTHER) not in text and "AccountKey=" not in text and source.key not in text

    target_config = str(target.project / "config.json")
    refused = cli("import", str(exported), "--config", target_config)
    assert refused.returncode == 1 and secret_env_name("extra_store", "account_key") in refused.stderr, refused
    assert PublishedPipeline.list(target.workspace()) == []  # nothing changed before the secrets were there

    # the other account is one account in Azure; here each service has its own Azurite: the container must be there
    from azure.storage.blob import BlobServiceClient

    with BlobServiceClient.from_connection_string(target.azurite.account_connection_string(OTHER)) as blobs:
        blobs.create_container("extra")
    env = {secret_env_name("extra_store", "account_key"): account_key(OTHER)}
    done = cli("import", str(exported), "--config", target_config, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert account_key(OTHER) not in done.stdout + done.stderr

    tws = target.workspace()
    moved = PipelineEndpoint.get(tws, name="moved-endpoint")
    assert moved.default_version == "1"
    assert [p.id for p in moved.list_pipelines()] == [v0.id, v1.id]  # the pipelines keep their ids
    assert rest_run(target, moved, "0", "zero") == "MOVED v0 zero"
    assert rest_run(target, moved, "1", "one") == "MOVED v1 one"
    assert PublishedPipeline.get(tws, off.id).status == "Disabled"

    schedules = {s.name: s for s in Schedule.list(tws, active_only=False)}
    assert schedules["every-minute"].status == "Disabled" and schedules["on-landing"].status == "Active"
    assert schedules["every-minute"].pipeline_id == v0.id
    assert schedules["on-landing"].pipeline_endpoint_id == moved.id
    assert (
        schedules["on-landing"].path_on_datastore == "incoming" and schedules["on-landing"].datastore_name == "landing"
    )
    assert Schedule.get(tws, schedules["every-minute"].id).recurrence.frequency == "Minute"

    moved_other = Datastore.get(tws, "extra_store")
    assert moved_other.account_name == OTHER and moved_other.container_name == "extra"
    assert Datastore.get(tws, "landing").account_name == tws.get_default_datastore().account_name

    again = cli("import", str(exported), "--config", target_config, env=env)
    assert again.returncode == 0 and " 0 created" in again.stdout, again.stdout
    assert len(Schedule.list(tws, active_only=False)) == 2 and len(PipelineEndpoint.list(tws)) == 1
