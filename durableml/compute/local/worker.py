"""The local compute worker: ``python -m durableml.compute.local.worker --state-dir DIR --max-nodes N``.

One worker per local compute target (state directory), started detached by
:class:`~durableml.compute.local.LocalCompute` on first submit, so it outlives a crashed funchost. It
holds ``<state>/worker.lock`` for its whole life (a second worker exits at once), listens on loopback
(:mod:`.worker_http`) and runs up to ``max_nodes`` jobs at a time with the step runner.

Per job: ``running.json`` (attempt, pid) → :class:`~durableml.runner.StepRunner` → ``result.json``
(atomic) → POST the job's report (:func:`~durableml.compute.base.job_report`: status, error, outputs,
metrics) to the job's notify URL (never logged).

Restart safety and delivery: a job with a result.json never runs again. A job that was running when
its worker died is run again, from the start, by the next worker (at-least-once), after killing what
is left of the previous attempt's process group; its log says which attempt it is. Submitted jobs are
picked up from the jobs directory at start and by a rescan every few seconds, so a lost notification
only delays a job. The worker exits after ``--idle-timeout`` seconds with nothing to do; the next
submit or poll starts a new one.
"""

from __future__ import annotations

import argparse
import collections
import fcntl
import functools
import logging
import os
import secrets
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

from durableml.compute.base import JobSpec, JobState, job_report, validate_job_id
from durableml.compute.local.job_files import JobFiles, StateDir, now_iso, pid_alive, read_json, write_json_atomic
from durableml.compute.notify import send_notification
from durableml.compute.local.worker_http import make_server
from durableml.runner import StepRunner, background
from durableml.runner.context import script_base_environment
from durableml.runner.warm import WarmInterpreters, pool_size

__all__ = ["Worker", "main", "kill_leftover"]

RESCAN_S = 2.0
SHUTDOWN_WAIT_S = 5.0
_log = logging.getLogger("durableml.compute.worker")


class Worker:
    """Schedules the jobs of one state directory onto at most ``max_nodes`` runner threads."""

    def __init__(
        self,
        state: StateDir,
        max_nodes: int,
        idle_timeout: float,
        log_interval: float = 0.5,
        owner: Optional[int] = None,
    ) -> None:
        self.state = state
        self.owner = owner  # the host process whose jobs this worker runs (the last one that submitted)
        self.max_nodes = max(1, max_nodes)
        self.idle_timeout = idle_timeout
        self.log_interval = log_interval
        self.token = secrets.token_urlsafe(24)
        self._queued: collections.deque[str] = collections.deque()
        self._running: dict[str, Any] = {}  # job id -> StepRunner (None while it is being set up)
        self._uploading_logs: set[str] = set()  # reported jobs whose driver log still goes up to its blob
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stopping = False
        self._last_busy = time.monotonic()
        self.interpreters: Optional[WarmInterpreters] = None

    # -- the HTTP side ---------------------------------------------------------------------------
    def enqueue(self, job_id: str, max_nodes: Optional[int] = None, owner: Optional[int] = None) -> None:
        """Queue ``job_id`` unless it is queued, running or already has a result; then dispatch.

        ``owner``: the pid of the host process that submitted it; the worker stops once that process is gone
        and nothing runs (see :meth:`_idle_too_long`)."""
        files = self.state.job(validate_job_id(job_id))
        with self._lock:
            if max_nodes:
                self.max_nodes = max(1, max_nodes)
            if owner:
                self.owner = owner
            if job_id in self._running or job_id in self._queued or files.result.exists():
                return
            if not files.spec.exists():
                _log.warning("job %s was announced but has no spec.json; ignored", job_id)
                return
            self._queued.append(job_id)
            self._dispatch_locked()

    def cancel(self, job_id: str) -> None:
        """Cancel a queued job (result Canceled at once) or a running one (its scripts get SIGTERM)."""
        files = self.state.job(validate_job_id(job_id))
        with self._lock:
            runner = self._running.get(job_id)
            queued = job_id in self._queued
            if queued:
                self._queued.remove(job_id)
        if runner is not None:
            runner.cancel()
        elif queued or (job_id not in self._running and not files.result.exists()):
            self._finish(files, canceled_result(job_id, "canceled before it started"), None)

    def request_shutdown(self) -> None:
        """Stop soon: running scripts are killed and rerun by the next worker."""
        self._stop.set()

    def health(self) -> dict[str, Any]:
        """Counts for ``GET /health``."""
        with self._lock:
            return {
                "pid": os.getpid(),
                "running": sorted(self._running),
                "queued": list(self._queued),
                "max_nodes": self.max_nodes,
            }

    # -- scheduling ------------------------------------------------------------------------------
    def _dispatch_locked(self) -> None:
        """Hand queued jobs to background threads (kept between jobs), up to ``max_nodes`` at once."""
        while self._queued and len(self._running) < self.max_nodes and not self._stopping:
            job_id = self._queued.popleft()
            self._running[job_id] = None
            background.start(functools.partial(self._run_job, job_id), f"job:{job_id}")

    def rescan(self) -> None:
        """Queue every job on disk that has no result (start-up, and every few seconds)."""
        for job_id in self.state.job_ids():
            try:
                self.enqueue(job_id)
            except ValueError:
                _log.warning("ignoring directory %r in %s: not a valid job id", job_id, self.state.jobs)

    def _run_job(self, job_id: str) -> None:
        files = self.state.job(job_id)
        result: Optional[dict[str, Any]] = None
        spec: Optional[JobSpec] = None
        runner: Optional[StepRunner] = None
        try:
            result, spec, runner = self._execute(files)
        except Exception as exc:  # noqa: BLE001 - fail the job rather than retry it forever
            _log.exception("job %s: the worker failed to run it", job_id)
            result = failed_result(job_id, f"the compute worker could not run the job: {type(exc).__name__}: {exc}")
        try:
            if result is not None:
                self._record(files, result)
        finally:
            with self._lock:  # free the node before notifying: a slow event endpoint must not hold it
                self._running.pop(job_id, None)
                if runner is not None:
                    self._uploading_logs.add(job_id)
                self._last_busy = time.monotonic()
                self._dispatch_locked()
        if result is not None:
            self._notify(files, result, spec)
        if runner is not None:  # after the report: this backend serves logs from the file, complete by now
            try:
                warning = runner.upload_log()
                if warning:
                    _log.warning("job %s: %s", job_id, warning)
            finally:
                with self._lock:
                    self._uploading_logs.discard(job_id)

    def _execute(self, files: JobFiles) -> tuple[Optional[dict[str, Any]], Optional[JobSpec], Optional[StepRunner]]:
        raw = read_json(files.spec)
        try:
            spec = JobSpec.from_dict(raw or {})
        except (ValueError, TypeError) as exc:
            return failed_result(files.job_id, f"the job spec cannot be read: {exc}"), None, None
        if files.cancel_requested():
            return canceled_result(files.job_id, "canceled before it started"), spec, None
        attempt = self._begin_attempt(files)
        runner = StepRunner(
            spec,
            files.dir,
            attempt=attempt,
            cache_dir=self.state.root / "cache",
            log_interval=self.log_interval,
            on_started=lambda pid: self._record_pid(files, attempt, pid),
            interpreters=self.interpreters,
            defer_log_upload=True,
        )
        with self._lock:
            self._running[files.job_id] = runner
        if files.cancel_requested():  # a cancel that arrived while we set up
            runner.cancel()
        _log.info("job %s: attempt %d started", files.job_id, attempt)
        result = runner.run()
        if self._stopping and result["status"] == JobState.CANCELED.value and not files.cancel_requested():
            _log.info("job %s: interrupted by shutdown; it runs again on the next start", files.job_id)
            return None, spec, runner
        return result, spec, runner

    def _begin_attempt(self, files: JobFiles) -> int:
        previous = files.read_running()
        if previous is not None:
            kill_leftover(files, previous, self.state.warm)
        attempt = int(previous.get("attempt", 0)) + 1 if previous else 1
        write_json_atomic(
            files.running, {"attempt": attempt, "pid": None, "worker_pid": os.getpid(), "started": now_iso()}
        )
        return attempt

    def _record_pid(self, files: JobFiles, attempt: int, pid: int) -> None:
        write_json_atomic(
            files.running, {"attempt": attempt, "pid": pid, "worker_pid": os.getpid(), "started": now_iso()}
        )

    def _finish(self, files: JobFiles, result: dict[str, Any], spec: Optional[JobSpec]) -> None:
        self._record(files, result)
        self._notify(files, result, spec)

    def _record(self, files: JobFiles, result: dict[str, Any]) -> None:
        write_json_atomic(files.result, result)
        _log.info("job %s: %s (exit code %s)", files.job_id, result["status"], result.get("exit_code"))

    def _notify(self, files: JobFiles, result: dict[str, Any], spec: Optional[JobSpec]) -> None:
        notify = spec.notify if spec is not None else (read_json(files.spec) or {}).get("notify")
        if notify:
            send_notification(notify, job_report(result))

    # -- life cycle ------------------------------------------------------------------------------
    def serve(self) -> None:
        """Listen, run jobs until shutdown or idle timeout, then stop what still runs."""
        server = make_server(self)
        threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
        write_json_atomic(
            self.state.worker_info,
            {"pid": os.getpid(), "port": server.server_address[1], "token": self.token},
            mode=0o600,
        )
        threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
        self.interpreters = WarmInterpreters(
            pool_size(os.environ), script_base_environment(os.environ), self.state.warm
        ).start()
        _log.info(
            "worker %d listening on 127.0.0.1:%d, max_nodes=%d", os.getpid(), server.server_address[1], self.max_nodes
        )
        try:
            self.rescan()
            while not self._stop.wait(RESCAN_S):
                if not self.state.jobs.is_dir() or self._idle_too_long():
                    break
                self.rescan()
        finally:
            self._shutdown(server)

    def _idle_too_long(self) -> bool:
        """True when nothing runs or waits and either the owner host is gone or ``idle_timeout`` has passed.

        A worker outlives its host only to finish the jobs it was running: their results are on disk for the
        host's next start (which adopts a live worker, or starts a new one), so a crashed host loses nothing,
        and a stopped one leaves no idle worker behind."""
        with self._lock:
            busy = bool(self._running or self._queued)
            if busy:
                self._last_busy = time.monotonic()
                return False
            if self.owner is not None and not pid_alive(self.owner):
                _log.info("the host process %d that owns this worker is gone; stopping", self.owner)
                return True
            return time.monotonic() - self._last_busy > self.idle_timeout

    def _shutdown(self, server: Any) -> None:
        with self._lock:
            self._stopping = True
            runners = [r for r in self._running.values() if r is not None]
        for runner in runners:
            runner.cancel()
        deadline = time.monotonic() + SHUTDOWN_WAIT_S
        while (self._running or self._uploading_logs) and time.monotonic() < deadline:  # let runners finish
            time.sleep(0.05)
        server.shutdown()
        if self.interpreters is not None:
            self.interpreters.close()
        info = read_json(self.state.worker_info) if self.state.worker_info.exists() else None
        if info and info.get("pid") == os.getpid():
            self.state.worker_info.unlink(missing_ok=True)
        _log.info("worker %d stopped", os.getpid())


def canceled_result(job_id: str, error: str) -> dict[str, Any]:
    """The result document of a job canceled before its script ran."""
    now = now_iso()
    return {
        "job_id": job_id,
        "status": JobState.CANCELED.value,
        "exit_code": None,
        "error": error,
        "metrics": [],
        "outputs": {},
        "started": None,
        "ended": now,
        "attempt": 0,
    }


def failed_result(job_id: str, error: str) -> dict[str, Any]:
    """The result document of a job that could not even be started."""
    return {**canceled_result(job_id, error), "status": JobState.FAILED.value}


def kill_leftover(files: JobFiles, running: dict[str, Any], warm_dir: Optional[Path] = None) -> None:
    """Kill what remains of a previous attempt's process group (its worker died without reaping it).

    The recorded pid is checked first: its working directory must be the job's snapshot (or, for a
    script handed to a waiting interpreter that had not yet changed directory, ``warm_dir``).
    """
    pid = running.get("pid")
    if not isinstance(pid, int) or pid <= 1:
        return
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except FileNotFoundError:
        cwd = None  # the leader is gone; only its own leftovers can still use its group id
    except OSError:
        return  # not ours to judge (another user's process): leave it alone
    if cwd is not None and cwd not in (str(files.dir / "snapshot"), str(warm_dir)):
        return  # the pid was reused by an unrelated process
    try:
        os.killpg(pid, signal.SIGKILL)
        _log.info("job %s: killed the process group %d left by the previous attempt", files.job_id, pid)
    except (ProcessLookupError, PermissionError):
        pass


def _warm_up() -> None:
    try:
        from durableml.runner.storage import warm_up

        warm_up()
    except Exception:  # noqa: BLE001 - the first job will report the real import error
        _log.exception("could not import the Azure Storage SDK")


def _hold_lock(state: StateDir) -> Optional[int]:
    fd = os.open(state.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd  # held until the process exits, however it exits


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of ``python -m durableml.compute.local.worker``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m durableml.compute.local.worker", description="Run the jobs of one local compute target."
    )
    parser.add_argument("--state-dir", required=True, help="the compute target's state directory")
    parser.add_argument("--max-nodes", type=int, default=1, help="jobs run at the same time (default 1)")
    parser.add_argument("--idle-timeout", type=float, default=600.0, help="exit after this many idle seconds")
    parser.add_argument("--log-interval", type=float, default=0.5, help="seconds between driver log uploads")
    parser.add_argument("--owner-pid", type=int, default=None, help="stop when this process is gone and idle")
    args = parser.parse_args(argv)
    state = StateDir(args.state_dir).ensure()
    logging.basicConfig(
        filename=state.worker_log,
        level=logging.INFO,
        format="%(asctime)s %(process)d %(threadName)s %(levelname)s %(message)s",
    )
    logging.getLogger("azure").setLevel(logging.WARNING)
    if _hold_lock(state) is None:
        _log.info("another worker already serves %s; exiting", state.root)
        return 0
    worker = Worker(state, args.max_nodes, args.idle_timeout, args.log_interval, args.owner_pid)
    signal.signal(signal.SIGTERM, lambda *_: worker.request_shutdown())
    worker.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
