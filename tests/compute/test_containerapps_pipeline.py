"""The seed pipeline through funchost with AmlCompute backed by Container Apps jobs, chosen by app settings only
(issue 14): the deployment's settings (``DURABLEML_AMLCOMPUTE_BACKEND=containerapps``, ``DURABLEML_STEP_JOB_ID``)
plus the loopback ARM server's endpoint, and the App Service managed identity endpoint the Function App gets from
Azure (``IDENTITY_ENDPOINT`` / ``IDENTITY_HEADER``), here answered by the same loopback server. Every step runs as
one job execution (a local process of the step-runner image's entrypoint); none runs in the service.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from durableml.devtools.containerapps_arm import ContainerAppsArmServer, JobDefinition, dockerfile_entrypoint
from durableml.launcher import LocalDurableml
from durableml.pipeline.core import PipelineRun
from funchost.azurite import start_azurite
from tests.e2e.conftest import Service
from tests.polling import wait_until

from .conftest import REPO
from .test_ray_pipelines import EXPERIMENT, OUTPUTS, run_example, step_outputs


@pytest.fixture(scope="module")
def arm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ContainerAppsArmServer, Service]]:
    work = tmp_path_factory.mktemp("aca-e2e")
    azurite = start_azurite(work / "azurite")
    (work / "executions").mkdir()
    job = JobDefinition(
        "00000000-0000-0000-0000-0000000000e2",
        "rg-durableml",
        "durableml-steps",
        image="durablemlacr.azurecr.io/durableml-step-runner:latest",
        command=dockerfile_entrypoint(REPO / "Dockerfile"),
        env=[{"name": "DURABLEML_STORAGE", "secretRef": "storage-connection"}],
        secrets={"storage-connection": azurite.connection_string},
        workdir=work / "executions",
    )
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    base.update(PYTHONUNBUFFERED="1", DURABLEML_RAY_NODE_DIR=str(work / "node"))
    server = ContainerAppsArmServer([job], base_env=base).start()
    settings = {
        "DURABLEML_AMLCOMPUTE_BACKEND": "containerapps",
        "DURABLEML_STEP_JOB_ID": job.id,
        "DURABLEML_ARM_ENDPOINT": server.url,
        **server.identity_env(),
    }
    launched = LocalDurableml(work, storage=azurite.connection_string, ready_timeout=60, env=settings)
    svc: Service | None = None
    try:
        launched.start()
        svc = Service(launched, azurite, work / "project")
        svc.write_config(svc.project)
        yield server, svc
    finally:
        if svc is not None:
            svc.session.close()
        launched.stop()
        server.stop()
        azurite.stop()


def test_the_seed_pipeline_runs_its_steps_as_container_apps_job_executions(
    arm: tuple[ContainerAppsArmServer, Service], tmp_path: Path
) -> None:
    server, service = arm
    run_id = run_example(service, tmp_path / "compare_models")
    run = PipelineRun(service.workspace().experiments[EXPERIMENT], run_id)
    steps = {s.id for s in run.get_steps()}
    assert len(steps) == len(OUTPUTS)

    def ran() -> dict[str, str]:
        found = {}
        for execution in server.executions.values():
            env = {var["name"]: var.get("value") for var in execution.template["containers"][0]["env"]}
            found[env["DURABLEML_STEP_RUN_ID"]] = execution.status()
        return found

    # a step's result is reported just before its container's process exits: its execution ends a moment later
    wait_until(lambda: "Running" not in ran().values(), 30, 0.05, "the executions to end")
    assert ran() == {step: "Succeeded" for step in steps}, "each step was one execution, and nothing else ran"
    job_id = next(iter(server.jobs.values())).id
    assert server.requests.count(("POST", f"{job_id}/start")) == len(steps)
    assert ("GET", "/msi/token") in server.requests, "the service authenticated as its managed identity"
    outputs = step_outputs(service, run_id, tmp_path / "out")
    for script, folder in outputs.items():
        assert any(p.is_file() for p in folder.rglob("*")), f"{script} wrote its output to the datastore"
    assert next((tmp_path / "compare_models" / "results").rglob("report.json")).stat().st_size > 0
    train = run.find_step_run("train.py")[0]
    assert "trained on" in train.get_job_log(), "the driver log of an execution reaches the run's logs"
