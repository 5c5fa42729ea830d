"""LocalCompute: steps run as processes on this machine, by a detached worker per compute target.

``submit`` writes ``<state>/jobs/<id>/spec.json`` (mode 0600, created once: a second submit of the
same id starts nothing), makes sure the worker of this state directory runs (starting
``python -m durableml.compute.local.worker`` in a new session, so it survives its parent, even a
``kill -9``), and tells it over loopback HTTP. ``poll`` reads ``result.json`` / ``running.json``;
if the worker died it starts a new one, which reruns unfinished jobs (at-least-once).
See :mod:`.job_files` for the directory layout and :mod:`.worker` for the worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

from durableml.compute.base import JobSpec, JobState, JobStatus, status_from_report, wait_until_ended
from durableml.compute.local.job_files import (
    JobFiles,
    StateDir,
    pid_alive,
    read_json,
    write_json_atomic,
)
from durableml.compute.local.worker_http import call_worker
from durableml.exceptions import ComputeTargetException, RunNotFoundError

__all__ = ["LocalCompute", "shutdown_workers"]

_spawned: list[subprocess.Popen[bytes]] = []  # kept so that finished workers are reaped, not zombies


class LocalCompute:
    """The local backend of the compute protocol (see :mod:`durableml.compute.base`)."""

    def __init__(
        self,
        state_dir: Path | str,
        max_nodes: int = 1,
        *,
        idle_timeout: float = 600.0,
        start_timeout: float = 20.0,
        log_interval: float = 0.5,
    ) -> None:
        if max_nodes < 1:
            raise ComputeTargetException(f"max_nodes must be at least 1, not {max_nodes}")
        self.state = StateDir(state_dir)
        self.max_nodes = max_nodes
        self.idle_timeout = idle_timeout
        self.start_timeout = start_timeout
        self.log_interval = log_interval
        self._worker: Optional[dict[str, Any]] = None

    # -- the protocol ----------------------------------------------------------------------------
    def submit(self, job: JobSpec) -> str:
        """Accept ``job`` (idempotent on ``job.job_id``) and make sure the worker knows about it."""
        files = self.state.accept(job)
        if not files.result.exists():
            self._tell_worker(f"/jobs/{job.job_id}", {"max_nodes": self.max_nodes, "owner": os.getpid()})
        return job.job_id

    def poll(self, job_id: str) -> JobStatus:
        """The job's status; starts a new worker if the job is unfinished and no worker runs."""
        files = self._existing(job_id)
        result = files.read_result()
        if result is not None:
            return status_from_report(job_id, result)
        running = files.read_running()
        if not self.state.worker_alive():
            self._tell_worker(f"/jobs/{job_id}", {"max_nodes": self.max_nodes})
        if running is not None:
            return JobStatus(job_id, JobState.RUNNING, started=running.get("started"))
        return JobStatus(job_id, JobState.QUEUED)

    def cancel(self, job_id: str) -> None:
        """Cancel the job; queued jobs never start, running scripts get SIGTERM (SIGKILL 3 s later)."""
        files = self._existing(job_id)
        if files.result.exists():
            return
        files.cancel.touch()
        if self.state.worker_alive():
            try:
                self._call("POST", f"/jobs/{job_id}/cancel")
                return
            except (OSError, ComputeTargetException):
                pass  # the worker just went away: cancel without it
        self._cancel_offline(files)

    def logs(self, job_id: str, offset: int = 0) -> str:
        """The driver log so far (stdout + stderr of the script) from character ``offset`` on."""
        files = self._existing(job_id)
        try:
            text = files.driver_log.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return text[offset:]

    # -- extras ----------------------------------------------------------------------------------
    def result(self, job_id: str) -> Optional[dict[str, Any]]:
        """The full result document (outputs, metrics, ...) once the job ended, else None."""
        return self._existing(job_id).read_result()

    def wait(self, job_id: str, timeout: float = 60.0, interval: float = 0.01) -> JobStatus:
        """Poll until the job ends; raises TimeoutError after ``timeout`` seconds."""
        return wait_until_ended(
            self.poll, job_id, timeout, interval, lambda: f"; see {self._existing(job_id).driver_log}"
        )

    def worker_pid(self) -> Optional[int]:
        """The pid of the live worker, or None."""
        info = read_json(self.state.worker_info) if self.state.worker_alive() else None
        return int(info["pid"]) if info else None

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop the worker (running scripts are killed and would rerun on the next start)."""
        pid = self.worker_pid()
        if pid is None:
            return
        try:
            self._call("POST", "/shutdown")
        except (OSError, ComputeTargetException):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.state.worker_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        _reap()

    # -- the worker ------------------------------------------------------------------------------
    def _existing(self, job_id: str) -> JobFiles:
        files = self.state.job(job_id)
        if not files.spec.exists():
            raise RunNotFoundError(
                f"no job {job_id!r} was submitted to the local compute at {self.state.root}; "
                "submit it first (or check the step run id)"
            )
        return files

    def _tell_worker(self, path: str, body: dict[str, Any]) -> None:
        try:
            self._call("POST", path, body)
            return
        except (OSError, ComputeTargetException):
            pass
        self._start_worker()
        deadline = time.monotonic() + self.start_timeout
        while True:  # a worker that just started may take a moment to answer
            try:
                self._call("POST", path, body)
                return
            except (OSError, ComputeTargetException) as exc:
                if time.monotonic() > deadline:
                    raise ComputeTargetException(
                        f"the local compute worker for {self.state.root} started but does not answer ({exc}); "
                        f"its log {self.state.worker_log} says:\n{_tail(self.state.worker_log)}"
                    ) from exc
                time.sleep(0.01)

    def _call(self, method: str, path: str, body: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        info = self._worker or read_json(self.state.worker_info)
        if info is None:
            raise ComputeTargetException(f"no local compute worker runs for {self.state.root}")
        try:
            status, answer = call_worker(int(info["port"]), str(info["token"]), method, path, body)
        except OSError:
            self._worker = None
            raise
        if status >= 300:
            self._worker = None
            raise ComputeTargetException(
                f"the local compute worker answered {status} to {method} {path}: {answer.get('error', answer)}"
            )
        self._worker = info
        return answer

    def _start_worker(self) -> None:
        """Start a worker unless one holds the lock; wait until it listens."""
        _reap()
        self._worker = None
        process: Optional[subprocess.Popen[bytes]] = None
        if not self.state.worker_alive():
            process = self._spawn()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            alive = self.state.worker_alive()
            info = read_json(self.state.worker_info) if alive else None
            if info and pid_alive(int(info["pid"])):
                self._worker = info
                return
            if process is not None and process.poll() not in (None, 0):
                break
            if not alive and (process is None or process.poll() == 0):
                # the worker that held the lock was stopping (its host gone, or idle) and has exited, and ours
                # (if any) left because that one still served: start one now rather than wait for nobody
                process = self._spawn()
            time.sleep(0.005)
        raise ComputeTargetException(
            f"the local compute worker for {self.state.root} did not start within {self.start_timeout:g} s; "
            f"its log {self.state.worker_log} says:\n{_tail(self.state.worker_log)}"
        )

    def _spawn(self) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            "-m",
            "durableml.compute.local.worker",
            "--state-dir",
            str(self.state.root),
            "--max-nodes",
            str(self.max_nodes),
            "--idle-timeout",
            str(self.idle_timeout),
            "--log-interval",
            str(self.log_interval),
            "--owner-pid",
            str(os.getpid()),
        ]
        with open(self.state.worker_log, "ab") as log:
            process = subprocess.Popen(
                command,
                cwd=self.state.root,
                env=_worker_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _spawned.append(process)
        return process

    def _cancel_offline(self, files: JobFiles) -> None:
        from durableml.compute.local.worker import canceled_result, kill_leftover

        running = files.read_running()
        if running is not None:
            kill_leftover(files, running)
        write_json_atomic(files.result, canceled_result(files.job_id, "canceled while no worker was running"))


def _worker_env() -> dict[str, str]:
    """The worker's environment: ours without storage secrets (it runs with our interpreter, which imports
    durableml as installed: nothing is added to ``PYTHONPATH``)."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.lower().startswith("azurewebjobsstorage") and "AccountKey=" not in v
    }


def _reap() -> None:
    for process in list(_spawned):
        if process.poll() is not None:
            _spawned.remove(process)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log yet)"


def shutdown_workers(state_dir: str | os.PathLike[str]) -> None:
    """Stop every detached local-compute worker of a durableml state directory (they outlive the host)."""
    compute = Path(state_dir) / "compute"
    if compute.is_dir():
        for target in sorted(compute.iterdir()):
            LocalCompute(target).shutdown()
