"""Running the user's script as a child process in its own process group.

Output (stdout and stderr through one pipe, so their order is kept) is pumped into the
:class:`~durableml.runner.driver_log.DriverLog` by a background task (:mod:`durableml.runner.background`).
The script runs in a new session, so cancel and timeout can stop it together with anything it started
(``killpg``). When the script exits, processes it left behind in its group are killed, so the step ends
when its script ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Callable, Mapping, Optional

from durableml.runner import background
from durableml.runner.driver_log import DriverLog
from durableml.runner.warm import ForkedScript, WarmInterpreters, popen_script

__all__ = ["ScriptProcess"]

TERMINATE_GRACE_S = 3.0
READER_JOIN_S = 2.0


class ScriptProcess:
    """One run of ``argv`` in ``cwd`` with ``env``, its output going to ``log``.

    ``argv`` is ``[sys.executable, script, *arguments]``; with ``interpreters``, a waiting interpreter
    runs it when it can (see :mod:`durableml.runner.warm`), else it starts the usual way.
    """

    def __init__(
        self,
        argv: list[str],
        cwd: Path,
        env: Mapping[str, str],
        log: DriverLog,
        interpreters: Optional[WarmInterpreters] = None,
    ) -> None:
        self.argv = argv
        self.cwd = cwd
        self.env = dict(env)
        self.log = log
        self.interpreters = interpreters
        self.warm = False
        self.timed_out = False
        self.terminated = False
        self._proc: Optional[subprocess.Popen[bytes] | ForkedScript] = None
        self._output_read: Optional[threading.Event] = None
        self._lock = threading.Lock()
        self._exited = False

    @property
    def pid(self) -> Optional[int]:
        """The script's process id (also its process group id), once started."""
        return self._proc.pid if self._proc else None

    def start(self, on_started: Optional[Callable[[int], None]] = None) -> int:
        """Start the script; returns its pid. Raises OSError if it cannot be started.

        ``on_started(pid)`` runs before any of the script's output is read: whoever sees its output in the log can
        count on the pid having been recorded (a worker that dies then leaves a pid the next one can kill)."""
        warm = self.interpreters.run(self.argv[1:], self.cwd, self.env) if self.interpreters else None
        self.warm = warm is not None
        self._proc = warm or popen_script(self.argv, self.cwd, self.env)
        if on_started is not None:
            on_started(self._proc.pid)
        self._output_read = background.start(self._pump, f"out:{self._proc.pid}")
        return self._proc.pid

    def _pump(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            self.log.write(chunk)

    def wait(self, timeout: Optional[float] = None) -> int:
        """Wait for the script to exit (killing it after ``timeout`` seconds); returns its exit code.

        A negative code is the signal that ended it (``-15`` for a cancel's SIGTERM).
        """
        assert self._proc is not None, "start() first"
        timer = threading.Timer(timeout, self._time_out) if timeout else None
        if timer:
            timer.daemon = True
            timer.start()
        if isinstance(self._proc, ForkedScript):  # its fork server waits, kills the group's leftovers and reaps
            code = self._proc.wait()
            with self._lock:
                self._exited = True
        else:
            # Wait for the exit without reaping: the group id cannot be reused while the leader is a
            # zombie, so killing the leftovers of the group below cannot hit a stranger's processes.
            os.waitid(os.P_PID, self._proc.pid, os.WEXITED | os.WNOWAIT)
            with self._lock:
                self._exited = True
                _killpg(self._proc.pid, signal.SIGKILL)
            code = self._proc.wait()
        if timer:
            timer.cancel()
        self._finish_output()
        return code

    def _finish_output(self) -> None:
        assert self._proc is not None and self._output_read is not None
        if not self._output_read.wait(READER_JOIN_S):  # a process outside the group still holds the pipe open
            self.log.note(
                "[durableml] the script exited, but a process it started still holds its output; "
                "output after this point is not captured"
            )
        else:
            assert self._proc.stdout is not None
            self._proc.stdout.close()

    def terminate(self, grace: float = TERMINATE_GRACE_S) -> bool:
        """Ask the script's process group to stop (SIGTERM), SIGKILL it after ``grace`` seconds.

        Returns False if the script had already exited (or never started).
        """
        with self._lock:
            if self._proc is None or self._exited:
                return False
            self.terminated = True
            _killpg(self._proc.pid, signal.SIGTERM)
        timer = threading.Timer(grace, self._kill)
        timer.daemon = True
        timer.start()
        return True

    def _kill(self) -> None:
        with self._lock:
            if self._proc is not None and not self._exited:
                _killpg(self._proc.pid, signal.SIGKILL)

    def _time_out(self) -> None:
        with self._lock:
            self.timed_out = not self._exited
        self.terminate()


def _killpg(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
