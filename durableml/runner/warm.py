"""Pre-started interpreters: run a step's ``python script.py`` without waiting for Python to start.

Starting CPython (with site-packages and the step startup directory) takes 25-30 ms on a small machine,
most of a trivial step's time. The local compute worker keeps a few interpreters started ahead of
time, each waiting for one script: an idle :class:`WarmInterpreters` process has run the interpreter's
startup (``site``, ``sitecustomize``) with the environment every step script starts from
(:func:`~durableml.runner.context.script_base_environment`) and nothing else, in its own session, with
stdin on /dev/null and stdout+stderr on one pipe. Handing it a script sends ``argv``, the working
directory and the job's environment over a private pipe; it then sets ``os.environ``, the working
directory, ``sys.argv`` / ``sys.orig_argv``, ``sys.path[0]`` and a fresh ``__main__`` exactly as
``python script.py`` would, and runs the script. Exit codes, ``sys.exit``, uncaught exceptions (their
traceback starts at the script, as usual), a missing script (exit code 2) and syntax errors behave as
with a cold start; ``tests/runtime/test_warm.py`` compares the two.

A script is only handed to a warm interpreter when nothing that Python reads at startup differs: the
job's environment must equal the one the interpreter started with except for the run's own variables
(:data:`PER_JOB`: ``AZUREML_*``, ``AML_PARAMETER_*``, ``DURABLEML_RUN_CONTEXT``, the service endpoint and
key), which are read by the script, not by the interpreter. A job with its own environment variables (``PYTHONPATH``,
``LD_LIBRARY_PATH``, ``OMP_NUM_THREADS``...) gets a cold ``python script.py``, as does any job when the
pool is empty or switched off (``DURABLEML_WARM_INTERPRETERS=0``). An idle interpreter whose worker goes
away reads end-of-file and exits without running anything.
"""

from __future__ import annotations

import logging
import marshal
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Mapping, Optional

__all__ = ["WarmInterpreters", "PER_JOB", "WARM_SETTING", "pool_size", "popen_script", "startup_compatible"]

WARM_SETTING = "DURABLEML_WARM_INTERPRETERS"
DEFAULT_SIZE = 2
PER_JOB = frozenset({"DURABLEML_RUN_CONTEXT", "DURABLEML_ENDPOINT", "DURABLEML_KEY"})
_PER_JOB_PREFIXES = ("AZUREML_", "AML_PARAMETER_")  # AML_PARAMETER_<name>: a PythonScriptStep's params
_log = logging.getLogger("durableml.runner.warm")

# Runs as ``python -c`` in the waiting interpreter. Everything it uses is loaded at startup anyway
# (os, sys, marshal, the frozen importlib), so the script finds no module it would not find after a
# cold start. It lives in a function so that clearing ``__main__`` cannot pull names from under it.
_BOOT = r"""
def _durableml_warm_start():
    import marshal, os, sys
    fd = int(sys.argv[1])
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    if not chunks:
        return
    job = marshal.loads(b"".join(chunks))
    os.environ.clear()
    os.environ.update(job["env"])
    os.chdir(job["cwd"])
    argv = job["argv"]
    sys.argv = list(argv)
    sys.orig_argv = [sys.executable, *argv]
    script = os.path.abspath(argv[0])
    sys.path[0] = os.path.dirname(os.path.realpath(argv[0]))
    main = sys.modules["__main__"]
    namespace = main.__dict__
    builtins = namespace["__builtins__"]
    namespace.clear()
    namespace.update(
        __name__="__main__", __doc__=None, __package__=None, __spec__=None, __annotations__={},
        __builtins__=builtins, __file__=script, __cached__=None,
        __loader__=sys.modules["_frozen_importlib_external"].SourceFileLoader("__main__", script),
    )
    del main, builtins, job, chunks
    try:
        with open(script, "rb") as f:
            source = f.read()
    except OSError as exc:
        sys.stderr.write(f"{sys.executable}: can't open file {script!r}: [Errno {exc.errno}] {exc.strerror}\n")
        raise SystemExit(2) from None
    try:
        code = compile(source, script, "exec")
    except SyntaxError as exc:
        exc.__traceback__ = None
        sys.excepthook(type(exc), exc, None)
        raise SystemExit(1) from None
    del source
    try:
        exec(code, namespace)
    except SystemExit:
        raise
    except BaseException as exc:
        tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None  # from the script's frame
        exc.__traceback__ = tb
        sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc, tb
        sys.excepthook(type(exc), exc, tb)
        if isinstance(exc, KeyboardInterrupt):
            import signal
            sys.stdout.flush()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        raise SystemExit(1) from None
_durableml_warm_start()
"""


def popen_script(
    argv: list[str], cwd: Path, env: Mapping[str, str], pass_fds: tuple[int, ...] = ()
) -> subprocess.Popen[bytes]:
    """Start a step's script process, cold or waiting: in its own session (so that its whole process group
    can be signalled), stdin on /dev/null, stdout and stderr on one unbuffered pipe (their order kept)."""
    return subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        bufsize=0,
        start_new_session=True,
        pass_fds=pass_fds,
    )


def pool_size(env: Mapping[str, str]) -> int:
    """How many interpreters to keep waiting: ``DURABLEML_WARM_INTERPRETERS`` (0 switches them off)."""
    raw = env.get(WARM_SETTING, "").strip()
    if not raw:
        return DEFAULT_SIZE
    try:
        return max(0, int(raw))
    except ValueError:
        _log.warning("%s=%r is not a whole number; using %d", WARM_SETTING, raw, DEFAULT_SIZE)
        return DEFAULT_SIZE


def startup_compatible(started_with: Mapping[str, str], job_env: Mapping[str, str]) -> bool:
    """True if an interpreter started with ``started_with`` may run a script that needs ``job_env``."""

    def startup_part(env: Mapping[str, str]) -> dict[str, str]:
        return {k: v for k, v in env.items() if k not in PER_JOB and not k.startswith(_PER_JOB_PREFIXES)}

    return startup_part(started_with) == startup_part(job_env)


class _Waiting:
    """One started interpreter and the write end of the pipe its script comes through."""

    def __init__(self, popen: subprocess.Popen[bytes], job_fd: int) -> None:
        self.popen = popen
        self.job_fd = job_fd

    def discard(self) -> None:
        os.close(self.job_fd)  # it reads end-of-file and exits
        try:
            self.popen.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        if self.popen.stdout is not None:
            self.popen.stdout.close()


class WarmInterpreters:
    """Up to ``size`` interpreters started with ``env`` in ``cwd``, refilled in the background."""

    def __init__(self, size: int, env: Mapping[str, str], cwd: Path) -> None:
        self.size = size
        self.env = dict(env)
        self.cwd = cwd
        self._idle: list[_Waiting] = []
        self._lock = threading.Lock()
        self._wanted = threading.Condition(self._lock)
        self._closed = False
        self._thread: Optional[threading.Thread] = None

    def start(self) -> WarmInterpreters:
        """Start filling the pool (in a background thread); returns self."""
        if self.size > 0:
            self.cwd.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._thread = threading.Thread(target=self._fill, name="warm-interpreters", daemon=True)
            self._thread.start()
        return self

    def run(self, argv: list[str], cwd: Path, env: Mapping[str, str]) -> Optional[subprocess.Popen[bytes]]:
        """Hand ``argv`` (script and arguments) to a waiting interpreter; None if none can take it.

        The returned process is the script's, as ``subprocess.Popen`` would have started it: its own
        session, stdout+stderr on ``.stdout``.
        """
        if self.size <= 0 or not startup_compatible(self.env, env):
            return None
        while True:
            with self._lock:
                if not self._idle:
                    return None
                waiting = self._idle.pop(0)
                self._wanted.notify()
            if waiting.popen.poll() is None and self._hand_over(waiting, argv, cwd, env):
                return waiting.popen
            waiting.discard()

    @staticmethod
    def _hand_over(waiting: _Waiting, argv: list[str], cwd: Path, env: Mapping[str, str]) -> bool:
        job = marshal.dumps({"argv": [str(a) for a in argv], "cwd": str(cwd), "env": dict(env)})
        try:
            view = memoryview(job)
            while view:
                view = view[os.write(waiting.job_fd, view) :]
        except OSError:  # it died while waiting (killed from outside): start another way
            return False
        finally:
            os.close(waiting.job_fd)
            waiting.job_fd = -1
        return True

    def close(self) -> None:
        """Stop refilling and let every waiting interpreter exit."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._wanted.notify_all()
        for waiting in idle:
            waiting.discard()

    def _fill(self) -> None:
        while True:
            with self._lock:
                while not self._closed and len(self._idle) >= self.size:
                    self._wanted.wait()
                if self._closed:
                    return
            try:
                waiting = self._spawn()
            except OSError:
                _log.exception("could not start a waiting interpreter; steps start the usual way")
                return
            with self._lock:
                if self._closed:
                    closed = True
                else:
                    closed = False
                    self._idle.append(waiting)
            if closed:
                waiting.discard()
                return

    def _spawn(self) -> _Waiting:
        read_fd, write_fd = os.pipe()
        try:
            popen = popen_script([sys.executable, "-c", _BOOT, str(read_fd)], self.cwd, self.env, (read_fd,))
        except OSError:
            os.close(write_fd)
            raise
        finally:
            os.close(read_fd)
        return _Waiting(popen, write_fd)
