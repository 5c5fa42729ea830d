"""The entrypoint of a step's remote job: ``python -m durableml.compute.node``, run on some node by a remote
backend (a Ray job, durableml/compute/ray; a Container Apps job execution, durableml/compute/containerapps; the
step-runner image's ENTRYPOINT). ``python -m durableml.compute.ray.node`` runs the same.

It needs nothing from the machine that submitted the step: the job's environment names the spec blob (a
read-only URL, :data:`~durableml.compute.layout.SPEC_URL_ENV`, or the blob's name,
:data:`~durableml.compute.layout.SPEC_BLOB_ENV`, read with the node's storage connection), and the spec names
everything else in storage (the snapshot id, the inputs, the outputs' datastore paths, the driver log blob). It:

1. reads the spec (and takes the reference out of its environment, so the user's script never sees it);
2. stops at once if the job already has a result (a job with a result never runs again);
3. kills what a previous attempt on this same host left behind (its script's process group), if anything;
4. runs :class:`~durableml.runner.StepRunner` in a node-local job directory (``$DURABLEML_RAY_NODE_DIR`` or
   ``<tmp>/durableml-node-<uid>``, with a snapshot cache shared by the node's jobs), recording the attempt in
   ``running.json`` (``{"attempt", "host", "node_pid", "pid": the script's, "started"}``); a stop (SIGTERM, from
   Ray's stop_job or a Container Apps execution stop) cancels the runner, which stops the script's process group;
5. writes ``result.json`` to the jobs container, then tells the orchestration (the spec's notify URL), then
   removes its job directory.

Its stdout is :data:`~durableml.compute.layout.LOG_MARKER` followed by the step's driver log, copied byte for
byte as the runner writes it, so the job's log (Ray's ``get_job_logs``, a container's console log) is the driver
log while the step runs. Its own diagnostics go to ``<node dir>/node.log``. Exit code: 0 Finished, 1 Failed or
Canceled, 2 when the spec cannot be read (the job's log then says why).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Optional

from durableml.compute.notify import send_notification
from durableml.compute.layout import (
    ATTEMPT_ENV,
    BLOB_ENDPOINT_ENV,
    JOBS_CONTAINER,
    LOG_MARKER,
    NODE_DIR_ENV,
    RESULT_BLOB,
    RUNNING_BLOB,
    SPEC_BLOB_ENV,
    SPEC_URL_ENV,
    STEP_RUN_ENV,
    STORAGE_ENV,
    blob_name,
)
from durableml.jobs import JobSpec, JobState, job_report
from durableml.runner import StepRunner
from durableml.runner.storage import BlobStore, get_store
from durableml.runner.workdir import DRIVER_LOG, now_iso

__all__ = ["main", "node_dir", "run"]

_log = logging.getLogger("durableml.compute.node")


def node_dir() -> Path:
    """This node's directory for job directories and the snapshot cache."""
    given = os.environ.get(NODE_DIR_ENV)
    return Path(given) if given else Path(tempfile.gettempdir()) / f"durableml-node-{os.getuid()}"


class _Tee:
    """Copies the driver log file to stdout as it grows (a thread), and the rest on :meth:`stop`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stop = threading.Event()
        self._offset = 0
        self._thread = threading.Thread(target=self._loop, name="driver-log-tee", daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            return
        if data:
            self._offset += len(data)
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            self._copy()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._copy()


def _redact_url(text: str, url: str) -> str:
    base = url.split("?", 1)[0]
    return text.replace(url, base + "?<sas>").replace(url.split("?", 1)[-1], "<sas>") if "?" in url else text


def _read_spec(url: str) -> JobSpec:
    from azure.storage.blob import BlobClient

    with BlobClient.from_blob_url(url) as blob:
        raw = blob.download_blob().readall()
    return JobSpec.from_dict(json.loads(raw))


def _read_spec_blob(reference: str, connection: str) -> JobSpec:
    """The spec at ``<container>/<blob>``, read with the node's own storage connection."""
    from durableml.storage_accounts import blob_service

    container, _, name = reference.partition("/")
    if container != JOBS_CONTAINER or not name.endswith("/spec.json") or ".." in name.split("/"):
        raise ValueError(f"{SPEC_BLOB_ENV} must name a spec blob in {JOBS_CONTAINER}, not {reference!r}")
    with blob_service(connection) as service:
        raw = service.get_blob_client(container, name).download_blob().readall()
    return JobSpec.from_dict(json.loads(raw))


def _node_connection() -> str:
    """The node's storage connection: a secret reference's value, else its managed identity on the blob endpoint."""
    given = os.environ.pop(STORAGE_ENV, "")
    if given:
        return given
    endpoint = os.environ.get(BLOB_ENDPOINT_ENV, "")
    if not endpoint:
        raise ValueError(f"the node has neither {STORAGE_ENV} (a secret reference) nor {BLOB_ENDPOINT_ENV}")
    return f"BlobEndpoint={endpoint};Credential=managedidentity;"


def _kill_leftover(previous: dict[str, Any], job_dir: Path) -> None:
    """Kill the script process group a previous attempt left on this host (its runner was killed)."""
    pid = previous.get("pid")
    if previous.get("host") != socket.gethostname() or not isinstance(pid, int) or pid <= 1:
        return
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except FileNotFoundError:
        cwd = None  # the leader is gone: only its own leftovers can still use its group id
    except OSError:
        return
    if cwd is not None and cwd != str(job_dir / "snapshot"):
        return  # the pid belongs to an unrelated process by now
    try:
        os.killpg(pid, signal.SIGKILL)
        _log.info("killed the process group %d left by attempt %s", pid, previous.get("attempt"))
    except (ProcessLookupError, PermissionError):
        pass


def _put_json(store: BlobStore, name: str, data: dict[str, Any]) -> None:
    store.container(JOBS_CONTAINER).get_blob_client(name).upload_blob(json.dumps(data).encode(), overwrite=True)


def run(spec: JobSpec, attempt: int) -> int:
    """Run ``spec`` here (steps 2-5 of the module docstring); returns the exit code."""
    store = get_store(spec.connection_string)
    if store.read_bytes(JOBS_CONTAINER, blob_name(spec.job_id, RESULT_BLOB)) is not None:
        print(f"[durableml] job {spec.job_id} already has a result; it does not run again", flush=True)
        return 0
    root = node_dir()
    job_dir = root / "jobs" / spec.job_id
    job_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    previous_raw = store.read_bytes(JOBS_CONTAINER, blob_name(spec.job_id, RUNNING_BLOB))
    if previous_raw:
        _kill_leftover(json.loads(previous_raw), job_dir)
    running = {
        "attempt": attempt,
        "host": socket.gethostname(),
        "node_pid": os.getpid(),
        "pid": None,
        "started": now_iso(),
    }
    _put_json(store, blob_name(spec.job_id, RUNNING_BLOB), running)

    def started(pid: int) -> None:
        _put_json(store, blob_name(spec.job_id, RUNNING_BLOB), {**running, "pid": pid})

    runner = StepRunner(spec, job_dir, attempt=attempt, cache_dir=root / "cache", on_started=started)
    stopped = threading.Event()

    def on_term(_signum: int, _frame: Any) -> None:  # a stop: cancel off the signal handler's stack
        stopped.set()
        threading.Thread(target=runner.cancel, name="cancel", daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    tee = _Tee(job_dir.joinpath(*DRIVER_LOG))
    try:
        result = runner.run()
    finally:
        tee.stop()
    if stopped.is_set() and result["status"] == JobState.FAILED.value:
        # the stop may signal the script too: it may have died of that before the runner knew it was canceled
        result.update(status=JobState.CANCELED.value, error="canceled while the script ran")
    _put_json(store, blob_name(spec.job_id, RESULT_BLOB), result)
    if spec.notify:
        send_notification(spec.notify, job_report(result))
    shutil.rmtree(job_dir, ignore_errors=True)
    return 0 if result["status"] == JobState.FINISHED.value else 1


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of ``python -m durableml.compute.node`` (takes no arguments: all comes from storage)."""
    url = os.environ.pop(SPEC_URL_ENV, "")
    reference = os.environ.pop(SPEC_BLOB_ENV, "")
    os.environ.pop(STEP_RUN_ENV, None)
    attempt = int(os.environ.pop(ATTEMPT_ENV, "") or 1)
    root = node_dir()
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    logging.basicConfig(
        filename=root / "node.log", level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(message)s"
    )
    logging.getLogger("azure").setLevel(logging.WARNING)
    print(LOG_MARKER, flush=True)
    if not url and not reference:
        print(
            f"[durableml] the job has neither {SPEC_URL_ENV} nor {SPEC_BLOB_ENV}: submit steps through a durableml "
            "backend (Ray, Container Apps jobs)",
            flush=True,
        )
        return 2
    try:
        spec = _read_spec(url) if url else _read_spec_blob(reference, _node_connection())
    except Exception as exc:  # noqa: BLE001 - the job's log carries the reason to the step's record
        message = f"[durableml] the job spec cannot be read: {type(exc).__name__}: {exc}"
        print(_redact_url(message, url) if url else message, flush=True)
        return 2
    return run(spec, attempt)


if __name__ == "__main__":
    sys.exit(main())
