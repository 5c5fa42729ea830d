"""Shared fixtures: a real Azurite for the session and real funchost processes on loopback ports.

* ``azurite``: one Azurite for the whole session, on ports the OS picked, data in a temp dir;
  ``azurite.connection_string`` is a full connection string for it.
* ``funchost_process``: a factory, ``funchost_process(app_dir, env={...})``, that starts
  ``python -m funchost start`` on any function app folder against that Azurite and returns a
  :class:`FunchostProcess` once ``/admin/host/status`` says ``Running``. Every process it started and
  that still runs is stopped (by pid / process group) at the end of the session.
* ``free_port()``: a TCP port nothing listens on right now; tests get it as the ``free_port``
  fixture (the function itself), which works whether or not ``tests`` becomes a package.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from funchost.azurite import AzuriteHandle, start_azurite
from funchost.host import free_port  # a TCP port on 127.0.0.1 that was free a moment ago

REPO_ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 30.0


class FunchostProcess:
    """One ``python -m funchost start`` process, its ports, state dir and captured output.

    The process runs in its own process group, so that stopping it also reaches anything it started.
    """

    def __init__(self, app_dir: Path, state_dir: Path, log_path: Path, env: dict[str, str],
                 port: int | None = None, ready_timeout: float = READY_TIMEOUT) -> None:
        self.app_dir = app_dir
        self.state_dir = state_dir
        self.log_path = log_path
        self.env = env
        self.port = port or free_port()
        self.ready_timeout = ready_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "funchost was never started"
        return self.process.pid

    @property
    def keys(self) -> dict[str, Any]:
        """The parsed ``<state-dir>/keys.json`` (masterKey, functionKeys, systemKeys)."""
        path = self.state_dir / "keys.json"
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"cannot read funchost keys file {path}: {exc}\n{self.output()}") from exc

    @property
    def master_key(self) -> str:
        return str(self.keys["masterKey"])

    @property
    def function_key(self) -> str:
        return str(self.keys["functionKeys"]["default"])

    def start(self) -> FunchostProcess:
        """Start funchost and wait until it reports ``Running``."""
        command = [sys.executable, "-m", "funchost", "start", "--app", str(self.app_dir),
                   "--port", str(self.port), "--rpc-port", "0", "--state-dir", str(self.state_dir)]
        with self.log_path.open("ab") as out:
            out.write(f"--- {' '.join(command)}\n".encode())
            out.flush()
            self.process = subprocess.Popen(command, cwd=REPO_ROOT, env={"PYTHONUNBUFFERED": "1", **self.env},
                                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        try:
            self.wait_ready()
        except BaseException:
            self.kill()  # a host that never became ready must not linger
            raise
        return self

    def wait_ready(self) -> None:
        """Poll ``GET /admin/host/status`` until it answers 200 with ``{"state": "Running"}``."""
        deadline = time.monotonic() + self.ready_timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            assert self.process is not None
            code = self.process.poll()
            if code is not None:
                raise RuntimeError(f"funchost exited with code {code} before it was ready:\n{self.output()}")
            try:
                status = self._get_json("/admin/host/status")
                if status.get("state") == "Running":
                    return
                last = f"state {status.get('state')!r}"
            except (OSError, ValueError, RuntimeError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.1)
        raise RuntimeError(f"funchost was not ready within {self.ready_timeout:.0f} s ({last}):\n{self.output()}")

    def _get_json(self, path: str) -> dict[str, Any]:
        request = urllib.request.Request(self.base_url + path)
        if (self.state_dir / "keys.json").exists():  # absent while the host is still starting
            request.add_header("x-functions-key", self.master_key)
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return dict(json.loads(response.read() or b"{}"))
        except urllib.error.HTTPError as exc:
            exc.close()  # an unclosed error response is a ResourceWarning, an error under -W error
            raise

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL funchost and everything in its process group, like a crash; no clean shutdown."""
        if self.is_running():
            assert self.process is not None
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM funchost (graceful shutdown), then SIGKILL its group after ``timeout`` seconds."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
            # Whatever funchost left behind in its group (worker processes) goes too.
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait()
        return self.process.returncode

    def restart(self) -> FunchostProcess:
        """Stop funchost if it runs, then start it again with the same ports and state dir."""
        self.stop()
        return self.start()

    def output(self) -> str:
        """Everything funchost wrote to stdout and stderr so far, across restarts."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no output captured)"


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@pytest.fixture(name="free_port")
def free_port_fixture() -> Callable[[], int]:
    """``funchost.host.free_port``, as a fixture: ``free_port()`` is a port nothing listens on now."""
    return free_port


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteHandle]:
    """A real Azurite for the whole session (free ports, temp data dir), stopped at the end."""
    handle = start_azurite(tmp_path_factory.mktemp("azurite"))
    try:
        yield handle
    finally:
        handle.stop()


FunchostFactory = Callable[..., FunchostProcess]


@pytest.fixture(scope="session")
def funchost_process(azurite: AzuriteHandle, tmp_path_factory: pytest.TempPathFactory,
                     ) -> Iterator[FunchostFactory]:
    """Factory: ``funchost_process(app_dir, env=None, port=None, state_dir=None)`` → a running funchost.

    The process uses the session Azurite (``AzureWebJobsStorage``) plus ``env``; its state dir and
    output log live in a fresh temp dir unless ``state_dir`` is given. Session-scoped so that module
    fixtures can share one host: call ``.stop()`` to free it early; whatever still runs is stopped
    when the session ends.
    """
    started: list[FunchostProcess] = []

    def factory(app_dir: Path | str, env: dict[str, str] | None = None, port: int | None = None,
                state_dir: Path | None = None, ready_timeout: float = READY_TIMEOUT) -> FunchostProcess:
        work = tmp_path_factory.mktemp("funchost")
        full_env = {**os.environ, "AzureWebJobsStorage": azurite.connection_string, **(env or {})}
        proc = FunchostProcess(Path(app_dir).resolve(), state_dir or work / "state", work / "funchost.log",
                               full_env, port=port, ready_timeout=ready_timeout)
        started.append(proc)
        return proc.start()

    yield factory
    for proc in started:
        proc.stop()
