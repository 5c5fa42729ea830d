"""Start durableml on this machine, find it again later, and stop it: the one local starter.

``LocalDurableml(state_dir).start()`` runs ``python -m funchost start --app <the durableml Function App>
--port P --state-dir <state_dir>/funchost`` (funchost starts Azurite by itself for the loopback storage
account it is given, unless ``storage=`` names one), waits until ``GET /admin/host/status`` says
``Running`` (else raises :class:`LauncherError` with the end of funchost's output) and records what it
started in ``<state_dir>/launcher.json``, so that :func:`status` and :func:`stop` find it from another
process, also after the process that started it exited. The ``durableml`` CLI (``durableml up/down/
status``), the examples, the end-to-end tests and the pipeline benchmark all start durableml this way.

A state dir holds::

    launcher.json   what runs: funchost's pid and port, the Azurite funchost started (pid), config.json
    funchost/       funchost's --state-dir: keys.json, the Durable store, Azurite's data (azurite/)
    durableml/      DURABLEML_STATE_DIR: the local compute's jobs and workers
    funchost.log    funchost's output (appended to across starts)

The keys are funchost's (``funchost/keys.json``); :meth:`LocalDurableml.write_config` writes the
``config.json`` that ``Workspace.from_config()`` reads (endpoint + function key, file mode 0600).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from funchost import azurite
from funchost.azurite import signal_group
from funchost.keys import ensure_function_key

if TYPE_CHECKING:
    from funchost.process import FunchostProcess

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_STATE_DIR",
    "LauncherError",
    "LocalDurableml",
    "Status",
    "config_path",
    "function_app_dir",
    "log_tail",
    "read_record",
    "status",
    "stop",
    "write_config",
]

DEFAULT_STATE_DIR = Path(".durableml-local")
"""The CLI's state dir, relative to the current directory."""
DEFAULT_PORT = 7071
"""The CLI's port: the endpoint a Workspace without config.json talks to (``http://127.0.0.1:7071``)."""
READY_TIMEOUT = 90.0
RECORD = "launcher.json"
STEP_KEY = "durableml-steps"
"""The function key that step processes use to call the service (named by the DURABLEML_STEP_KEY setting)."""
LOG_TAIL_LINES = 40

_AZURITE_STARTED = re.compile(r"Azurite started \(pid (\d+)\)")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class LauncherError(RuntimeError):
    """durableml could not be started, found or stopped; the message says why and what to do."""


def function_app_dir() -> Path:
    """The folder of the durableml Function App (``function_app.py``, ``host.json`` and its blueprints).

    From a source checkout (also ``pip install -e``) that is the repository root, beside the package; from
    an installed wheel, the copy the wheel carries (``durableml/_functionapp``, see setup.py).
    """
    package = Path(__file__).resolve().parent
    for root in (package.parent, package / "_functionapp"):
        if (root / "function_app.py").is_file() and (root / "host.json").is_file():
            return root
    raise LauncherError(
        f"the durableml Function App was not found: there is no function_app.py and host.json in {package.parent} "
        f"(a source checkout) or in {package / '_functionapp'} (an installed wheel). Reinstall durableml "
        "(pip install durableml-<version>.whl, or pip install -e <checkout>)."
    )


@dataclass(frozen=True)
class Status:
    """What runs from a state dir: ``running`` with its endpoint, or why not (``message``)."""

    state_dir: Path
    running: bool
    message: str
    record: dict[str, Any] | None = None
    host_state: str | None = None

    @property
    def endpoint(self) -> str | None:
        return str(self.record["endpoint"]) if self.record else None


class LocalDurableml:
    """durableml on this machine: funchost on the durableml Function App, with its state in ``state_dir``.

    * ``port``: funchost's HTTP port (None: a free one);
    * ``storage``: an ``AzureWebJobsStorage`` connection string to use; None (the default): the environment's
      ``AzureWebJobsStorage`` if set, else a loopback Azurite account on free ports that funchost starts itself
      (with its data in ``<state_dir>/funchost/azurite``) and stops when it stops;
    * ``step_key``: provision the ``durableml-steps`` function key (DURABLEML_STEP_KEY) so that step processes
      can call the service (``Model.register``, ``Dataset.get_by_name``... inside a step);
    * ``env``: extra environment variables for funchost (on top of this process's environment);
    * ``accounts``: more storage account names for the Azurite funchost starts (its ``AzuriteAccounts`` setting;
      account X is ``http://127.0.0.1:<blob port>/X``, its key ``funchost.azurite.account_key(X)``), for
      datastores on other accounts. With ``storage=`` given, that Azurite must already serve them.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. ``host`` is the
    :class:`~funchost.process.FunchostProcess` (``kill()``, ``restart()``, ``output()``...).
    """

    def __init__(
        self,
        state_dir: Path | str,
        *,
        port: int | None = None,
        storage: str | None = None,
        step_key: bool = True,
        env: Mapping[str, str] | None = None,
        ready_timeout: float = READY_TIMEOUT,
        app_dir: Path | None = None,
        accounts: Sequence[str] = (),
    ) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.accounts = azurite.account_names(accounts)
        self.app_dir = app_dir or function_app_dir()
        self.storage = storage
        self.step_key_enabled = step_key
        self.extra_env = dict(env or {})
        self.step_key: str | None = None
        from funchost.process import FunchostProcess  # here: it imports the host (aiohttp...), which status() needs not

        self.host: FunchostProcess = FunchostProcess(
            self.app_dir,
            self.funchost_state,
            self.log_path,
            {},
            port=port or None,
            ready_timeout=ready_timeout,
            cwd=self.app_dir,
        )
        self.azurite_pid: int | None = None
        self.record: dict[str, Any] = {}

    # ---- where things are
    @property
    def funchost_state(self) -> Path:
        """funchost's ``--state-dir``: keys.json, the Durable store, Azurite's data when funchost started it."""
        return self.state_dir / "funchost"

    @property
    def durableml_state(self) -> Path:
        """The service's DURABLEML_STATE_DIR (local compute jobs and workers)."""
        return self.state_dir / "durableml"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "funchost.log"

    @property
    def keys_path(self) -> Path:
        return self.funchost_state / "keys.json"

    @property
    def port(self) -> int:
        return self.host.port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self.host.base_url

    @property
    def pid(self) -> int:
        return self.host.pid

    @property
    def function_key(self) -> str:
        """The ``default`` function key (what config.json carries)."""
        return self.host.function_key

    @property
    def master_key(self) -> str:
        return self.host.master_key

    # ---- start and stop
    def start(self) -> LocalDurableml:
        """Start funchost and wait until it runs; record it in ``launcher.json``. Raises :class:`LauncherError`."""
        self.check()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        _ignore_in_git(self.state_dir)
        env = {
            **os.environ,
            **self.extra_env,
            "DURABLEML_STATE_DIR": str(self.durableml_state),
            "PYTHONUNBUFFERED": "1",
        }
        if self.step_key_enabled:
            self.step_key = ensure_function_key(self.funchost_state, STEP_KEY)
            env["DURABLEML_STEP_KEY"] = self.step_key
        if self.storage:
            env["AzureWebJobsStorage"] = self.storage
        if self.accounts:
            env[azurite.ACCOUNTS_SETTING] = ",".join(self.accounts)
        from funchost.process import with_local_storage

        self.host.env = with_local_storage(env)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        try:
            self.host.start()
        except RuntimeError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise LauncherError(
                f"durableml did not start: {first.rstrip(':')}\n"
                f"--- last lines of funchost's output ({self.log_path}):\n{log_tail(self.log_path, offset)}"
            ) from exc
        self.azurite_pid = _azurite_pid(self.log_path, offset)
        self._write_record()
        return self

    def check(self) -> None:
        """Raise :class:`LauncherError` if this state dir's durableml already runs or the port is taken."""
        current = status(self.state_dir)
        if current.running:
            raise LauncherError(f"{current.message}; stop it first (durableml down --state-dir {self.state_dir})")
        _check_port_free(self.port)

    def _write_record(self) -> None:
        self.record = {
            "pid": self.pid,
            "port": self.port,
            "endpoint": self.base_url,
            "app_dir": str(self.app_dir),
            "funchost_state": str(self.funchost_state),
            "durableml_state": str(self.durableml_state),
            "log": str(self.log_path),
            "keys": str(self.keys_path),
            "azurite_pid": self.azurite_pid,
            "azurite_data": str(self.funchost_state / "azurite") if self.azurite_pid else None,
            "accounts": self.accounts,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "started_by": os.getpid(),
            "config": None,
        }
        _write_json(self.state_dir / RECORD, self.record)

    def note_config(self, path: Path) -> None:
        """Record where a config.json for this service was written (``durableml status`` shows it)."""
        self.record["config"] = str(Path(path).resolve())
        _write_json(self.state_dir / RECORD, self.record)

    def write_config(
        self, directory_or_file: Path | str, workspace_name: str = "durableml-local", resource_group: str = "durableml"
    ) -> Path:
        """Write the config.json for ``Workspace.from_config()`` (see :func:`write_config`); return its path."""
        return write_config(directory_or_file, self.base_url, self.function_key, workspace_name, resource_group)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop funchost (SIGTERM, then SIGKILL of its process group), its Azurite and the local-compute workers."""
        try:
            self.host.stop(timeout)
        finally:
            if self.azurite_pid is not None:
                _terminate(self.azurite_pid, str(self.funchost_state / "azurite"), 10.0)
            _shutdown_workers(self.durableml_state)
            recorded = (read_record(self.state_dir) or {}).get("pid")
            if recorded is not None and recorded == self.record.get("pid"):  # not a record of a later start
                with contextlib.suppress(FileNotFoundError):
                    (self.state_dir / RECORD).unlink()

    def stopped_elsewhere(self) -> bool:
        """Whether another process stopped (or is stopping) this durableml with :func:`stop`."""
        record = read_record(self.state_dir)
        return record is None or record.get("pid") != self.record.get("pid") or bool(record.get("stopping"))

    def __enter__(self) -> LocalDurableml:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def write_config(
    directory_or_file: Path | str,
    endpoint: str,
    key: str,
    workspace_name: str = "durableml-local",
    resource_group: str = "durableml",
) -> Path:
    """Write ``config.json`` (subscription, resource group, workspace name, endpoint, function key), mode 0600.

    ``directory_or_file``: a directory (the file is ``config.json`` in it) or a ``.json`` file path; see
    :func:`config_path` for which existing files it replaces.
    """
    path = config_path(directory_or_file)
    config = {
        "subscription_id": "00000000-0000-0000-0000-000000000000",
        "resource_group": resource_group,
        "workspace_name": workspace_name,
        "endpoint": endpoint,
        "key": key,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_json(path, config, mode=0o600)
    return path


def config_path(directory_or_file: Path | str) -> Path:
    """Where :func:`write_config` writes for ``directory_or_file`` (a directory, or a ``.json`` file path).

    Raises :class:`LauncherError` when a file there must not be replaced: only a config.json of a local
    durableml (a loopback ``endpoint``) is; an Azure ML config.json, or one naming a durableml elsewhere, is not.
    """
    path = Path(directory_or_file)
    if path.suffix != ".json":
        path = path / "config.json"
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
            host = urlsplit(str(old.get("endpoint") or "")).hostname
        except (OSError, ValueError, AttributeError):
            host = None
        if host not in _LOOPBACK:
            raise LauncherError(
                f"{path} exists and is not the config.json of a local durableml (its endpoint is not on this "
                "machine), so it was left as it is; write the config elsewhere (durableml up --config PATH)"
            )
    return path


# ---- finding and stopping what a state dir recorded
def read_record(state_dir: Path | str) -> dict[str, Any] | None:
    """The parsed ``launcher.json`` of a state dir, or None when there is none (or it is unreadable)."""
    try:
        value = json.loads((Path(state_dir) / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def status(state_dir: Path | str) -> Status:
    """Whether the durableml recorded in ``state_dir`` runs, and what ``/admin/host/status`` says."""
    state = Path(state_dir).resolve()
    record = read_record(state)
    if record is None:
        return Status(state, False, f"durableml is not running (nothing was started from {state})")
    pid, endpoint = int(record["pid"]), str(record["endpoint"])
    if not _is_process(pid, str(record.get("funchost_state") or "funchost")):
        return Status(state, False, f"durableml is not running (funchost, pid {pid}, is gone)", record)
    host_state = _host_state(endpoint)
    if host_state is None:
        return Status(state, True, f"durableml runs (pid {pid}) but {endpoint} does not answer", record, None)
    return Status(state, True, f"durableml is running at {endpoint} (pid {pid})", record, host_state)


def stop(state_dir: Path | str, timeout: float = 15.0) -> Status:
    """Stop the durableml recorded in ``state_dir`` (funchost, its Azurite, the local-compute workers).

    Works from any process (the one that started it may be gone). Returns the status it had; raises
    :class:`LauncherError` when nothing recorded there runs (a stale record is removed).
    """
    found = status(state_dir)
    record = found.record
    if record is not None:
        if found.running:
            _write_json(found.state_dir / RECORD, {**record, "stopping": os.getpid()})  # see stopped_elsewhere
            _terminate(int(record["pid"]), str(record.get("funchost_state") or "funchost"), timeout)
        if record.get("azurite_pid"):
            _terminate(int(record["azurite_pid"]), str(record.get("azurite_data") or "azurite"), 10.0)
        if record.get("durableml_state"):
            _shutdown_workers(Path(record["durableml_state"]))
        with contextlib.suppress(FileNotFoundError):
            (found.state_dir / RECORD).unlink()
    if not found.running:
        raise LauncherError(found.message)
    return found


def log_tail(path: Path, offset: int = 0, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a log from byte ``offset`` (what one start wrote)."""
    return azurite.log_tail(path, offset, lines)


# ---- helpers
def _check_port_free(port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed connection's TIME_WAIT is no owner
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise LauncherError(
                f"port {port} on 127.0.0.1 is in use ({exc.strerror or exc}): another durableml or another "
                "program listens there. Choose another port (--port N, 0 for any free one)."
            ) from exc


def _ignore_in_git(state_dir: Path) -> None:
    """A ``.gitignore`` of ``*`` in the state dir, so that it never shows up in ``git status``."""
    ignore = state_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# created by durableml: local state (keys, stores, logs)\n*\n", encoding="utf-8")


def _write_json(path: Path, value: Any, mode: int = 0o644) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=2)
        handle.write("\n")
    os.chmod(partial, mode)
    os.replace(partial, path)


def _azurite_pid(log_path: Path, offset: int) -> int | None:
    """The pid of the Azurite that funchost started during this start (from its log line), if it started one."""
    try:
        with log_path.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return None
    found = _AZURITE_STARTED.findall(text)
    return int(found[-1]) if found else None


def _host_state(endpoint: str) -> str | None:
    try:
        with urllib.request.urlopen(f"{endpoint}/admin/host/status", timeout=3) as response:
            return str(json.loads(response.read() or b"{}").get("state"))
    except urllib.error.HTTPError as exc:
        exc.close()
        return f"HTTP {exc.code}"
    except (OSError, ValueError):
        return None


def _is_process(pid: int, marker: str) -> bool:
    """Whether ``pid`` is a live (not zombie) process whose command line mentions ``marker``.

    The marker (a state dir path) guards against a pid that was reused by an unrelated process. Where
    there is no ``/proc``, a live pid is taken as it.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # not ours
    proc = Path(f"/proc/{pid}")
    if not proc.is_dir():
        return True
    try:
        stat = (proc / "stat").read_text(encoding="ascii", errors="replace")
        cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z" and marker in cmdline


def _terminate(pid: int, marker: str, timeout: float) -> None:
    """SIGTERM the process (a group leader), wait up to ``timeout`` s, then SIGKILL whatever is left in its group."""
    if not _is_process(pid, marker):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _is_process(pid, marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while _is_process(pid, marker) and time.monotonic() < deadline:
        time.sleep(0.05)


def _shutdown_workers(durableml_state: Path) -> None:
    """Stop the state's detached local-compute workers (they do not stop with funchost yet)."""
    from durableml.compute.local import shutdown_workers

    shutdown_workers(durableml_state)
