"""DatabricksStep end to end, as v1 code writes it, against the loopback Databricks workspace
(:mod:`durableml.devtools.databricks_jobs`, started once for the module) that runs every task with a real local
Spark: a notebook with a PipelineParameter widget; a ``python_script_name`` + ``source_directory`` script reading
a DataReference with Spark and writing PipelineData that a PythonScriptStep reads; a ``spark_jar_task`` compiled
here with javac; reuse; cancel (the Spark processes end); a failing script's error as the step's failure reason;
the server refusing a request the SDK's models do not know; the access token in no record, log or blob.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.polling import wait_until

from .conftest import Service

PROJECT = Path(__file__).resolve().parent / "projects" / "databricks"
TOKEN = f"dapi{uuid.uuid4().hex}"
SALES = "region,amount\nwest,10\neast,5\nwest,7.5\neast,1\nnorth,3\n"


@pytest.fixture(scope="module")
def loopback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The loopback Databricks server (a process of its own), its URL and folder."""
    root = tmp_path_factory.mktemp("databricks")
    env = {**os.environ, "DURABLEML_DATABRICKS_TOKEN": TOKEN}
    command = [sys.executable, "-m", "durableml.devtools.databricks_jobs", "--root", str(root),
               "--workspace", str(PROJECT / "notebooks")]  # fmt: skip
    log = root / "server.log"  # a file, not a pipe nobody drains
    with open(log, "wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        line = wait_until(lambda: log.read_text().partition("\n")[0] if "\n" in log.read_text() else "", timeout=60,
                          what="the loopback server to listen")  # fmt: skip
        yield {"url": json.loads(line)["url"], "root": root, "process": process}
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def ws(v1_ws: Any, loopback: dict[str, Any]) -> Any:
    from azureml.core.compute import ComputeTarget, DatabricksCompute

    from ._helpers import ensure_compute

    ensure_compute(v1_ws)
    if "dbx" not in v1_ws.compute_targets:
        config = DatabricksCompute.attach_configuration(
            resource_group="analytics", workspace_name="sales-databricks", access_token=TOKEN,
            workspace_url=loopback["url"],
        )  # fmt: skip
        ComputeTarget.attach(v1_ws, "dbx", config).wait_for_completion()
    return v1_ws


def _sales(ws: Any, tmp_path: Path) -> Any:
    from azureml.data.data_reference import DataReference

    store = ws.get_default_datastore()
    folder = f"dbx-{uuid.uuid4().hex[:8]}"
    (tmp_path / "sales.csv").write_text(SALES)
    store.upload_files([str(tmp_path / "sales.csv")], target_path=folder, overwrite=True)
    return DataReference(store, "sales", folder)


def _finish(run: Any, expected: str = "Finished") -> None:
    from ._helpers import step_summary

    status = run.wait_for_completion(show_output=False, timeout_seconds=240, raise_on_error=False)
    assert status == expected, step_summary(run)


def test_a_notebook_gets_a_pipeline_parameter_and_an_input_as_widgets(ws: Any, tmp_path: Path) -> None:
    from azureml.core import Experiment
    from azureml.pipeline.core import Pipeline, PipelineParameter
    from azureml.pipeline.steps import DatabricksStep

    notebook = DatabricksStep(
        name="notebook", notebook_path="/Shared/params", inputs=[_sales(ws, tmp_path)],
        notebook_params={"myparam": PipelineParameter("myparam", default_value="default")},
        run_name="params notebook", compute_target="dbx", existing_cluster_id="0123-456789-abcdef", allow_reuse=False,
    )  # fmt: skip
    run: Any = Experiment(ws, "e2e-databricks").submit(
        Pipeline(ws, [notebook]), pipeline_parameters={"myparam": "given"}
    )
    _finish(run)
    log = run.find_step_run("notebook")[0].get_job_log()
    assert "[durableml] notebook result: given|5 rows" in log, log
    assert "Databricks run" in log and "TERMINATED" in log, log


def test_a_script_reads_a_data_reference_with_spark_and_writes_pipeline_data(
    ws: Any, service: Service, tmp_path: Path
) -> None:
    from azureml.core import Experiment
    from azureml.pipeline.core import Pipeline, PipelineData, PipelineParameter
    from azureml.pipeline.steps import DatabricksStep, PythonScriptStep

    from ._helpers import step_summary

    totals = PipelineData("totals", datastore=ws.get_default_datastore())
    spark_step = DatabricksStep(
        name="spark-totals", python_script_name="spark_totals.py", source_directory=str(PROJECT),
        python_script_params=["--minimum", PipelineParameter("minimum", default_value="2")],
        inputs=[_sales(ws, tmp_path)], outputs=[totals], compute_target="dbx", num_workers=1,
        spark_conf={"spark.sql.shuffle.partitions": "2"}, timeout_seconds=600,
    )  # fmt: skip
    read = PythonScriptStep(
        script_name="read_totals.py", name="read-totals", source_directory=str(PROJECT), compute_target="e2e-cpu",
        arguments=["--totals", totals], inputs=[totals],
    )  # fmt: skip
    pipeline = Pipeline(ws, [spark_step, read])
    run: Any = Experiment(ws, "e2e-databricks").submit(pipeline)
    _finish(run)
    read_log = run.find_step_run("read-totals")[0].get_job_log()
    # amount >= 2: east's 1 is left out
    assert "total east: 5" in read_log and "total north: 3" in read_log and "total west: 17.5" in read_log, read_log
    spark_log = run.find_step_run("spark-totals")[0].get_job_log()
    assert "regions written: 3" in spark_log and "output 'totals': 2 file(s) downloaded" in spark_log, spark_log

    again: Any = Experiment(ws, "e2e-databricks").submit(pipeline)  # the same pipeline: the step is reused
    _finish(again)
    first_id = run.find_step_run("spark-totals")[0].id
    second = again.find_step_run("spark-totals")[0]
    why = service.api("GET", f"/api/runs/{second.id}/reuse").text
    assert second.get_details().get("reusedFrom") == first_id, f"{step_summary(again)}\n{why}"


def test_a_spark_jar_task_runs_a_jar_compiled_here(ws: Any, loopback: dict[str, Any], tmp_path: Path) -> None:
    from azureml.core import Experiment
    from azureml.core.runconfig import JarLibrary
    from azureml.pipeline.core import Pipeline
    from azureml.pipeline.steps import DatabricksStep
    from databricks.sdk import WorkspaceClient

    import pyspark

    classes = tmp_path / "classes"
    jars = str(Path(pyspark.__file__).parent / "jars" / "*")
    subprocess.run(["javac", "-cp", jars, "-d", str(classes), str(PROJECT / "Hello.java")], check=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        jar.write(classes / "Hello.class", "Hello.class")
    buffer.seek(0)
    WorkspaceClient(host=loopback["url"], token=TOKEN).dbfs.upload("dbfs:/jars/hello.jar", buffer, overwrite=True)

    step = DatabricksStep(
        name="jar", main_class_name="Hello", jar_libraries=[JarLibrary("dbfs:/jars/hello.jar")],
        jar_params=["alpha", "beta"], compute_target="dbx", existing_cluster_id="0123-456789-abcdef",
        allow_reuse=False,
    )  # fmt: skip
    run: Any = Experiment(ws, "e2e-databricks").submit(Pipeline(ws, [step]))
    _finish(run)
    log = run.find_step_run("jar")[0].get_job_log()
    assert "hello from a jar: alpha beta count=4" in log, log


def test_a_failing_script_shows_its_error_in_the_step_failure_reason(ws: Any, loopback: dict[str, Any]) -> None:
    """A python_script_path script (put on DBFS beforehand, as v1 users did) that raises."""
    from azureml.core import Experiment
    from azureml.core.runconfig import PyPiLibrary
    from azureml.pipeline.core import Pipeline
    from azureml.pipeline.steps import DatabricksStep
    from databricks.sdk import WorkspaceClient

    with open(PROJECT / "failing.py", "rb") as script:
        WorkspaceClient(host=loopback["url"], token=TOKEN).dbfs.upload(
            "dbfs:/scripts/failing.py", script, overwrite=True
        )
    step = DatabricksStep(name="failing", python_script_path="dbfs:/scripts/failing.py", compute_target="dbx",
                          existing_cluster_id="c-1", pypi_libraries=[PyPiLibrary("requests")],
                          allow_reuse=False)  # fmt: skip
    run: Any = Experiment(ws, "e2e-databricks").submit(Pipeline(ws, [step]))
    _finish(run, "Failed")
    error = str(run.find_step_run("failing")[0].get_details().get("error"))
    assert "ValueError: bad sales data in 3 rows" in error and "ended FAILED" in error, error
    assert 'failing.py", line' in error, "the error_trace is part of the reason"


def _spark_pids(marker: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if marker in command and "spark_host.py" in command:  # spark-submit, its JVM and Python
                pids.append(int(entry.name))
    return pids


def test_cancel_ends_the_step_canceled_and_its_spark_processes(ws: Any) -> None:
    from azureml.core import Experiment
    from azureml.pipeline.core import Pipeline
    from azureml.pipeline.steps import DatabricksStep

    marker = f"cancel-{uuid.uuid4().hex[:8]}"
    step = DatabricksStep(name="sleeping", python_script_name="sleeping.py", source_directory=str(PROJECT),
                          python_script_params=[marker], compute_target="dbx", existing_cluster_id="c-1",
                          allow_reuse=False)  # fmt: skip
    run: Any = Experiment(ws, "e2e-databricks").submit(Pipeline(ws, [step]))
    deadline = time.monotonic() + 120
    while not (_spark_pids(marker) and "RUNNING" in _step_log(run, "sleeping")) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _spark_pids(marker), "the Spark process of the run should be running"
    run.cancel()
    _finish(run, "Canceled")
    assert run.find_step_run("sleeping")[0].get_status() == "Canceled"
    deadline = time.monotonic() + 30
    while _spark_pids(marker) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _spark_pids(marker), "the canceled run's Spark processes are still running"


def _step_log(run: Any, name: str) -> str:
    found = run.find_step_run(name)
    return str(found[0].get_job_log()) if found else ""


def test_the_server_refuses_what_the_sdk_models_do_not_know(loopback: dict[str, Any]) -> None:
    url, headers = loopback["url"], {"Authorization": f"Bearer {TOKEN}"}
    task = {"task_key": "t", "existing_cluster_id": "c", "spark_python_task": {"python_file": "dbfs:/x.py"}}
    answer = requests.post(f"{url}/api/2.2/jobs/runs/submit", json={"tasks": [task], "colour": "blue"},
                           headers=headers, timeout=10)  # fmt: skip
    assert answer.status_code == 400 and "colour" in answer.json()["message"], answer.text
    inner = {"tasks": [{**task, "spark_python_task": {"python_file": "dbfs:/x.py", "extra": 1}}]}
    answer = requests.post(f"{url}/api/2.1/jobs/runs/submit", json=inner, headers=headers, timeout=10)
    assert answer.status_code == 400 and "tasks[0].spark_python_task.extra" in answer.json()["message"], answer.text
    answer = requests.post(f"{url}/api/2.2/jobs/runs/submit", json={"tasks": [task]},
                           headers={"Authorization": "Bearer wrong"}, timeout=10)  # fmt: skip
    assert answer.status_code == 401, answer.text


def test_the_access_token_is_in_no_record_log_or_blob(ws: Any, service: Service, loopback: dict[str, Any]) -> None:
    from azureml.core.compute import ComputeTarget

    target = ComputeTarget(ws, "dbx")
    assert TOKEN not in json.dumps(target.serialize()) and target.type == "Databricks"
    assert TOKEN not in service.api("GET", "/api/computes/dbx").text
    assert TOKEN not in service.api("GET", "/api/computes").text
    leaks = [str(p) for p in service.azurite.data_dir.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert not leaks, leaks
    assert TOKEN not in service.host.output()
    logs = [p for p in Path(service.state_dir).rglob("*") if p.is_file() and p.name != "spec.json"]
    logs += [p for p in Path(loopback["root"]).rglob("*") if p.is_file()]  # the runs' logs, requests, DBFS
    assert logs and not [str(p) for p in logs if TOKEN.encode() in p.read_bytes()]


def test_a_host_crash_while_the_databricks_run_goes_on_ends_with_one_run(
    ws: Any, service: Service, loopback: dict[str, Any], tmp_path: Path
) -> None:
    """funchost is killed (SIGKILL) while the Databricks run goes on and restarted: the step ends Finished, and the
    workspace ran the task once (one run with its submit's idempotency token)."""
    from azureml.core import Experiment
    from azureml.pipeline.core import Pipeline
    from azureml.pipeline.steps import DatabricksStep

    journal = tmp_path / "journal.txt"
    step = DatabricksStep(name="journal", python_script_name="journal.py", source_directory=str(PROJECT),
                          python_script_params=[str(journal)], compute_target="dbx", existing_cluster_id="c-1",
                          allow_reuse=False)  # fmt: skip
    from ._helpers import finishes_after_a_host_crash

    run: Any = Experiment(ws, "e2e-databricks").submit(Pipeline(ws, [step]))
    started = lambda: journal.exists() and "start" in journal.read_text()  # noqa: E731
    finishes_after_a_host_crash(service, run, started, "the task to start", timeout=240)
    assert journal.read_text().splitlines() == ["start", "end"], "the task ran exactly once"
    runs = [p for p in (loopback["root"] / "runs").iterdir() if str(journal) in (p / "request.json").read_text()]
    assert len(runs) == 1, runs


def test_the_example_runs_offline_with_one_command() -> None:
    """examples/databricks/run.py: its own durableml and loopback workspace, the v1 pipeline mixing a DataTransferStep,
    two DatabricksSteps and a PythonScriptStep, the report."""
    example = PROJECT.parents[3] / "examples" / "databricks"
    done = subprocess.run(
        [sys.executable, str(example / "run.py")], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "[durableml] notebook result: 5 sales >= 2" in done.stdout, done.stdout[-3000:]
    # the DataTransferStep landed the sales server-side before the Databricks steps read them
    assert "DataTransferStep: copied 1 file(s)" in done.stdout and "1 server-side" in done.stdout, done.stdout[-3000:]
    (report,) = (example / "results").rglob("report.txt")
    assert report.read_text().splitlines() == [
        "east: 1 sales, 5 in total",
        "north: 2 sales, 15 in total",
        "west: 2 sales, 17.5 in total",
    ]
