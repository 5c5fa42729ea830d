"""DatabricksStep's pieces that need no Spark: the request checks of the loopback server (against databricks-sdk's
models), its DBFS through the SDK's own client, the step's settings as ``jobs.submit`` arguments, and where the
backend finds the workspace URL. The runs themselves: tests/e2e/test_databricks_step.py."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from durableml.compute.databricks import databricks_backend, workspace_url
from durableml.devtools.databricks_jobs import JobsServer
from durableml.devtools.databricks_requests import RequestRefused, check_body
from durableml.exceptions import ComputeTargetException
from durableml.runner.databricks_task import submit_arguments

TOKEN = "dapi-unit-test-token"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[JobsServer]:
    started = JobsServer(tmp_path / "dbx", TOKEN).start()
    yield started
    started.stop()


def _submit_body(**task: Any) -> dict[str, Any]:
    """The body ``jobs.submit`` sends for the step settings ``task``."""
    arguments = submit_arguments(task, "dbfs:/base", {"sales": "dbfs:/in/sales"}, {"totals": "dbfs:/out/totals"})
    body: dict[str, Any] = {"run_name": arguments["run_name"], "tasks": [t.as_dict() for t in arguments["tasks"]]}
    if "timeout_seconds" in arguments:
        body["timeout_seconds"] = arguments["timeout_seconds"]
    return {**body, "idempotency_token": "t"}


def test_a_body_the_sdk_builds_passes_and_unknown_or_changed_fields_are_refused() -> None:
    from databricks.sdk.service.jobs import JobsAPI

    body = _submit_body(
        target={"kind": "python_script_path", "value": "dbfs:/a.py"}, cluster={"existingClusterId": "c"}
    )
    assert check_body(body, JobsAPI.submit) is body
    with pytest.raises(RequestRefused, match=r"unknown field\(s\) \['colour'\]"):
        check_body({**body, "colour": "blue"}, JobsAPI.submit)
    inner = {**body, "tasks": [{**body["tasks"][0], "spark_python_task": {"python_file": "x", "extra": 1}}]}
    with pytest.raises(RequestRefused, match=r"tasks\[0\]\.spark_python_task\.extra: unknown field"):
        check_body(inner, JobsAPI.submit)
    with pytest.raises(RequestRefused, match="timeout_seconds: expected int"):
        check_body({**body, "timeout_seconds": "soon"}, JobsAPI.submit)
    with pytest.raises(RequestRefused, match="is not a PerformanceTarget"):
        check_body({**body, "performance_target": "FASTEST"}, JobsAPI.submit)


def test_each_variant_becomes_its_task_with_inputs_and_outputs_as_v1_passes_them() -> None:
    notebook = _submit_body(target={"kind": "notebook_path", "value": "/Shared/nb"}, notebookParams={"p": 1},
                            cluster={"existingClusterId": "c"}, stepName="nb")  # fmt: skip
    assert notebook["run_name"] == "nb"
    assert notebook["tasks"][0]["notebook_task"]["base_parameters"] == {
        "p": "1", "sales": "dbfs:/in/sales", "totals": "dbfs:/out/totals"
    }  # fmt: skip
    script = _submit_body(target={"kind": "python_script_name", "value": "train.py"}, pythonScriptParams=["--a", 2],
                          cluster={"sparkVersion": "13.3.x", "nodeType": "n", "minWorkers": 1, "maxWorkers": 3,
                                   "sparkConf": {"k": "v"}, "initScripts": ["dbfs:/init.sh"]},
                          libraries=[{"kind": "pypi", "library": "six", "repo": "https://pypi.example"}],
                          timeoutSeconds=60, runName="named")  # fmt: skip
    task = script["tasks"][0]
    assert task["spark_python_task"] == {
        "python_file": "dbfs:/base/source/train.py",
        "parameters": ["--a", "2", "-sales", "dbfs:/in/sales", "-totals", "dbfs:/out/totals"],
    }
    assert task["new_cluster"]["autoscale"] == {"min_workers": 1, "max_workers": 3}
    assert task["new_cluster"]["init_scripts"] == [{"dbfs": {"destination": "dbfs:/init.sh"}}]
    assert task["libraries"] == [{"pypi": {"package": "six", "repo": "https://pypi.example"}}]
    assert script["run_name"] == "named" and script["timeout_seconds"] == 60 and task["timeout_seconds"] == 60
    jar = _submit_body(target={"kind": "main_class_name", "value": "Main"}, jarParams=["x"],
                       cluster={"existingClusterId": "c"}, libraries=[{"kind": "jar", "library": "dbfs:/a.jar"},
                       {"kind": "maven", "library": "g:a:1", "exclusions": "x:y,z:w"}])  # fmt: skip
    assert jar["tasks"][0]["spark_jar_task"]["parameters"][:3] == ["x", "-sales", "dbfs:/in/sales"]
    assert jar["tasks"][0]["libraries"][1] == {"maven": {"coordinates": "g:a:1", "exclusions": ["x:y", "z:w"]}}


def test_dbfs_through_the_sdk_client_and_the_token_checked(server: JobsServer) -> None:
    from databricks.sdk import WorkspaceClient

    client = WorkspaceClient(host=server.url, token=TOKEN, auth_type="pat")
    data = bytes(range(256)) * 5000  # more than one 1 MB block
    client.dbfs.upload("dbfs:/d/a.bin", io.BytesIO(data), overwrite=True)
    assert [f.path for f in client.dbfs.list("dbfs:/d")] == ["/d/a.bin"]
    assert client.dbfs.download("dbfs:/d/a.bin").read() == data
    assert (server.root / "dbfs" / "d" / "a.bin").read_bytes() == data
    refused = requests.get(f"{server.url}/api/2.0/dbfs/list", params={"path": "/d"}, timeout=10)
    assert refused.status_code == 401
    escape = requests.get(f"{server.url}/api/2.0/dbfs/get-status", params={"path": "/../../etc/passwd"},
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)  # fmt: skip
    assert escape.status_code == 400 and "leaves DBFS" in escape.json()["message"]


def test_the_workspace_url_and_the_token_the_backend_needs(tmp_path: Path) -> None:
    assert (
        workspace_url({"workspaceUrl": "https://adb-1.2.azuredatabricks.net/"}) == "https://adb-1.2.azuredatabricks.net"
    )
    assert workspace_url({"workspaceName": "http://127.0.0.1:8765"}, environ={}) == "http://127.0.0.1:8765"
    assert workspace_url({"workspaceName": "ws"}, environ={"DURABLEML_DATABRICKS_URL": "https://h"}) == "https://h"
    with pytest.raises(ComputeTargetException, match="workspace_url="):
        workspace_url({"name": "dbx", "workspaceName": "ws"}, environ={})
    with pytest.raises(ComputeTargetException, match="plain http only for a loopback"):
        workspace_url({"name": "dbx", "workspaceUrl": "http://example.com"}, environ={})
    with pytest.raises(ComputeTargetException, match="has no access token"):
        databricks_backend({"name": "dbx", "workspaceUrl": "https://h"}, tmp_path)
    backend = databricks_backend({"name": "dbx", "workspaceUrl": "https://h", "access_token": TOKEN}, tmp_path)
    assert TOKEN not in repr(backend)


def _wait_terminated(client: Any, run_id: int) -> Any:
    from tests.polling import wait_until

    def ended() -> Any:
        run = client.jobs.get_run(run_id)
        return run if run.state.life_cycle_state.value == "TERMINATED" else None

    return wait_until(ended, timeout=60, interval=0.1, what=f"run {run_id} to end")


def test_the_same_idempotency_token_gives_the_same_run(server: JobsServer) -> None:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service import jobs

    client = WorkspaceClient(host=server.url, token=TOKEN, auth_type="pat")
    task = jobs.SubmitTask(task_key="t", existing_cluster_id="c",
                           spark_python_task=jobs.SparkPythonTask(python_file="dbfs:/missing.py"))  # fmt: skip
    first = client.jobs.submit(run_name="once", tasks=[task], idempotency_token="tok-1").response.run_id
    again = client.jobs.submit(run_name="once", tasks=[task], idempotency_token="tok-1").response.run_id
    other = client.jobs.submit(run_name="once", tasks=[task], idempotency_token="tok-2").response.run_id
    assert first == again and other != first
    run = _wait_terminated(client, first)
    assert run.state.result_state.value == "FAILED" and len(run.tasks) == 1
    output = client.jobs.get_run_output(run.tasks[0].run_id)
    assert "dbfs:/missing.py does not exist in DBFS" in str(output.error)

    restarted = JobsServer(server.root, TOKEN).start()  # a server on the same folder knows the run and its token
    try:
        client = WorkspaceClient(host=restarted.url, token=TOKEN, auth_type="pat")
        assert client.jobs.submit(run_name="once", tasks=[task], idempotency_token="tok-1").response.run_id == first
        assert client.jobs.get_run(first).state.result_state.value == "FAILED"
        assert client.jobs.submit(run_name="once", tasks=[task]).response.run_id > other
    finally:
        restarted.stop()


def test_timeout_seconds_kills_the_run(server: JobsServer) -> None:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service import jobs

    client = WorkspaceClient(host=server.url, token=TOKEN, auth_type="pat")
    client.dbfs.upload("dbfs:/sleep.py", io.BytesIO(b"import time\ntime.sleep(600)\n"), overwrite=True)
    task = jobs.SubmitTask(task_key="t", existing_cluster_id="c", timeout_seconds=1,
                           spark_python_task=jobs.SparkPythonTask(python_file="dbfs:/sleep.py"))  # fmt: skip
    run_id = client.jobs.submit(run_name="slow", tasks=[task]).response.run_id
    run = _wait_terminated(client, run_id)
    assert run.state.result_state.value == "TIMEDOUT", run.state
    assert "timed out after 1 seconds" in str(client.jobs.get_run_output(run.tasks[0].run_id).error)
    pid = server.runs._runs[run_id].pid
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # the run's process group is gone
