"""What every compute backend must do the same way (issue 14): one suite, run against each backend.

Each test runs once per harness in ``conftest.HARNESSES`` (the local backend; Ray on a real two-node cluster
started by ``tests/ray_cluster.py``; Container Apps jobs against the loopback ARM server of
``durableml/devtools/containerapps_arm.py``, whose executions are local processes): submit idempotency, polling
to completion, logs from an offset, cancel (the script's processes gone), a queued job's cancel and
``max_nodes``, a killed runner process (the step runs again, at least once), a failed script with its reason,
outputs reaching their datastore. Real scripts, a real Azurite.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from azure.storage.blob import BlobServiceClient

from durableml.compute import ComputeBackend, JobState, input_placeholder, output_placeholder
from durableml.exceptions import RunNotFoundError
from tests.polling import wait_until
from tests.runtime.conftest import blob_names, blob_text, process_gone

from .conftest import Harness, StepFactory

TIMEOUT = 90.0  # a Ray job takes a few seconds to start on a busy two-core machine
Backends = Callable[..., Any]


def wait_for(condition: Callable[[], Any], timeout: float = TIMEOUT, what: str = "condition") -> Any:
    return wait_until(condition, timeout=timeout, interval=0.05, what=what)


def _text_or_none(blobs: BlobServiceClient, name: str) -> str | None:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return blob_text(blobs, "durableml-logs", name)
    except ResourceNotFoundError:
        return None


def test_it_is_a_compute_backend(new_backend: Backends) -> None:
    assert isinstance(new_backend(), ComputeBackend)


def test_an_unknown_job_is_not_found(new_backend: Backends) -> None:
    backend = new_backend()
    for call in (backend.poll, backend.cancel, backend.logs):
        with pytest.raises(RunNotFoundError, match="no job 'never-submitted'"):
            call("never-submitted")


def test_submitting_the_same_job_again_runs_it_once(new_backend: Backends, step: StepFactory, tmp_path: Path) -> None:
    counter = tmp_path / "runs.txt"
    spec = step("import sys, time\nopen(sys.argv[1], 'a').write('ran\\n')\ntime.sleep(0.5)\n", arguments=[str(counter)])
    backend = new_backend()
    assert backend.submit(spec) == spec.job_id
    assert backend.submit(spec) == spec.job_id  # queued or running
    again = new_backend(state_dir=backend.state.root)  # a retried submit from another process of the service
    assert again.submit(spec) == spec.job_id
    status = backend.wait(spec.job_id, timeout=TIMEOUT)
    assert status.state is JobState.FINISHED, backend.logs(spec.job_id)
    assert backend.submit(spec) == spec.job_id  # after it ended
    assert again.poll(spec.job_id).state is JobState.FINISHED
    time.sleep(0.5)
    assert counter.read_text() == "ran\n"


def test_poll_follows_the_step_to_finished_and_logs_read_from_an_offset(
    new_backend: Backends, step: StepFactory, tmp_path: Path, blobs: BlobServiceClient
) -> None:
    go = tmp_path / "go"
    spec = step(
        """\
        import os, sys, time
        print("first line", sys.argv[1:], flush=True)
        while not os.path.exists(sys.argv[2]):
            time.sleep(0.05)
        print("second line")
        """,
        arguments=["--alpha", str(go)],
    )
    backend = new_backend()
    backend.submit(spec)
    assert backend.poll(spec.job_id).state in (JobState.QUEUED, JobState.RUNNING)
    # unbuffered print() writes its pieces one by one: wait for the whole line, not just its start
    wait_for(lambda: backend.logs(spec.job_id).endswith("]\n"), what="the script's first line in its log")
    assert backend.poll(spec.job_id).state is JobState.RUNNING
    early = backend.logs(spec.job_id)
    assert early == f"first line ['--alpha', '{go}']\n"
    assert backend.logs(spec.job_id, 6) == early[6:]
    go.touch()
    status = backend.wait(spec.job_id, timeout=TIMEOUT)
    assert (status.state, status.exit_code, status.error) == (JobState.FINISHED, 0, None)
    assert backend.logs(spec.job_id, len(early)) == "second line\n"
    whole = backend.logs(spec.job_id)
    assert whole == early + "second line\n"
    blob = f"conformance-run/{spec.job_id}/70_driver_log.txt"  # the local worker sends its last bytes just after
    wait_for(lambda: _text_or_none(blobs, blob) == whole, timeout=10, what="the driver log blob to hold the log")


def test_a_failing_script_fails_with_its_reason(new_backend: Backends, step: StepFactory) -> None:
    spec = step("""\
        def train():
            raise ValueError("learning rate must be positive, got -1")
        print("before the failure")
        train()
        """)
    backend = new_backend()
    backend.submit(spec)
    status = backend.wait(spec.job_id, timeout=TIMEOUT)
    assert status.state is JobState.FAILED and status.exit_code == 1
    assert status.error is not None and status.error.startswith("Traceback (most recent call last):")
    assert status.error.endswith("ValueError: learning rate must be positive, got -1")
    log = backend.logs(spec.job_id)
    assert "before the failure" in log and "in train" in log


def test_inputs_come_from_and_outputs_reach_the_datastore(
    new_backend: Backends, step: StepFactory, blobs: BlobServiceClient
) -> None:
    store = blobs.get_container_client("workspaceblobstore")
    if not store.exists():
        store.create_container()
    store.upload_blob("conformance/table.csv", b"a,b\n1,2\n", overwrite=True)
    spec = step(
        """\
        import os, sys
        table, model, report = sys.argv[1:]
        rows = open(table).read()
        os.makedirs(model, exist_ok=True)
        open(os.path.join(model, "weights.bin"), "w").write(rows.upper())
        open(report, "w").write("all good")
        """,
        arguments=[input_placeholder("table"), output_placeholder("model"), output_placeholder("report")],
        inputs={"table": {"container": "workspaceblobstore", "path_on_datastore": "conformance/table.csv"}},
        outputs={
            "model": {"container": "workspaceblobstore", "path_on_datastore": "", "is_directory": True},
            "report": {"container": "workspaceblobstore", "path_on_datastore": "", "is_directory": False},
        },
    )
    for name in ("model", "report"):
        spec.outputs[name]["path_on_datastore"] = f"azureml/{spec.job_id}/{name}"
    backend = new_backend()
    backend.submit(spec)
    status = backend.wait(spec.job_id, timeout=TIMEOUT)
    assert status.state is JobState.FINISHED, backend.logs(spec.job_id)
    prefix = f"azureml/{spec.job_id}/"
    assert blob_names(blobs, "workspaceblobstore", prefix) == [f"{prefix}model/weights.bin", f"{prefix}report"]
    assert blob_text(blobs, "workspaceblobstore", f"{prefix}model/weights.bin") == "A,B\n1,2\n"
    assert status.outputs["model"]["kind"] == "directory" and status.outputs["report"]["kind"] == "file"


def test_cancel_stops_a_running_script_and_its_processes(
    new_backend: Backends, harness: Harness, step: StepFactory
) -> None:
    spec = step("""\
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        print("sleeping", child.pid, flush=True)
        time.sleep(120)
        """)
    backend = new_backend()
    backend.submit(spec)

    def child_pid() -> int | None:  # from the script's whole "sleeping <pid>" line, not a half-written one
        for line in str(backend.logs(spec.job_id)).splitlines(keepends=True):
            if line.startswith("sleeping ") and line.endswith("\n"):
                return int(line.split()[1])
        return None

    child = int(wait_for(child_pid, what="the script"))
    script = wait_for(lambda: harness.script_pid(backend, spec.job_id), what="the script's pid")
    backend.cancel(spec.job_id)
    status = backend.wait(spec.job_id, timeout=TIMEOUT)
    assert status.state is JobState.CANCELED, status
    wait_for(lambda: process_gone(script) and process_gone(child), timeout=15, what="the script and its child gone")
    backend.cancel(spec.job_id)  # canceling an ended job is harmless
    assert backend.poll(spec.job_id).state is JobState.CANCELED


def test_max_nodes_queues_the_rest_and_a_queued_job_cancels_without_running(
    new_backend: Backends, step: StepFactory, tmp_path: Path
) -> None:
    backend = new_backend(max_nodes=1)
    spans = tmp_path / "spans"
    script = (
        "import sys, time\nstart = time.time()\ntime.sleep(1)\n"
        "open(sys.argv[1], 'a').write(f'{start} {time.time()}\\n')\n"
    )
    first, second = step(script, arguments=[str(spans)]), step(script, arguments=[str(spans)])
    never = step("open('/dev/null', 'w').write('x')\nprint('must not run')\n")
    for spec in (first, second, never):
        backend.submit(spec)
    assert backend.poll(never.job_id).state is JobState.QUEUED
    backend.cancel(never.job_id)
    assert backend.poll(never.job_id).state is JobState.CANCELED
    for spec in (first, second):
        assert backend.wait(spec.job_id, timeout=TIMEOUT).state is JobState.FINISHED
    (a_start, a_end), (b_start, b_end) = sorted(
        tuple(map(float, line.split())) for line in spans.read_text().splitlines()
    )
    assert b_start >= a_end, "with max_nodes=1 the second step waited for the first"
    assert "must not run" not in backend.logs(never.job_id)


def test_a_killed_runner_process_runs_the_step_again(
    new_backend: Backends, harness: Harness, step: StepFactory, tmp_path: Path
) -> None:
    counter = tmp_path / "attempts"
    spec = step(
        """\
        import sys, time
        with open(sys.argv[1], "a") as f:
            f.write("x")
        if open(sys.argv[1]).read() == "x":
            print("first attempt", flush=True)
            time.sleep(120)
        print("second attempt")
        """,
        arguments=[str(counter)],
    )
    backend = new_backend()
    backend.submit(spec)
    wait_for(lambda: "first attempt" in backend.logs(spec.job_id), what="the first attempt to start")
    script = wait_for(lambda: harness.script_pid(backend, spec.job_id), what="the script's pid")
    runner = harness.runner_pid(backend, spec.job_id)
    assert runner is not None
    os.kill(runner, signal.SIGKILL)
    status = backend.wait(spec.job_id, timeout=TIMEOUT)
    assert status.state is JobState.FINISHED, backend.logs(spec.job_id)
    assert counter.read_text() == "xx"
    log = backend.logs(spec.job_id)
    assert "attempt 2" in log and "second attempt" in log
    wait_for(lambda: process_gone(script), timeout=15, what="the first attempt's script to be gone")
