"""Fork servers: run a step's ``python script.py`` without paying for Python's start-up.

Starting CPython (with site-packages and the step startup directory) takes 10-30 ms of CPU on a small machine,
most of a trivial step's cost. The local compute worker keeps a few *fork servers*: a :class:`WarmInterpreters`
process has run the interpreter's startup (``site``, ``sitecustomize``) with the environment every step script
starts from (:func:`~durableml.runner.context.script_base_environment`) and nothing else, in its own session,
with stdin on /dev/null. Handing it a script sends ``argv``, the working directory, the job's environment and a
FIFO over a private pipe; the server forks, and the child makes the FIFO its stdout+stderr, becomes the leader of
its own process group, sets ``os.environ``, the working directory, ``sys.argv`` / ``sys.orig_argv``,
``sys.path[0]`` and a fresh ``__main__`` exactly as ``python script.py`` would, and runs the script. Exit codes,
``sys.exit``, uncaught exceptions (their traceback starts at the script, as usual), a missing script (exit code 2)
and syntax errors behave as with a cold start; ``tests/runtime/test_warm.py`` compares the two. The server waits
for the script, kills what it left in its process group (as :class:`~durableml.runner.process.ScriptProcess` does
for a cold start) and answers the exit code; then it takes the next script. One script at a time per server.

Measured (docs/benchmarks.md, "fork servers"): the benchmark's step script cost 33 ms of CPU in a one-shot waiting
interpreter (the design before this one: a new interpreter started per step ahead of time) and 19-23 ms forked.

What differs from a cold start, by design: the script's parent process is the fork server, not the worker; it
leads its own process group but shares the server's session (no terminal is involved either way); and the
scripts of one server share its string-hash seed (``PYTHONHASHSEED`` randomisation happens at start-up), so
iteration over sets of strings is ordered alike in them. The objects startup made are frozen (``gc.freeze``)
before the first fork. A job that sets ``PYTHONHASHSEED`` itself gets a cold start, as below.

A script is only handed to a fork server when nothing that Python reads at startup differs: the job's
environment must equal the one the server started with except for the run's own variables (:data:`PER_JOB`:
``AZUREML_*``, ``AML_PARAMETER_*``, ``DURABLEML_RUN_CONTEXT``, the service endpoint and key), which are read by
the script, not by the interpreter. A job with its own environment variables (``PYTHONPATH``,
``LD_LIBRARY_PATH``, ``OMP_NUM_THREADS``...) gets a cold ``python script.py``, as does any job when every server
is busy or they are switched off (``DURABLEML_WARM_INTERPRETERS=0``). A server whose worker goes away reads
end-of-file and exits; a script it was running goes on, and the next worker kills what is left of it (its
process group) as for any script of a worker that died.
"""

from __future__ import annotations

import itertools
import logging
import marshal
import os
import select
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Mapping, Optional

__all__ = [
    "ForkedScript",
    "WarmInterpreters",
    "PER_JOB",
    "WARM_SETTING",
    "pool_size",
    "popen_script",
    "startup_compatible",
]

WARM_SETTING = "DURABLEML_WARM_INTERPRETERS"
DEFAULT_SIZE = 2
PER_JOB = frozenset({"DURABLEML_RUN_CONTEXT", "DURABLEML_ENDPOINT", "DURABLEML_KEY"})
_PER_JOB_PREFIXES = ("AZUREML_", "AML_PARAMETER_")  # AML_PARAMETER_<name>: a PythonScriptStep's params
_log = logging.getLogger("durableml.runner.warm")

# Runs as ``python -c`` in the fork server. Everything it uses is loaded at startup anyway (os, sys, marshal,
# the frozen importlib; gc is taken out of sys.modules again), so the script finds no module it would not find
# after a cold start. It lives in functions so that clearing ``__main__`` cannot pull names from under it.
_SERVER = r"""
def _durableml_fork_server():
    import marshal, os, sys
    jobs, answers = int(sys.argv[1]), int(sys.argv[2])

    def read(n):
        data = b""
        while len(data) < n:
            chunk = os.read(jobs, n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    import gc
    gc.freeze()  # what startup made is never collected: the forked scripts' collections skip it (fewer copied pages)
    del sys.modules["gc"], gc  # a script that imports gc imports it as after a cold start
    while True:
        header = read(8)
        if header is None:
            return None  # end-of-file: the pool closed, or its worker is gone
        body = read(int.from_bytes(header, "big"))
        if body is None:
            return None
        job = marshal.loads(body)
        try:
            out = os.open(job["out"], os.O_WRONLY)
        except OSError:
            os.write(answers, b"-\n")
            continue
        pid = os.fork()
        if pid == 0:
            os.close(jobs)
            os.close(answers)
            try:
                os.setpgid(0, 0)
            except OSError:
                pass  # the server did it first
            os.dup2(out, 1)
            os.dup2(out, 2)
            os.close(out)
            return job
        try:
            os.setpgid(pid, pid)  # before the worker can signal the group (the child does it too: either wins)
        except OSError:
            pass
        os.close(out)
        os.write(answers, b"%d\n" % pid)
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped: its group id stays unused
        try:
            os.killpg(pid, 9)  # what the script left running in its group ends with it
        except OSError:
            pass
        status = os.waitpid(pid, 0)[1]
        os.write(answers, b"%d\n" % os.waitstatus_to_exitcode(status))


def _durableml_warm_start(job):
    import marshal, os, sys
    if job is None:
        return
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
    del main, builtins, job
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
_durableml_warm_start(_durableml_fork_server())
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


class ForkedScript:
    """A script forked by a fork server: what :class:`ScriptProcess` needs of a ``subprocess.Popen`` (``pid``,
    ``stdout``, ``poll``, ``wait``), with the exit code the server reports. The server has already killed what the
    script left in its process group when the code arrives."""

    def __init__(self, server: _Server, pid: int, stdout: Any) -> None:
        self.server = server
        self.pid = pid
        self.stdout = stdout
        self.returncode: Optional[int] = None

    def poll(self) -> Optional[int]:
        if self.returncode is None and self.server.ready(0):
            self._collect()
        return self.returncode

    def wait(self, timeout: Optional[float] = None) -> int:
        if self.returncode is None:
            if not self.server.ready(timeout):
                raise subprocess.TimeoutExpired([str(self.pid)], timeout or 0)
            self._collect()
        assert self.returncode is not None
        return self.returncode

    def _collect(self) -> None:
        line = self.server.answer()
        if line is None:  # the server died while the script ran: stop the script, report it killed
            _killpg(self.pid, 9)
            self.returncode = -9
            self.server.pool.discard(self.server)
            return
        self.returncode = int(line)
        self.server.pool.give_back(self.server)


class _Server:
    """One fork server: its process, the pipe jobs go down and the pipe its answers come back on."""

    def __init__(self, pool: WarmInterpreters, popen: subprocess.Popen[bytes], jobs_fd: int, answers_fd: int) -> None:
        self.pool = pool
        self.popen = popen
        self.jobs_fd = jobs_fd
        self.answers_fd = answers_fd
        self._buffer = b""

    def ready(self, timeout: Optional[float]) -> bool:
        if b"\n" in self._buffer:
            return True
        return bool(select.select([self.answers_fd], [], [], timeout)[0])

    def answer(self) -> Optional[str]:
        """The next line the server writes; None at end-of-file (it is gone)."""
        while b"\n" not in self._buffer:
            try:
                chunk = os.read(self.answers_fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def fork(self, argv: list[str], cwd: Path, env: Mapping[str, str], out: Path) -> Optional[ForkedScript]:
        """Hand the script over: the server opens ``out`` (a FIFO this side opened for reading) as the script's
        stdout and stderr, forks, and answers the script's pid. None when the server cannot take it."""
        read_fd = os.open(out, os.O_RDONLY | os.O_NONBLOCK)  # a reader exists: the server's open does not block
        try:
            job = marshal.dumps({"argv": [str(a) for a in argv], "cwd": str(cwd), "env": dict(env), "out": str(out)})
            view = memoryview(len(job).to_bytes(8, "big") + job)
            while view:
                view = view[os.write(self.jobs_fd, view) :]
            line = self.answer()
        except OSError:  # it died while waiting (killed from outside)
            line = None
        finally:
            out.unlink()
        if line is None or not line.isdigit():
            os.close(read_fd)
            return None
        os.set_blocking(read_fd, True)  # the script holds the write end now: reads wait for output or its end
        return ForkedScript(self, int(line), os.fdopen(read_fd, "rb", buffering=0))

    def discard(self) -> None:
        for fd in (self.jobs_fd, self.answers_fd):  # it reads end-of-file and exits
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self.popen.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


class WarmInterpreters:
    """Up to ``size`` fork servers started with ``env`` in ``cwd``, started again in the background when one is gone;
    each runs one script at a time."""

    def __init__(self, size: int, env: Mapping[str, str], cwd: Path) -> None:
        self.size = size
        self.env = dict(env)
        self.cwd = cwd
        self._idle: list[_Server] = []
        self._servers = 0  # started and not discarded: idle or running a script
        self._lock = threading.Lock()
        self._wanted = threading.Condition(self._lock)
        self._closed = False
        self._thread: Optional[threading.Thread] = None
        self._count = itertools.count()

    def start(self) -> WarmInterpreters:
        """Start the servers (in a background thread); returns self."""
        if self.size > 0:
            self.cwd.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._thread = threading.Thread(target=self._fill, name="warm-interpreters", daemon=True)
            self._thread.start()
        return self

    def run(self, argv: list[str], cwd: Path, env: Mapping[str, str]) -> Optional[ForkedScript]:
        """Hand ``argv`` (script and arguments) to an idle fork server; None if none can take it.

        The returned process is the script's, as ``subprocess.Popen`` would have started it but for its parent:
        its own process group, stdin on /dev/null, stdout+stderr on ``.stdout``.
        """
        if self.size <= 0 or not startup_compatible(self.env, env):
            return None
        while True:
            with self._lock:
                if not self._idle:
                    return None
                server = self._idle.pop(0)
            if server.popen.poll() is None:
                out = self.cwd / f"out-{os.getpid()}-{next(self._count)}"
                try:
                    os.mkfifo(out, 0o600)
                except OSError:
                    _log.exception("could not make the output FIFO %s; the step starts the usual way", out)
                    self.give_back(server)
                    return None
                forked = server.fork(argv, cwd, env, out)
                if forked is not None:
                    return forked
            self.discard(server)

    def give_back(self, server: _Server) -> None:
        """A server whose script ended: idle again (or stopped, when the pool closed meanwhile)."""
        with self._lock:
            if not self._closed:
                self._idle.append(server)
                return
        self.discard(server)

    def discard(self, server: _Server) -> None:
        """Stop a server that cannot be used any more; the filler starts another."""
        server.discard()
        with self._lock:
            self._servers -= 1
            self._wanted.notify()

    def close(self) -> None:
        """Stop starting servers and let every idle one exit (a busy one exits when its script has ended)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._wanted.notify_all()
        for server in idle:
            self.discard(server)

    def _fill(self) -> None:
        while True:
            with self._lock:
                while not self._closed and self._servers >= self.size:
                    self._wanted.wait()
                if self._closed:
                    return
                self._servers += 1
            try:
                server = self._spawn()
            except OSError:
                _log.exception("could not start a fork server; steps start the usual way")
                return
            with self._lock:
                closed = self._closed
                if not closed:
                    self._idle.append(server)
            if closed:
                self.discard(server)
                return

    def _spawn(self) -> _Server:
        jobs_read, jobs_write = os.pipe()
        answers_read, answers_write = os.pipe()
        try:
            popen = subprocess.Popen(
                [sys.executable, "-c", _SERVER, str(jobs_read), str(answers_write)],
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                pass_fds=(jobs_read, answers_write),
            )
        except OSError:
            os.close(jobs_write)
            os.close(answers_read)
            raise
        finally:
            os.close(jobs_read)
            os.close(answers_write)
        return _Server(self, popen, jobs_write, answers_read)


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
