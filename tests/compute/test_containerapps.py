"""The Container Apps jobs backend beyond the conformance suite (issue 14): what it sends to ARM (no secret in an
execution's environment, the job's own secret references kept), how a retried submit adopts an execution whose
name was never recorded, how the deployment's app settings choose it, and what the loopback ARM server refuses.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from durableml.compute import JobState
from durableml.compute.containerapps import containerapps_backend, parse_job_id, wants_containerapps
from durableml.compute.containerapps.backend import ContainerAppsCompute, execution_record
from durableml.compute.layout import JOBS_CONTAINER
from durableml.compute.registry import create_backend
from durableml.devtools.containerapps_arm import ArmError, validate_model
from durableml.exceptions import ConfigurationError
from funchost.azurite import AzuriteHandle

from .conftest import ContainerAppsHarness, StepFactory

TIMEOUT = 90.0


@pytest.fixture
def aca(request: pytest.FixtureRequest) -> ContainerAppsHarness:
    return ContainerAppsHarness(request)


def _post(url: str, body: Any, token: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_an_execution_carries_a_blob_name_and_secret_references_never_a_secret(
    aca: ContainerAppsHarness, step: StepFactory, azurite: AzuriteHandle, tmp_path: Path
) -> None:
    spec = step("import os\nprint('storage' if 'DURABLEML_STORAGE' in os.environ else 'clean')\n")
    backend = aca.make(tmp_path / "state", 1)
    backend.submit(spec)
    status = backend.wait(spec.job_id, timeout=TIMEOUT)
    assert status.state is JobState.FINISHED, backend.logs(spec.job_id)
    assert backend.logs(spec.job_id) == "clean\n"  # the node's storage secret never reaches the script
    (execution,) = aca.server.executions.values()
    (container,) = execution.template["containers"]
    env = {var["name"]: var for var in container["env"]}
    assert env["DURABLEML_STORAGE"] == {"name": "DURABLEML_STORAGE", "secretRef": "storage-connection"}
    assert env["PLAIN"] == {"name": "PLAIN", "value": "1"}  # the job's own environment is kept
    assert env["DURABLEML_SPEC_BLOB"]["value"] == f"durableml-jobs/{spec.job_id}/spec.json"
    assert env["DURABLEML_STEP_RUN_ID"]["value"] == spec.job_id and env["DURABLEML_RAY_ATTEMPT"]["value"] == "1"
    sent = json.dumps(execution.template)
    assert "AccountKey" not in sent and "sig=" not in sent and azurite.connection_string not in sent
    assert container["image"] == aca.job.image and backend.execution(spec.job_id) == execution.name


def test_a_retried_submit_adopts_the_execution_a_crashed_submit_started(
    aca: ContainerAppsHarness, step: StepFactory, azurite: AzuriteHandle, tmp_path: Path
) -> None:
    from azure.storage.blob import BlobServiceClient

    spec = step("import time\ntime.sleep(1)\nprint('once')\n")
    first = aca.make(tmp_path / "first", 1)
    first.submit(spec)
    started = first.execution(spec.job_id)
    assert started is not None
    # the first service process died after starting the execution and before recording its name
    with BlobServiceClient.from_connection_string(azurite.connection_string) as blobs:
        record = blobs.get_blob_client(JOBS_CONTAINER, execution_record(spec.job_id, 1))
        record.upload_blob(json.dumps({"attempt": 1, "execution": None}).encode(), overwrite=True)
    again = aca.make(tmp_path / "again", 1)  # another process of the service, with no local state
    again.submit(spec)
    assert again.execution(spec.job_id) == started
    assert again.wait(spec.job_id, timeout=TIMEOUT).state is JobState.FINISHED
    assert len(aca.server.executions) == 1 and again.logs(spec.job_id) == "once\n"


def test_the_app_settings_choose_container_apps_for_amlcompute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = "/subscriptions/0000/resourceGroups/rg-ml/providers/Microsoft.App/jobs/ml-steps"
    record = {"name": "cpu-cluster", "type": "AmlCompute", "max_nodes": 4}
    monkeypatch.setenv("DURABLEML_AMLCOMPUTE_BACKEND", "containerapps")
    monkeypatch.setenv("DURABLEML_STEP_JOB_ID", job_id)
    backend = create_backend(record, tmp_path)
    assert isinstance(backend, ContainerAppsCompute)
    assert backend.job == parse_job_id(job_id) == ("0000", "rg-ml", "ml-steps") and backend.max_nodes == 4
    assert not wants_containerapps({**record, "backend": "ray"})  # a target attached to a Ray cluster stays there
    assert type(create_backend({**record, "type": "ComputeInstance"}, tmp_path)).__name__ == "LocalCompute"
    with pytest.raises(ConfigurationError, match="DURABLEML_STEP_JOB_ID"):
        containerapps_backend(record, tmp_path, {"DURABLEML_AMLCOMPUTE_BACKEND": "containerapps"})
    with pytest.raises(ConfigurationError, match="not the ARM id of a Container Apps job"):
        parse_job_id("/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Web/sites/app")
    with pytest.raises(Exception, match="must be https"):
        ContainerAppsCompute(job_id, tmp_path, arm_endpoint="http://arm.example.com")


def test_the_arm_server_checks_the_token_and_the_body_against_the_sdk_models(aca: ContainerAppsHarness) -> None:
    start = f"{aca.server.url}{aca.job.id}/start?api-version=2025-01-01"
    container = {"name": "step-runner", "image": aca.job.image}
    assert _post(start, {"containers": [container]}, None)[0] == 401
    assert _post(start, {"containers": [container]}, "wrong")[1]["error"]["code"] == "InvalidAuthenticationToken"
    token = aca.server.token
    status, body = _post(start, {"containers": [{**container, "envVars": []}]}, token)
    assert status == 400 and body["error"] == {
        "code": "InvalidRequestContent",
        "message": "unknown field 'containers[0].envVars' in JobExecutionContainer",
    }
    bad_env = {**container, "env": [{"name": "X", "value": "1", "secretRef": "storage-connection"}]}
    assert _post(start, {"containers": [bad_env]}, token)[1]["error"]["code"] == "InvalidEnvironmentVariable"
    unknown_ref = {**container, "env": [{"name": "X", "secretRef": "nope"}]}
    assert _post(start, {"containers": [unknown_ref]}, token)[1]["error"]["code"] == "SecretRefNotFound"
    assert _post(start, {"containers": [{**container, "resources": {"cpu": "lots"}}]}, token)[0] == 400
    no_version = f"{aca.server.url}{aca.job.id}/start"
    assert _post(no_version, {}, token)[1]["error"]["code"] == "MissingApiVersionParameter"
    assert aca.server.executions == {}
    from azure.mgmt.appcontainers.models import JobExecutionTemplate

    with pytest.raises(ArmError, match="read-only"):
        validate_model(JobExecutionTemplate, {"containers": [{**container, "resources": {"ephemeralStorage": "1"}}]})
