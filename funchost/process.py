"""Running funchost as a child process: start it, wait until it is ready, read its keys, stop or kill it.

Tests, benchmarks and example runners all start funchost this way (``python -m funchost start`` with
``sys.executable``), so they share this one class. The child runs in its own process group, so that
stopping it also reaches anything it started in that group.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from funchost.azurite import signal_group
from funchost.ports import free_port

READY_TIMEOUT = 30.0


class FunchostProcess:
    """One ``python -m funchost start`` process, its ports, state dir and captured output.

    The process runs in its own process group, so that stopping it also reaches anything it started.
    """

    def __init__(
        self,
        app_dir: Path,
        state_dir: Path,
        log_path: Path,
        env: dict[str, str],
        port: int | None = None,
        ready_timeout: float = READY_TIMEOUT,
        cwd: Path | None = None,
        python: Path | str | None = None,
    ) -> None:
        self.app_dir = app_dir
        self.python = str(python or sys.executable)  # the interpreter funchost runs with
        self.cwd = cwd or app_dir
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
        command = [
            self.python,
            "-m",
            "funchost",
            "start",
            "--app",
            str(self.app_dir),
            "--port",
            str(self.port),
            "--rpc-port",
            "0",
            "--state-dir",
            str(self.state_dir),
        ]
        with self.log_path.open("ab") as out:
            out.write(f"--- {' '.join(command)}\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                command,
                cwd=self.cwd,
                env={"PYTHONUNBUFFERED": "1", **self.env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
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
            time.sleep(0.02)
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
            signal_group(self.process.pid, signal.SIGKILL)
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
            signal_group(self.process.pid, signal.SIGKILL)
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


def with_local_storage(env: dict[str, str]) -> dict[str, str]:
    """``env`` plus an ``AzureWebJobsStorage`` for a private Azurite on three free ports, unless it has one.

    funchost starts Azurite itself for such a loopback connection (with its data in the state dir).
    """
    from funchost.config import storage_configured

    if storage_configured(env):  # a connection string, or identity-based AzureWebJobsStorage__* settings
        return env
    from funchost.azurite import connection_string

    ports: set[int] = set()
    while len(ports) < 3:  # three distinct ports: Azurite fails if two services share one
        ports.add(free_port())
    blob, queue, table = sorted(ports)
    return {**env, "AzureWebJobsStorage": connection_string(blob, queue, table)}
