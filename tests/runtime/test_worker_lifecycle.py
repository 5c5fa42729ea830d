"""The worker's life: it outlives its submitter, reruns interrupted jobs, keeps secrets out of logs, notifies."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import pytest
from azure.storage.blob import BlobServiceClient

from durableml.compute import JobState, input_placeholder
from durableml.compute.local import LocalCompute
from durableml.compute.local.job_files import read_json
from funchost.azurite import AzuriteHandle

from .conftest import StepFactory, process_gone, uploaded_log, wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_worker_survives_the_process_that_submitted(
    new_compute: Callable[..., LocalCompute], step: StepFactory, tmp_path: Path
) -> None:
    compute = new_compute()
    spec = step("import time\ntime.sleep(0.5)\nprint('done after the submitter died')\n")
    submitter = textwrap.dedent(f"""\
        import json, sys, time
        from durableml.compute import JobSpec
        from durableml.compute.local import LocalCompute
        LocalCompute({str(compute.state.root)!r}).submit(JobSpec.from_dict(json.loads(sys.stdin.read())))
        print("submitted", flush=True)
        time.sleep(60)
        """)
    proc = subprocess.Popen(
        [sys.executable, "-c", submitter], cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(spec.to_dict()).encode())
    proc.stdin.close()
    assert proc.stdout.readline() == b"submitted\n"
    worker = compute.worker_pid()
    proc.kill()
    proc.wait()
    proc.stdout.close()
    status = compute.wait(spec.job_id, timeout=15)
    assert status.state is JobState.FINISHED
    assert "done after the submitter died" in compute.logs(spec.job_id)
    result = read_json(compute.state.job(spec.job_id).result)
    assert result is not None and result["attempt"] == 1  # the same worker did it; nobody had to restart one
    # its host is gone and nothing runs: the worker stops at its next rescan, not after the 600 s idle timeout
    assert worker is not None
    wait_for(lambda: process_gone(worker), timeout=15, what="the worker to stop once its owner is gone")
    assert "that owns this worker is gone" in compute.state.worker_log.read_text()


def test_a_worker_whose_host_lives_keeps_waiting_for_work(
    new_compute: Callable[..., LocalCompute], step: StepFactory
) -> None:
    compute = new_compute()  # owned by this (living) process
    spec = step("print('quick')\n")
    compute.submit(spec)
    assert compute.wait(spec.job_id).state is JobState.FINISHED
    worker = compute.worker_pid()
    assert worker is not None
    with pytest.raises(AssertionError):  # idle, but its owner lives: it waits for the next job
        wait_for(lambda: process_gone(worker), timeout=5, what="the worker to stay")


def test_a_job_interrupted_by_a_worker_crash_reruns_and_a_finished_one_does_not(
    new_compute: Callable[..., LocalCompute], step: StepFactory, tmp_path: Path
) -> None:
    compute = new_compute()
    marker, finished_runs = tmp_path / "first-attempt", tmp_path / "finished-runs"
    done = step("import sys\nopen(sys.argv[1], 'a').write('x')\n", arguments=[str(finished_runs)])
    compute.submit(done)
    assert compute.wait(done.job_id).state is JobState.FINISHED
    spec = step(
        """\
        import os, sys, time
        if not os.path.exists(sys.argv[1]):
            open(sys.argv[1], "w").write(str(os.getpid()))
            print("first attempt, sleeping", flush=True)
            time.sleep(60)
        print("second attempt")
        """,
        arguments=[str(marker)],
    )
    compute.submit(spec)
    wait_for(lambda: "sleeping" in compute.logs(spec.job_id), what="the first attempt to start")
    first_pid = int(marker.read_text())
    os.kill(compute.worker_pid() or 0, signal.SIGKILL)
    wait_for(lambda: not compute.state.worker_alive(), what="the worker to die")
    assert compute.poll(spec.job_id).state is JobState.RUNNING  # this poll starts a new worker
    status = compute.wait(spec.job_id, timeout=15)
    assert status.state is JobState.FINISHED
    assert compute.result(spec.job_id)["attempt"] == 2  # type: ignore[index]
    log = compute.logs(spec.job_id)
    assert "attempt 2" in log and "second attempt" in log
    wait_for(lambda: process_gone(first_pid), timeout=2, what="the first attempt's orphaned script to be killed")
    assert finished_runs.read_text() == "x"  # the finished job was not run again


def test_the_connection_string_never_reaches_logs_or_the_script(
    new_compute: Callable[..., LocalCompute],
    step: StepFactory,
    azurite: AzuriteHandle,
    blobs: BlobServiceClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = azurite.connection_string
    account_key = secret.split("AccountKey=")[1].split(";")[0]
    monkeypatch.setenv("AzureWebJobsStorage", secret)  # as under funchost: the worker inherits it
    monkeypatch.setenv("SOME_OTHER_SETTING", f"Endpoint=x;AccountKey={account_key}")
    compute = new_compute()
    spec = step("""\
        import json, os
        print(json.dumps(dict(os.environ)))
        print(open(os.environ["DURABLEML_RUN_CONTEXT"]).read())
        raise SystemExit("failing on purpose")
        """)
    bad_input = step("pass\n", inputs={"data": {"container": "no-such-container", "path_on_datastore": "x"}})
    for job in (spec, bad_input):
        compute.submit(job)
        assert compute.wait(job.job_id).state is JobState.FAILED
    assert "container 'no-such-container' does not exist" in (compute.poll(bad_input.job_id).error or "")
    env_line = compute.logs(spec.job_id).splitlines()[0]
    assert json.loads(env_line)["DURABLEML_AZUREML_ALIAS"] == "1"
    texts = [
        compute.logs(spec.job_id),
        compute.logs(bad_input.job_id),
        compute.state.worker_log.read_text(),
        uploaded_log(blobs, compute, spec.job_id),
        uploaded_log(blobs, compute, bad_input.job_id),
        json.dumps(compute.result(spec.job_id)),
        json.dumps(compute.result(bad_input.job_id)),
    ]
    for text in texts:
        assert account_key not in text and secret not in text


class _EventSink:
    """A loopback HTTP server recording the POSTs it gets (path and JSON body)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                sink.received.append((self.path, body))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/instances/run:step/raiseEvent/{{eventName}}"


@pytest.fixture
def event_sink() -> Iterator[_EventSink]:
    sink = _EventSink()
    yield sink
    sink.server.shutdown()
    sink.server.server_close()


def test_the_worker_raises_the_completion_event_without_logging_its_url(
    compute: LocalCompute, step: StepFactory, event_sink: _EventSink
) -> None:
    url = event_sink.url + "?taskHub=hub&code=SECRETKEY123456"
    spec = step("raise SystemExit(3)\n", notify={"url": url, "event": "step_done"})
    compute.submit(spec)
    wait_for(lambda: event_sink.received, what="the completion event")
    path, body = event_sink.received[0]
    assert path == "/instances/run:step/raiseEvent/step_done?taskHub=hub&code=SECRETKEY123456"
    # the job's whole report travels with the event, so the orchestration need not read result.json
    assert {k: body[k] for k in ("job_id", "status", "exit_code", "complete")} == {
        "job_id": spec.job_id,
        "status": "Failed",
        "exit_code": 3,
        "complete": True,
    }
    result = compute.result(spec.job_id)  # written before the event
    assert result is not None
    assert {k: body[k] for k in ("error", "started", "ended", "outputs", "metrics")} == {
        k: result[k] for k in ("error", "started", "ended", "outputs", "metrics")
    }
    assert "exited with code 3" in body["error"], body["error"]
    assert "SECRETKEY123456" not in compute.state.worker_log.read_text()


def test_a_snapshot_id_is_downloaded_from_the_snapshot_store(
    compute: LocalCompute, step: StepFactory, blobs: BlobServiceClient
) -> None:
    files = {
        "train.py": b"from helpers.util import greet\nprint(greet())\n",
        "helpers/__init__.py": b"",
        "helpers/util.py": b"def greet():\n    return 'hello from a snapshot'\n",
    }
    container = blobs.get_container_client("durableml-snapshots")
    if not container.exists():
        container.create_container()
    digests = {}
    for rel, data in files.items():
        digests[rel] = hashlib.sha256(data).hexdigest()
        container.upload_blob(f"files/{digests[rel]}", data, overwrite=True)
    manifest = json.dumps({"files": digests}, sort_keys=True, separators=(",", ":")).encode()
    snapshot_id = hashlib.sha256(manifest).hexdigest()
    container.upload_blob(f"manifests/{snapshot_id}.json", manifest, overwrite=True)
    spec = step("", snapshot=snapshot_id, script_name="train.py")
    compute.submit(spec)
    assert compute.wait(spec.job_id).state is JobState.FINISHED, compute.logs(spec.job_id)
    assert "hello from a snapshot" in compute.logs(spec.job_id)


def test_a_step_script_uses_azureml_run_unchanged(
    compute: LocalCompute, step: StepFactory, blobs: BlobServiceClient
) -> None:
    container = blobs.get_container_client("workspaceblobstore")
    if not container.exists():
        container.create_container()
    container.upload_blob("context/data.txt", b"42", overwrite=True)
    spec = step(
        """\
        import sys
        from azureml.core import Run
        run = Run.get_context()
        assert run.input_datasets["raw"] == sys.argv[1], (run.input_datasets, sys.argv)
        print("read", open(run.input_datasets["raw"]).read())
        run.log("accuracy", 0.75)
        run.log_list("losses", [0.4, 0.2])
        """,
        arguments=[input_placeholder("raw")],
        inputs={"raw": {"container": "workspaceblobstore", "path_on_datastore": "context/data.txt"}},
    )
    compute.submit(spec)
    status = compute.wait(spec.job_id)
    assert status.state is JobState.FINISHED, compute.logs(spec.job_id)
    assert "read 42" in compute.logs(spec.job_id)
    assert [(m["name"], m["value"], m["kind"]) for m in status.metrics] == [
        ("accuracy", 0.75, "scalar"),
        ("losses", [0.4, 0.2], "list"),
    ]


def test_an_exited_but_unreaped_owner_counts_as_gone() -> None:
    from durableml.compute.local.job_files import pid_alive

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    assert pid_alive(os.getpid())
    wait_for(lambda: not pid_alive(child.pid), what="the exited child (a zombie until reaped) to count as gone")
    assert child.poll() == 0  # reaped only now: it was a zombie while pid_alive said it was gone


def test_a_worker_that_was_stopping_when_a_job_came_is_replaced(tmp_path: Path) -> None:
    """A worker holding the lock while it stops (its host gone, or idle) makes a new submit wait; once it has
    exited, the backend starts a worker instead of waiting for nobody until start_timeout."""
    compute = LocalCompute(tmp_path / "state", start_timeout=20)
    compute.state.ensure()
    holder = subprocess.Popen(  # holds the worker lock for 1 s, as a stopping worker does, and serves nothing
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from durableml.compute.local.job_files import StateDir
            from durableml.compute.local.worker import _hold_lock
            assert _hold_lock(StateDir({str(compute.state.root)!r})) is not None
            print("held", flush=True)
            time.sleep(1)
            """)],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        assert compute.state.worker_alive()
        compute._start_worker()  # before: waited 20 s for the stopped holder and failed
        info = read_json(compute.state.worker_info)
        assert info is not None and info["pid"] != holder.pid
    finally:
        holder.wait(timeout=10)
        if holder.stdout is not None:
            holder.stdout.close()
        compute.shutdown()
