"""LocalCompute end to end: real worker processes, real scripts, a real Azurite."""

from __future__ import annotations

import json
import os
import signal
import stat
import time

import pytest
from azure.storage.blob import BlobServiceClient

from durableml.compute import ComputeBackend, JobState, input_placeholder, output_placeholder
from durableml.compute.local import LocalCompute
from durableml.exceptions import RunNotFoundError

from .conftest import StepFactory, blob_names, blob_text, process_gone, uploaded_log, wait_for


def test_local_compute_is_a_compute_backend(compute: LocalCompute) -> None:
    assert isinstance(compute, ComputeBackend)


def test_a_script_that_prints_finishes_and_its_output_is_in_the_log_blob(
    compute: LocalCompute, step: StepFactory, blobs: BlobServiceClient
) -> None:
    spec = step("import sys\nprint('hello from the step', sys.argv[1:])\n", arguments=["--alpha", "0.5"])
    compute.submit(spec)
    status = compute.wait(spec.job_id)
    assert (status.state, status.exit_code, status.error) == (JobState.FINISHED, 0, None)
    expected = "hello from the step ['--alpha', '0.5']"
    assert expected in compute.logs(spec.job_id)
    assert expected in uploaded_log(blobs, compute, spec.job_id)
    assert compute.logs(spec.job_id, offset=6).startswith("from the step")


def test_a_failing_script_fails_with_its_traceback_in_the_error_and_the_log(
    compute: LocalCompute, step: StepFactory, blobs: BlobServiceClient
) -> None:
    spec = step("""\
        def train():
            raise ValueError("learning rate must be positive, got -1")
        print("before the failure")
        train()
        """)
    compute.submit(spec)
    status = compute.wait(spec.job_id)
    assert status.state is JobState.FAILED and status.exit_code == 1
    assert status.error is not None and status.error.startswith("Traceback (most recent call last):")
    assert status.error.endswith("ValueError: learning rate must be positive, got -1")
    log = uploaded_log(blobs, compute, spec.job_id)
    assert "before the failure" in log and "in train" in log and "ValueError: learning rate" in log


def test_inputs_are_downloaded_and_outputs_uploaded_to_their_datastore_paths(
    compute: LocalCompute, step: StepFactory, blobs: BlobServiceClient
) -> None:
    store = blobs.get_container_client("workspaceblobstore")
    if not store.exists():
        store.create_container()
    store.upload_blob("raw/iris.csv", b"a,b\n1,2\n", overwrite=True)
    store.upload_blob("raw/images/x.txt", b"x", overwrite=True)
    store.upload_blob("raw/images/sub/y.txt", b"y", overwrite=True)
    spec = step(
        """\
        import os, sys
        table, images, model, report = sys.argv[1:]
        assert os.path.isfile(table) and open(table).read() == "a,b\\n1,2\\n", table
        assert sorted(os.listdir(images)) == ["sub", "x.txt"], os.listdir(images)
        assert open(os.path.join(images, "sub", "y.txt")).read() == "y"
        os.makedirs(model, exist_ok=True)
        open(os.path.join(model, "weights.bin"), "w").write("w")
        open(report, "w").write("all good")   # a non-directory output written as a file
        print("ok")
        """,
        arguments=[
            input_placeholder("table"),
            input_placeholder("images"),
            output_placeholder("model"),
            output_placeholder("report"),
        ],
        inputs={
            "table": {"container": "workspaceblobstore", "path_on_datastore": "raw/iris.csv", "mode": "download"},
            "images": {"container": "workspaceblobstore", "path_on_datastore": "raw/images", "mode": "mount"},
        },
        outputs={
            "model": {"container": "workspaceblobstore", "path_on_datastore": "", "is_directory": True},
            "report": {"container": "workspaceblobstore", "path_on_datastore": "", "is_directory": False},
        },
    )
    for name in ("model", "report"):
        spec.outputs[name]["path_on_datastore"] = f"azureml/{spec.job_id}/{name}"
    compute.submit(spec)
    status = compute.wait(spec.job_id)
    assert status.state is JobState.FINISHED, compute.logs(spec.job_id)
    assert blob_names(blobs, "workspaceblobstore", f"azureml/{spec.job_id}/") == [
        f"azureml/{spec.job_id}/model/weights.bin",
        f"azureml/{spec.job_id}/report",
    ]
    assert status.outputs["model"] == {
        "container": "workspaceblobstore",
        "path": f"azureml/{spec.job_id}/model",
        "kind": "directory",
        "files": 1,
    }
    assert status.outputs["report"]["kind"] == "file"


def test_a_missing_input_fails_the_step_with_a_clear_error(compute: LocalCompute, step: StepFactory) -> None:
    spec = step(
        "print('never runs')\n",
        inputs={"data": {"container": "workspaceblobstore", "path_on_datastore": "no/such/path", "mode": "download"}},
    )
    compute.submit(spec)
    status = compute.wait(spec.job_id)
    assert status.state is JobState.FAILED and status.exit_code is None
    assert "input 'data': nothing found at workspaceblobstore/no/such/path" in (status.error or "")
    assert "never runs" not in compute.logs(spec.job_id)


def test_submitting_the_same_job_id_twice_runs_it_once(compute: LocalCompute, step: StepFactory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    counter = tmp_path / "runs.txt"
    spec = step("import sys, time\nopen(sys.argv[1], 'a').write('ran\\n')\ntime.sleep(0.3)\n", arguments=[str(counter)])
    assert compute.submit(spec) == spec.job_id
    assert compute.submit(spec) == spec.job_id  # while it is queued or running
    compute.wait(spec.job_id)
    assert compute.submit(spec) == spec.job_id  # after it finished
    time.sleep(0.3)
    assert counter.read_text() == "ran\n"
    assert compute.poll(spec.job_id).state is JobState.FINISHED


def test_cancel_stops_a_sleeping_script(compute: LocalCompute, step: StepFactory) -> None:
    spec = step("import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n")
    compute.submit(spec)
    wait_for(lambda: "sleeping" in compute.logs(spec.job_id), what="the script to start")
    pid = json.loads((compute.state.job(spec.job_id).running).read_text())["pid"]
    started = time.monotonic()
    compute.cancel(spec.job_id)
    status = compute.wait(spec.job_id, timeout=10)
    assert status.state is JobState.CANCELED and time.monotonic() - started < 5
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    compute.cancel(spec.job_id)  # cancelling an ended job is harmless
    assert compute.poll(spec.job_id).state is JobState.CANCELED


def test_a_queued_job_canceled_before_it_starts_never_runs(new_compute, step: StepFactory) -> None:  # type: ignore[no-untyped-def]
    compute = new_compute(max_nodes=1)
    blocker = step("import time\nprint('blocking', flush=True)\ntime.sleep(60)\n")
    queued = step("print('must not run')\n")
    compute.submit(blocker)
    compute.submit(queued)
    wait_for(lambda: "blocking" in compute.logs(blocker.job_id), what="the blocker to start")
    assert compute.poll(queued.job_id).state is JobState.QUEUED
    compute.cancel(queued.job_id)
    assert compute.wait(queued.job_id, timeout=5).state is JobState.CANCELED
    compute.cancel(blocker.job_id)
    assert compute.wait(blocker.job_id, timeout=10).state is JobState.CANCELED
    assert compute.logs(queued.job_id) == ""


def test_a_script_over_its_timeout_is_stopped_and_fails(compute: LocalCompute, step: StepFactory) -> None:
    spec = step("import time\ntime.sleep(30)\n", timeout=0.5)
    compute.submit(spec)
    status = compute.wait(spec.job_id, timeout=10)
    assert status.state is JobState.FAILED
    assert status.error == "timed out after 0.5 s: the script ran longer than its timeout and was stopped"


def test_metrics_written_as_jsonl_are_parsed_into_the_result(compute: LocalCompute, step: StepFactory) -> None:
    spec = step("""\
        import json, os
        context = json.load(open(os.environ["DURABLEML_RUN_CONTEXT"]))
        with open(context["metrics_file"], "a") as metrics:
            metrics.write(json.dumps({"name": "accuracy", "value": 0.91, "kind": "scalar"}) + "\\n")
            metrics.write(json.dumps({"name": "losses", "value": [0.5, 0.3], "kind": "list"}) + "\\n")
            metrics.write("not json\\n")
            metrics.write(json.dumps({"name": "row", "value": {"x": 1}, "kind": "row", "step": 2}) + "\\n")
        """)
    compute.submit(spec)
    status = compute.wait(spec.job_id)
    assert status.state is JobState.FINISHED
    assert status.metrics == [
        {"name": "accuracy", "value": 0.91, "kind": "scalar"},
        {"name": "losses", "value": [0.5, 0.3], "kind": "list"},
        {"name": "row", "value": {"x": 1}, "kind": "row", "step": 2},
    ]
    assert "metrics line 3 is not JSON" in compute.logs(spec.job_id)


def test_the_run_context_and_captured_outputs(
    compute: LocalCompute, step: StepFactory, blobs: BlobServiceClient
) -> None:
    spec = step(
        """\
        import json, os
        context = json.load(open(os.environ["DURABLEML_RUN_CONTEXT"]))
        print(json.dumps({k: context[k] for k in ("run_id", "step_run_id", "step_name", "experiment_name")}))
        os.makedirs("outputs", exist_ok=True)
        open("outputs/model.pkl", "w").write("model")
        os.makedirs("logs", exist_ok=True)
        open("logs/train.log", "w").write("epoch 1")
        """,
        parent_run_id="run-1",
        workspace={"workspace_name": "ws"},
    )
    compute.submit(spec)
    assert compute.wait(spec.job_id).state is JobState.FINISHED
    first_line = compute.logs(spec.job_id).splitlines()[0]
    assert json.loads(first_line) == {
        "run_id": "run-1",
        "step_run_id": spec.job_id,
        "step_name": "main",
        "experiment_name": "exp",
    }
    assert blob_names(blobs, "durableml-artifacts", f"{spec.job_id}/") == [
        f"{spec.job_id}/logs/train.log",
        f"{spec.job_id}/outputs/model.pkl",
    ]


def test_the_log_blob_is_streamed_while_the_script_runs(
    compute: LocalCompute, step: StepFactory, blobs: BlobServiceClient
) -> None:
    spec = step("import time\nprint('first', flush=True)\ntime.sleep(2)\nprint('second')\n")
    compute.submit(spec)
    name = f"run-1/{spec.job_id}/70_driver_log.txt"

    def streamed() -> bool:
        try:
            return "first" in blob_text(blobs, "durableml-logs", name)
        except Exception:  # noqa: BLE001 - the blob may not exist yet
            return False

    wait_for(streamed, timeout=1.5, what="'first' in the log blob")
    assert "second" not in blob_text(blobs, "durableml-logs", name)
    compute.wait(spec.job_id)
    assert uploaded_log(blobs, compute, spec.job_id) == "first\nsecond\n"


def test_polling_an_unknown_job_says_it_was_never_submitted(compute: LocalCompute) -> None:
    with pytest.raises(RunNotFoundError, match="no job 'nope' was submitted"):
        compute.poll("nope")


def test_the_spec_file_is_private(compute: LocalCompute, step: StepFactory) -> None:
    spec = step("pass\n")
    compute.submit(spec)
    mode = stat.S_IMODE(os.stat(compute.state.job(spec.job_id).spec).st_mode)
    assert mode == 0o600
    compute.wait(spec.job_id)


def test_at_most_max_nodes_jobs_run_at_once(new_compute, step: StepFactory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    compute = new_compute(max_nodes=2)
    spans = tmp_path / "spans"
    script = (
        "import sys, time\nstart = time.time()\ntime.sleep(0.6)\n"
        "open(sys.argv[1], 'a').write(f'{start} {time.time()}\\n')\n"
    )
    jobs = [step(script, arguments=[str(spans)]) for _ in range(3)]
    for job in jobs:
        compute.submit(job)
    for job in jobs:
        assert compute.wait(job.job_id).state is JobState.FINISHED
    intervals = [tuple(map(float, line.split())) for line in spans.read_text().splitlines()]
    most = max(sum(1 for s, e in intervals if s <= t < e) for t, _ in intervals)
    assert most == 2  # two ran side by side, the third waited for a free node


def test_glob_inputs_path_on_compute_and_an_empty_upstream_output(
    compute: LocalCompute, step: StepFactory, blobs: BlobServiceClient
) -> None:
    store = blobs.get_container_client("workspaceblobstore")
    if not store.exists():
        store.create_container()
    for name in ("shapes/a.csv", "shapes/b.csv", "shapes/c.txt", "shapes/deep/d.csv"):
        store.upload_blob(name, name.encode(), overwrite=True)
    spec = step(
        """\
        import os, sys
        csvs, placed, empty = sys.argv[1:]
        found = sorted(os.path.relpath(os.path.join(r, f), csvs) for r, _, fs in os.walk(csvs) for f in fs)
        print("csvs", found)
        print("placed", os.path.relpath(placed, os.getcwd()), open(os.path.join(placed, "c.txt")).read())
        print("empty", os.path.isdir(empty), os.listdir(empty))
        """,
        arguments=[input_placeholder("csvs"), input_placeholder("placed"), input_placeholder("empty")],
        inputs={
            "csvs": {"container": "workspaceblobstore", "path_on_datastore": "shapes/*.csv"},
            "placed": {
                "container": "workspaceblobstore",
                "path_on_datastore": "shapes",
                "path_on_compute": "data/shapes",
                "mode": "download",
            },
            "empty": {"container": "workspaceblobstore", "path_on_datastore": "azureml/upstream/nothing"},
        },
    )
    compute.submit(spec)
    assert compute.wait(spec.job_id).state is JobState.FINISHED, compute.logs(spec.job_id)
    log = compute.logs(spec.job_id)
    assert "csvs ['a.csv', 'b.csv', 'deep/d.csv']" in log  # fnmatch's * also crosses '/'
    assert "placed data/shapes shapes/c.txt" in log
    assert "empty True []" in log and "input 'empty' is empty" in log


def test_cancel_without_a_live_worker_records_canceled(new_compute, step: StepFactory) -> None:  # type: ignore[no-untyped-def]
    compute = new_compute(max_nodes=1)
    spec = step("import time\nprint('running', flush=True)\ntime.sleep(60)\n")
    compute.submit(spec)
    wait_for(lambda: "running" in compute.logs(spec.job_id), what="the script to start")
    pid = json.loads(compute.state.job(spec.job_id).running.read_text())["pid"]
    os.kill(compute.worker_pid() or 0, signal.SIGKILL)
    wait_for(lambda: not compute.state.worker_alive(), what="the worker to die")
    compute.cancel(spec.job_id)
    status = compute.poll(spec.job_id)
    assert status.state is JobState.CANCELED and status.error == "canceled while no worker was running"
    wait_for(lambda: process_gone(pid), timeout=2, what="the orphaned script to be killed")
