"""Starting and stopping Azurite, the Azure Storage emulator, for funchost and the tests.

funchost needs a storage account (blobs, queues, tables). Locally that is Azurite, installed by
``npm install`` into the project's ``node_modules``. Two entry points:

* :func:`ensure_azurite`: if something already listens on the blob port it is used as is (``None`` is
  returned); otherwise Azurite is started on the given ports. ``funchost start`` calls its first half,
  :func:`begin_azurite`, and waits for the :class:`StartingAzurite` it returns only after loading the app, so
  that Node starts Azurite while Python imports the app.
* :func:`start_azurite` starts a private Azurite, by default on ports the OS picks, and is what tests use.

Both return an :class:`AzuriteHandle`; ``handle.stop()`` terminates Azurite's whole process group.

**More storage accounts.** Azurite serves ``devstoreaccount1`` and, through its ``AZURITE_ACCOUNTS``
variable, any other accounts, each at its own path: account X is ``http://127.0.0.1:<blob port>/X``
(path-style). Both entry points take ``accounts`` (names); :func:`ensure_azurite` also reads the app setting
``AzuriteAccounts`` (``"acct2,publicdata"``, from local.settings.json Values or the environment). Each
extra account's key is :func:`account_key` (derived from its name, like the emulator's well-known key: local
emulator keys are not secrets to the machine's user; ``account_connection_string`` gives a full connection
string). The keys go only into Azurite's own environment, never into the host's (which step processes
inherit); ``devstoreaccount1`` is always kept.
Azurite also stops by itself when the process that started it dies (even by ``kill -9``): a small
watchdog preloaded into Node checks its parent every second. Its data stays in ``data_dir``, so a
restarted Azurite on the same directory sees the same blobs, queues and tables.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence, Union

from funchost.config import parse_connection_string
from funchost.errors import ConfigError, StorageError

ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
DEFAULT_PORTS = (10000, 10001, 10002)
ACCOUNTS_SETTING = "AzuriteAccounts"
"""App setting naming Azurite's extra storage accounts (comma or semicolon separated)."""
_ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")
SERVICES = ("blob", "queue", "table")
LOG_FILE = "azurite.log"
PID_FILE = ".funchost-azurite.pid"
"""In Azurite's data dir: ``<Azurite's pid> <funchost's pid>`` of the last Azurite funchost started there."""
ORPHAN_WAIT_S = 15.0
REPO_ROOT = Path(__file__).resolve().parent.parent
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})

Endpoint = tuple[str, int]
Log = Union[logging.Logger, Callable[[str], object], None]

_LISTENING = re.compile(r"Azurite (Blob|Queue|Table) service is successfully listening at \w+://(.+):(\d+)")
# Preloaded into Node with --require: when the parent process goes away (crash, kill -9), ask Azurite
# to shut down as on Ctrl-C, and exit hard if that takes too long. Without it Azurite would be orphaned
# and keep its ports.
_WATCHDOG_JS = """\
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) {
    setTimeout(() => process.exit(0), 5000).unref();
    process.kill(process.pid, "SIGTERM");
  }
}, 1000).unref();
"""


@dataclass
class AzuriteHandle:
    """A running Azurite started by this module.

    ``endpoints`` are the (host, port) pairs of the blob, queue and table services, with the ports
    Azurite actually bound (useful when port 0 was asked for).
    """

    process: subprocess.Popen[bytes]
    endpoints: list[Endpoint]
    data_dir: Path
    log_path: Path
    accounts: list[str] = field(default_factory=list)
    """The storage accounts it serves besides ``devstoreaccount1``."""
    script: Path | None = None
    """Azurite's entry script it was started from (what :func:`relaunch` starts again)."""
    extra_args: list[str] = field(default_factory=list)
    """The extra Azurite options it was started with."""

    def account_connection_string(self, account: str) -> str:
        """The connection string of one of its accounts (blob, queue and table endpoints)."""
        return account_connection_string(account, self.blob_port, self.queue_port, self.table_port)

    @property
    def pid(self) -> int:
        """Process id of the Node process running Azurite (also its process group id)."""
        return self.process.pid

    @property
    def blob_port(self) -> int:
        return self.endpoints[0][1]

    @property
    def queue_port(self) -> int:
        return self.endpoints[1][1]

    @property
    def table_port(self) -> int:
        return self.endpoints[2][1]

    @property
    def connection_string(self) -> str:
        """A full connection string for this Azurite (the well-known devstoreaccount1 key)."""
        return connection_string(self.blob_port, self.queue_port, self.table_port)

    def is_running(self) -> bool:
        """True while the Azurite process has not exited."""
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """Terminate Azurite's process group (SIGTERM, then SIGKILL after ``timeout`` seconds).

        Returns Azurite's exit code. Calling it again, or after Azurite died, is harmless.
        """
        if self.process.poll() is None:
            signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> AzuriteHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def connection_string(blob_port: int, queue_port: int, table_port: int, host: str = "127.0.0.1") -> str:
    """The connection string of an Azurite account on ``host`` with the given service ports."""
    return account_connection_string(ACCOUNT_NAME, blob_port, queue_port, table_port, host)


def account_connection_string(
    account: str, blob_port: int, queue_port: int | None = None, table_port: int | None = None, host: str = "127.0.0.1"
) -> str:
    """The connection string of Azurite account ``account`` (its key is :func:`account_key`)."""
    text = (
        f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={account_key(account)};"
        f"BlobEndpoint=http://{host}:{blob_port}/{account};"
    )
    if queue_port is not None:
        text += f"QueueEndpoint=http://{host}:{queue_port}/{account};"
    if table_port is not None:
        text += f"TableEndpoint=http://{host}:{table_port}/{account};"
    return text


def account_key(account: str) -> str:
    """The key of Azurite account ``account``: the well-known one for ``devstoreaccount1``, else 64 bytes derived
    from the name (base64, as Azure's keys are), the same on every start and every machine."""
    if account == ACCOUNT_NAME:
        return ACCOUNT_KEY
    return base64.b64encode(hashlib.sha512(f"funchost-azurite-account:{account}".encode()).digest()).decode()


def account_names(value: str | Iterable[str] | None) -> list[str]:
    """Extra account names from a setting (``"a,b"`` or ``"a;b"``) or a list; checked, without duplicates and
    without ``devstoreaccount1`` (always there). Raises :class:`ConfigError` naming a bad name."""
    if value is None:
        return []
    items = re.split(r"[,;\s]+", value) if isinstance(value, str) else list(value)
    names: list[str] = []
    for item in (i.strip() for i in items):
        if not item or item == ACCOUNT_NAME or item in names:
            continue
        if ":" in item:
            raise ConfigError(
                f'Azurite account {item.split(":")[0]!r}: give account names only ({ACCOUNTS_SETTING}="acct2,data"); '
                "their keys are derived from the names (funchost.azurite.account_key), so none travels in a setting"
            )
        if not _ACCOUNT_NAME.match(item):
            raise ConfigError(f"{item!r} is not a valid storage account name: use 3-24 lowercase letters and digits")
        names.append(item)
    return names


def azurite_accounts_env(accounts: Iterable[str]) -> str:
    """The ``AZURITE_ACCOUNTS`` value for ``devstoreaccount1`` plus ``accounts`` (Azurite replaces its default
    account by this list, so the default account is always in it)."""
    return ";".join(f"{name}:{account_key(name)}" for name in [ACCOUNT_NAME, *account_names(accounts)])


def local_endpoints(conn_str: str) -> list[Endpoint] | None:
    """The blob, queue and table (host, port) of a connection string that names a local emulator.

    ``UseDevelopmentStorage=true`` means Azurite's default ports 10000-10002 on 127.0.0.1. A string with
    explicit ``BlobEndpoint``/``QueueEndpoint``/``TableEndpoint`` on loopback hosts gives those. Anything
    else (a real storage account, an identity-based connection) returns ``None``: not ours to start.
    """
    try:
        parts = parse_connection_string(conn_str)
    except ConfigError:
        return None
    if parts.get("usedevelopmentstorage", "").lower() == "true":
        return [("127.0.0.1", port) for port in DEFAULT_PORTS]
    endpoints: list[Endpoint] = []
    for service, default_port in zip(SERVICES, DEFAULT_PORTS, strict=True):
        url = parts.get(f"{service}endpoint")
        if not url:
            return None
        match = re.match(r"^\w+://(\[[^\]]+\]|[^:/]+)(?::(\d+))?", url)
        if not match or match.group(1).lower() not in LOOPBACK_HOSTS:
            return None
        endpoints.append((match.group(1).strip("[]"), int(match.group(2) or default_port)))
    return endpoints


def find_azurite(start_dirs: Iterable[Path]) -> Path:
    """Azurite's entry script, from the first ``node_modules`` found walking up from ``start_dirs``.

    Raises :class:`ConfigError` (saying how to install it) when no directory has it.
    """
    searched: list[str] = []
    for start in start_dirs:
        for directory in (start.resolve(), *start.resolve().parents):
            script = _azurite_script(directory / "node_modules")
            if script is not None:
                return script
        searched.append(str(start))
    raise ConfigError(
        "Azurite is not installed: no node_modules/.bin/azurite in or above "
        f"{', '.join(searched) or 'any directory'}. Run `npm install` in {REPO_ROOT} "
        "(or `bash scripts/setup.sh`, which also sets up the Python venv), or point AzureWebJobsStorage "
        "at a storage account that is already running."
    )


def ensure_azurite(
    endpoints: Sequence[Endpoint],
    data_dir: Path,
    log: Log = None,
    *,
    app_dir: Path | None = None,
    timeout: float = 60.0,
    accounts: Iterable[str] | None = None,
) -> AzuriteHandle | None:
    """Make sure a storage emulator answers at ``endpoints`` (blob, queue, table as (host, port)).

    ``accounts``: extra storage accounts for an Azurite started here (None: the ``AzuriteAccounts`` setting).

    If something already listens on the blob port it is assumed to be Azurite and ``None`` is returned
    (funchost did not start it, so it must not stop it). Otherwise Azurite is started from the project's
    ``node_modules`` (searched above ``app_dir``, the current directory and the funchost checkout) with its
    data in ``data_dir``, and its handle returned once all three ports answer.
    """
    starting = begin_azurite(endpoints, data_dir, log, app_dir=app_dir, timeout=timeout, accounts=accounts)
    return starting.wait() if starting is not None else None


@dataclass
class StartingAzurite:
    """An Azurite whose process runs but that may not listen yet: :meth:`wait` until it does (or :meth:`stop` it)."""

    handle: AzuriteHandle
    offset: int
    log: Log
    timeout: float

    def wait(self) -> AzuriteHandle:
        """The handle once all three services answer; raises :class:`StorageError` (and stops it) if they do not."""
        return _finish_launch(self.handle, self.offset, self.log, self.timeout)

    def stop(self) -> None:
        self.handle.stop()


def begin_azurite(
    endpoints: Sequence[Endpoint],
    data_dir: Path,
    log: Log = None,
    *,
    app_dir: Path | None = None,
    timeout: float = 60.0,
    accounts: Iterable[str] | None = None,
) -> StartingAzurite | None:
    """:func:`ensure_azurite` without the wait: start Azurite's process and return at once, so that the caller
    can do its own start-up (funchost loads the app) while Node starts; None if something already listens."""
    if len(endpoints) != 3:
        raise ConfigError(f"ensure_azurite needs blob, queue and table endpoints, got {list(endpoints)!r}")
    blob_host, blob_port = endpoints[0]
    _wait_for_orphan(endpoints, data_dir, log)
    if _port_answers(blob_host, blob_port):
        _emit(log, f"storage emulator already listening at {blob_host}:{blob_port}; using it")
        return None
    for host, port in endpoints:
        if host.lower() not in LOOPBACK_HOSTS:
            raise ConfigError(
                f"cannot start Azurite for {host}:{port}: only loopback endpoints are local; "
                "start that storage account yourself or use UseDevelopmentStorage=true"
            )
    names = account_names(os.environ.get(ACCOUNTS_SETTING) if accounts is None else accounts)
    dirs = [d for d in (app_dir, Path.cwd(), REPO_ROOT) if d is not None]
    handle, offset = _spawn(find_azurite(dirs), [port for _, port in endpoints], data_dir, names)
    return StartingAzurite(handle, offset, log, timeout)


def _wait_for_orphan(endpoints: Sequence[Endpoint], data_dir: Path, log: Log) -> None:
    """Stop an Azurite that a previous funchost started on ``data_dir`` and that outlived it (funchost was
    SIGKILLed; its watchdog would stop it within about 6 s). A funchost restarted at once would otherwise find its
    ports answering, use it as someone else's Azurite, and be left without storage (and unsupervised) when it exits
    a moment later. SIGTERM makes it save its databases and exit now; SIGKILL after ``ORPHAN_WAIT_S``."""
    try:
        pid, parent = (int(n) for n in (data_dir / PID_FILE).read_text(encoding="utf-8").split())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except (OSError, ValueError):
        return  # none recorded, or it is gone
    state, ppid = stat.rsplit(")", 1)[1].split()[:2]
    if state == "Z" or int(ppid) == parent or str(data_dir.resolve()).encode() not in cmdline:
        return  # gone, still its funchost's, or the pid was reused
    _emit(log, f"Azurite (pid {pid}) outlived the funchost that started it (pid {parent}); stopping it")
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)  # Azurite saves its metadata on SIGTERM, then exits
    deadline = time.monotonic() + ORPHAN_WAIT_S
    while any(_port_answers(host, port) for host, port in endpoints):
        if time.monotonic() >= deadline:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.05)


def start_azurite(
    data_dir: Path,
    blob_port: int = 0,
    queue_port: int = 0,
    table_port: int = 0,
    *,
    log: Log = None,
    timeout: float = 60.0,
    accounts: Iterable[str] = (),
    extra_args: Sequence[str] = (),
) -> AzuriteHandle:
    """Start a private Azurite with its data in ``data_dir``; port 0 lets the OS pick a free port.

    ``accounts``: storage accounts it serves besides ``devstoreaccount1`` (see :func:`account_key`).
    ``extra_args``: more Azurite options, e.g. ``["--oauth", "basic", "--cert", PEM, "--key", KEY]`` for HTTPS
    with bearer tokens (then the connection string's ``http`` endpoints are ``https`` ones).
    The returned handle knows the ports actually bound and offers ``.connection_string``.
    """
    script = find_azurite([Path.cwd(), REPO_ROOT])
    ports = [blob_port, queue_port, table_port]
    return _launch(script, ports, data_dir, log, timeout, account_names(accounts), list(extra_args))


def relaunch(handle: AzuriteHandle, log: Log = None, timeout: float = 60.0) -> AzuriteHandle:
    """Start Azurite again as ``handle`` was started: the same entry script, the ports it had bound, the same data
    directory, accounts and options (what :class:`funchost.supervisor.AzuriteSupervisor` does after it died).

    ``handle``'s process must have exited (its ports are free again). Raises :class:`StorageError` if the new
    Azurite does not become ready (a port taken meanwhile, a broken data directory...).
    """
    if handle.is_running():
        raise StorageError(f"Azurite (pid {handle.pid}) is still running; stop it before starting it again")
    if handle.script is None or len(handle.endpoints) != 3:
        raise StorageError("this Azurite handle does not say how it was started (no script or ports); cannot restart")
    ports = [port for _, port in handle.endpoints]
    return _launch(handle.script, ports, handle.data_dir, log, timeout, handle.accounts, handle.extra_args)


def _launch(
    script: Path,
    ports: list[int],
    data_dir: Path,
    log: Log,
    timeout: float,
    accounts: Sequence[str] = (),
    extra_args: Sequence[str] = (),
) -> AzuriteHandle:
    handle, offset = _spawn(script, ports, data_dir, accounts, extra_args)
    return _finish_launch(handle, offset, log, timeout)


def _spawn(
    script: Path, ports: list[int], data_dir: Path, accounts: Sequence[str] = (), extra_args: Sequence[str] = ()
) -> tuple[AzuriteHandle, int]:
    """Start Azurite's process; its handle (no endpoints yet) and the log offset its lines start at."""
    node = shutil.which("node")
    if node is None:
        raise ConfigError(
            "Node.js is not on PATH (`node` not found); Azurite needs Node 18 or newer. "
            "Install Node.js, then run `npm install` (or `bash scripts/setup.sh`)."
        )
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    watchdog = data_dir / ".funchost-azurite-watchdog.js"
    watchdog.write_text(_WATCHDOG_JS, encoding="utf-8")
    log_path = data_dir / LOG_FILE
    command = [
        node,
        "--require",
        str(watchdog),
        str(script),
        "--skipApiVersionCheck",
        "--disableTelemetry",
        "--silent",
        "--location",
        str(data_dir),
        *extra_args,
    ]
    for service, port in zip(SERVICES, ports, strict=True):
        command += [f"--{service}Host", "127.0.0.1", f"--{service}Port", str(port)]
    with log_path.open("ab") as out:
        offset = out.tell()  # parse only this run's lines: the log is appended to across restarts
        out.write(f"--- funchost starting Azurite: {' '.join(command)}\n".encode())
        out.flush()
        env = dict(os.environ)
        if accounts:  # else Azurite's own AZURITE_ACCOUNTS, if someone set it, stays as it is
            env["AZURITE_ACCOUNTS"] = azurite_accounts_env(accounts)
        process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=data_dir,
            start_new_session=True,
        )
    (data_dir / PID_FILE).write_text(f"{process.pid} {os.getpid()}\n", encoding="utf-8")
    return AzuriteHandle(process, [], data_dir, log_path, list(accounts), script, list(extra_args)), offset


def _finish_launch(handle: AzuriteHandle, offset: int, log: Log, timeout: float) -> AzuriteHandle:
    """Wait for a spawned Azurite to listen (stopping it if it does not), log it and return its handle."""
    try:
        handle.endpoints = _wait_ready(handle, offset, timeout)
    except BaseException:
        handle.stop()
        raise
    _emit(
        log,
        f"Azurite started (pid {handle.pid}): blob {handle.blob_port}, queue {handle.queue_port}, "
        f"table {handle.table_port}; data in {handle.data_dir}, log {handle.log_path}"
        + (f"; accounts {', '.join([ACCOUNT_NAME, *handle.accounts])}" if handle.accounts else ""),
    )
    return handle


def _wait_ready(handle: AzuriteHandle, offset: int, timeout: float) -> list[Endpoint]:
    """Wait for Azurite to report all three services listening, and check that they answer."""
    deadline = time.monotonic() + timeout
    while True:
        listening = _listening_from_log(handle.log_path, offset)
        if len(listening) == 3:
            endpoints = [listening[s] for s in SERVICES]
            if all(_port_answers(host, port) for host, port in endpoints):
                return endpoints
        code = handle.process.poll()
        if code is not None:
            raise StorageError(
                f"Azurite exited with code {code} before it was ready "
                f"(a port in use, or a bad data dir?).{_log_tail(handle.log_path, offset)}"
            )
        if time.monotonic() > deadline:
            raise StorageError(
                f"Azurite did not start listening within {timeout:.0f} s.{_log_tail(handle.log_path, offset)}"
            )
        time.sleep(0.05)


def _listening_from_log(log_path: Path, offset: int) -> dict[str, Endpoint]:
    with log_path.open("rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", "replace")
    return {m.group(1).lower(): (m.group(2), int(m.group(3))) for m in _LISTENING.finditer(text)}


def log_tail(path: Path, offset: int = 0, lines: int = 30) -> str:
    """The last ``lines`` lines of a log from byte ``offset`` (what one start of a process wrote)."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(text.rstrip().splitlines()[-lines:]) or "(no output)"


def _log_tail(log_path: Path, offset: int, lines: int = 30) -> str:
    return f"\nLast lines of {log_path}:\n{log_tail(log_path, offset, lines)}"


def _port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host.strip("[]"), port), timeout=0.5):
            return True
    except OSError:
        return False


def _azurite_script(node_modules: Path) -> Path | None:
    """The JS entry point behind ``node_modules/.bin/azurite`` (run with ``node`` to avoid the shebang)."""
    launcher = node_modules / ".bin" / "azurite"
    if not launcher.exists():
        return None
    script = node_modules / "azurite" / "dist" / "src" / "azurite.js"
    return script if script.is_file() else launcher.resolve()


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to a process group; a group that is already gone is fine."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _emit(log: Log, message: str) -> None:
    if log is None:
        return
    if isinstance(log, logging.Logger):
        log.info(message)
    else:
        log(message)
