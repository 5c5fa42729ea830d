"""The on-disk layout of a local compute target, shared by :mod:`.backend` and :mod:`.worker`.

::

    <state>/
      worker.lock        held (flock) by the one live worker for its whole life
      worker.json        {"pid", "port", "token"} of that worker, written once it listens
      worker.log         the worker's own log (never contains connection strings or notify URLs)
      jobs/<job id>/
        spec.json        the JobSpec, mode 0600, created once (atomically; a second submit is a no-op)
        cancel           present once cancel() was asked for
        running.json     {"attempt", "pid", "started", "worker_pid"} while an attempt runs
        result.json      the final result, written atomically; a job with one never runs again
        ...              the runner's working files (snapshot/, inputs/, outputs/, logs/)

Writers use write-to-temp + rename (or link, for create-once files), so readers never see half a file.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any, Optional

from durableml.compute.base import JobSpec, validate_job_id
from durableml.runner.workdir import DRIVER_LOG, now_iso, temp_path_beside

SPEC, RESULT, RUNNING, CANCEL = "spec.json", "result.json", "running.json", "cancel"
__all__ = [
    "SPEC",
    "RESULT",
    "RUNNING",
    "CANCEL",
    "DRIVER_LOG",
    "JobFiles",
    "StateDir",
    "now_iso",
    "temp_path_beside",
    "write_json_atomic",
    "create_json_once",
    "read_json",
    "pid_alive",
]


def _write_temp(path: Path, data: Any, mode: int) -> Path:
    tmp = temp_path_beside(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data))  # json.dump encodes in pure Python; json.dumps with the C encoder
    return tmp


def write_json_atomic(path: Path, data: Any, mode: int = 0o644) -> None:
    """Write ``data`` as JSON to ``path`` so that readers see the old file or the new one, never half."""
    tmp = _write_temp(path, data, mode)
    os.replace(tmp, path)


def create_json_once(path: Path, data: Any, mode: int = 0o600) -> bool:
    """Create ``path`` with ``data`` unless it exists; True if this call created it.

    Linking the finished temp file into place fails if the name exists, so two racing callers
    cannot both create it and nobody sees a partial file.
    """
    tmp = _write_temp(path, data, mode)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)


def read_json(path: Path) -> Optional[dict[str, Any]]:
    """The JSON object in ``path``, or None if the file does not exist (yet)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return dict(json.load(handle))
    except FileNotFoundError:
        return None


class StateDir:
    """Paths of one local compute target's state directory."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.jobs = self.root / "jobs"
        self.lock = self.root / "worker.lock"
        self.worker_info = self.root / "worker.json"
        self.worker_log = self.root / "worker.log"
        self.warm = self.root / "warm"  # where waiting interpreters wait (durableml.runner.warm)

    def ensure(self) -> StateDir:
        """Create the directories (private to this user) if missing; returns self."""
        self.jobs.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self

    def job(self, job_id: str) -> JobFiles:
        """The files of job ``job_id`` (validated, so it cannot escape the jobs directory)."""
        return JobFiles(self.jobs / validate_job_id(job_id))

    def accept(self, job: JobSpec) -> JobFiles:
        """Record a submitted ``job``: its directory and ``spec.json`` (mode 0600, created once, so a second submit of
        the same id changes nothing); returns its files."""
        self.ensure()
        files = self.job(job.job_id)
        files.dir.mkdir(mode=0o700, exist_ok=True)
        create_json_once(files.spec, job.to_dict(), mode=0o600)
        return files

    def job_ids(self) -> list[str]:
        """Ids of every job with a spec, oldest submission first."""
        found = []
        for entry in os.scandir(self.jobs):
            spec = Path(entry.path) / SPEC
            try:
                found.append((spec.stat().st_mtime_ns, entry.name))
            except FileNotFoundError:
                continue  # a directory whose submit has not finished (or failed)
        return [name for _, name in sorted(found)]

    def worker_alive(self) -> bool:
        """True if some process holds the worker lock (the lock dies with its holder, even on kill -9)."""
        try:
            fd = os.open(self.lock, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)


class JobFiles:
    """Paths of one job's directory."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.job_id = directory.name
        self.spec = directory / SPEC
        self.result = directory / RESULT
        self.running = directory / RUNNING
        self.cancel = directory / CANCEL
        self.driver_log = directory.joinpath(*DRIVER_LOG)

    def read_result(self) -> Optional[dict[str, Any]]:
        """result.json, or None while the job has not ended."""
        return read_json(self.result)

    def read_running(self) -> Optional[dict[str, Any]]:
        """running.json (the current or last attempt), or None if no attempt started."""
        return read_json(self.running)

    def cancel_requested(self) -> bool:
        """True once cancel() was asked for this job."""
        return self.cancel.exists()


def pid_alive(pid: int) -> bool:
    """True while a process with this pid exists and has not exited (ours or another user's).

    A zombie (exited, not yet reaped by its parent) counts as gone: a host process that died stays a zombie
    until whoever started it waits for it, and its worker must not wait with it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc (not Linux), or it went away meanwhile: kill(0) said it was there
