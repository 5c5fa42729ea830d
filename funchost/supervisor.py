"""Supervising the Azurite funchost started: notice that it died or stopped answering, start it again.

:class:`AzuriteSupervisor` watches the Azurite process :func:`funchost.azurite.ensure_azurite` started:

* **process watch**: every ``poll`` seconds (and on every :meth:`~AzuriteSupervisor.unavailable` call, which
  the HTTP front door makes for each request) it asks whether the process has exited;
* **health probe**: every ``probe_every`` seconds an HTTP request to each of its three ports (any answer will do,
  within ``probe_timeout`` seconds); ``probe_failures`` failures in a row while the process lives mean it hangs,
  and it is killed (its whole process group) before it is started again.

Then it is started again by :func:`funchost.azurite.relaunch`: the same ports, the same data directory, the same
accounts and options, so every connection string the host and its step processes hold stays valid. The first
attempt is immediate, the next ones wait 1, 2, 4... seconds (at most ``backoff_cap``); after ``max_attempts``
attempts without ``stable_after`` seconds of uptime in between it gives up (a crash loop: a port taken by someone
else, a broken data directory) and the host stays Degraded until it is restarted.

While Azurite is down the host's ``/admin/host/status`` says ``Degraded`` with the reason, and HTTP-triggered
functions answer 503 ``StorageUnavailable`` at once (:meth:`~AzuriteSupervisor.unavailable`) instead of a 500
after the storage SDK's retries. The log says why (pid, exit code or signal, attempt), never a key.

An Azurite that funchost did not start (something already listened on the blob port) is not supervised:
funchost cannot know how it was started, so it neither stops nor restarts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import ssl
import time
from typing import Any, Optional

from funchost import azurite
from funchost.azurite import AzuriteHandle
from funchost.errors import StorageError

MAX_ATTEMPTS_SETTING = "FUNCHOST_AZURITE_MAX_RESTARTS"
DEFAULT_MAX_ATTEMPTS = 8


def describe_exit(code: int) -> str:
    """``exited with code 1`` or ``was killed by SIGKILL`` (a Popen return code)."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with code {code}"


def max_attempts_setting() -> int:
    """``FUNCHOST_AZURITE_MAX_RESTARTS`` (restart attempts before giving up; 0 turns restarting off)."""
    raw = os.environ.get(MAX_ATTEMPTS_SETTING, "")
    if not raw.strip():
        return DEFAULT_MAX_ATTEMPTS
    try:
        value = int(raw)
    except ValueError:
        raise StorageError(f"{MAX_ATTEMPTS_SETTING}={raw!r} is not a whole number of restart attempts") from None
    if not 0 <= value <= 1000:
        raise StorageError(f"{MAX_ATTEMPTS_SETTING}={value} is out of range: use 0 (no restarts) to 1000")
    return value


class AzuriteSupervisor:
    """Watches the Azurite funchost started and restarts it when it dies or hangs (see the module docs)."""

    def __init__(
        self,
        handle: AzuriteHandle,
        log: logging.Logger,
        *,
        poll: float = 0.25,
        probe_every: float = 2.0,
        probe_timeout: float = 5.0,
        probe_failures: int = 3,
        max_attempts: Optional[int] = None,
        backoff_cap: float = 30.0,
        stable_after: float = 60.0,
        ready_timeout: float = 60.0,
    ) -> None:
        self.handle = handle
        self.log = log
        self.poll = poll
        self.probe_every = probe_every
        self.probe_timeout = probe_timeout
        self.probe_failures = probe_failures
        self.max_attempts = max_attempts_setting() if max_attempts is None else max_attempts
        self.backoff_cap = backoff_cap
        self.stable_after = stable_after
        self.ready_timeout = ready_timeout
        self.state = "Running"
        self.reason: Optional[str] = None
        self.attempts = 0  # restart attempts since Azurite last stayed up for stable_after seconds
        self.restarts = 0  # successful restarts since funchost started
        self.gave_up = False
        self.down_since: Optional[float] = None
        self.up_since = time.monotonic()
        self._task: Optional[asyncio.Task[None]] = None
        self._pending: Optional[asyncio.Future[AzuriteHandle]] = None

    # ------------------------------------------------------------------ what the host asks
    def unavailable(self) -> Optional[str]:
        """None while storage is up, else the message a request answered 503 carries."""
        if self.state == "Running":
            code = self.handle.process.poll()
            if code is None:
                return None
            # died since the last poll: say so now rather than let this request wait in the storage SDK's retries
            return f"storage unavailable, restarting: Azurite (pid {self.handle.pid}) {describe_exit(code)}"
        if self.gave_up:
            return f"storage unavailable: {self.reason}"
        return f"storage unavailable, restarting: {self.reason}"

    def status(self) -> dict[str, Any]:
        """The ``storage`` part of ``/admin/host/status``."""
        down = self.unavailable()
        body: dict[str, Any] = {
            "supervised": True,
            "state": "Running" if down is None else "Down",
            "pid": self.handle.pid,
            "ports": {name: port for name, (_, port) in zip(azurite.SERVICES, self.handle.endpoints, strict=True)},
            "dataDir": str(self.handle.data_dir),
            "restarts": self.restarts,
            "restartAttempts": self.attempts,
            "maxRestartAttempts": self.max_attempts,
            "gaveUp": self.gave_up,
        }
        if down is not None:
            body["reason"] = down
        return body

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start watching (in the running event loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch(), name="azurite-supervisor")

    async def stop(self) -> None:
        """Stop watching, then stop Azurite (also one a restart was starting right then)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._pending is not None:
            with contextlib.suppress(Exception):
                self.handle = await self._pending
            self._pending = None
        await asyncio.to_thread(self.handle.stop)

    # ------------------------------------------------------------------ the watch
    async def _watch(self) -> None:
        failures = 0
        next_probe = time.monotonic() + self.probe_every
        while True:
            await asyncio.sleep(self.poll)
            now = time.monotonic()
            if self.attempts and now - self.up_since >= self.stable_after:
                self.attempts = 0  # it stayed up: a later death starts a fresh series of attempts
            code = self.handle.process.poll()
            if code is not None:
                if not await self._recover(f"Azurite (pid {self.handle.pid}) {describe_exit(code)}"):
                    return
                failures, next_probe = 0, time.monotonic() + self.probe_every
                continue
            if now < next_probe:
                continue
            next_probe = now + self.probe_every
            silent = await self._probe()
            failures = failures + 1 if silent else 0
            if failures < self.probe_failures:
                continue
            reason = f"Azurite (pid {self.handle.pid}) did not answer on {silent} {failures} times in a row; killed it"
            self.log.warning("storage: %s", reason)
            azurite.signal_group(self.handle.pid, signal.SIGKILL)
            await asyncio.to_thread(self.handle.process.wait)
            if not await self._recover(reason):
                return
            failures, next_probe = 0, time.monotonic() + self.probe_every

    async def _probe(self) -> Optional[str]:
        """None if every service answers an HTTP request (any status), else the first ``host:port`` that does not.

        An HTTP answer, not just a TCP connect: the kernel accepts connections for a process that hangs.
        """
        secure = "--cert" in self.handle.extra_args
        for host, port in self.handle.endpoints:
            if not await self._answers(host.strip("[]"), port, secure):
                return f"{host}:{port}"
        return None

    async def _answers(self, host: str, port: int, secure: bool) -> bool:
        context: Optional[ssl.SSLContext] = None
        if secure:  # Azurite's own (often self-signed) certificate: only whether it answers matters here
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        writer: Optional[asyncio.StreamWriter] = None
        try:
            async with asyncio.timeout(self.probe_timeout):
                reader, writer = await asyncio.open_connection(host, port, ssl=context)
                writer.write(f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
                await writer.drain()
                return (await reader.readline()).startswith(b"HTTP/")
        except (OSError, TimeoutError, ssl.SSLError):
            return False
        finally:
            if writer is not None:
                writer.close()
                with contextlib.suppress(OSError, ssl.SSLError):
                    await writer.wait_closed()

    async def _recover(self, reason: str) -> bool:
        """Restart Azurite after ``reason``; False when it gave up (the host stays Degraded)."""
        self.state, self.down_since = "Degraded", time.monotonic()
        old_pid = self.handle.pid
        last_error = ""
        while True:
            if self.attempts >= self.max_attempts:
                self.gave_up = True
                self.reason = (
                    f"{reason}; gave up restarting it after {self.attempts} attempts{last_error} "
                    f"(see {self.handle.log_path}); restart funchost"
                )
                self.log.error("storage: %s", self.reason)
                return False
            self.attempts += 1
            delay = 0.0 if self.attempts == 1 else min(self.backoff_cap, 2.0 ** (self.attempts - 2))
            self.reason = f"{reason}; restart attempt {self.attempts} of {self.max_attempts}{last_error}"
            self.log.warning(
                "storage: %s; restarting it on the same ports and data%s",
                self.reason,
                f" in {delay:.0f} s" if delay else "",
            )
            await asyncio.sleep(delay)
            self._pending = asyncio.ensure_future(
                asyncio.to_thread(azurite.relaunch, self.handle, self.log.info, self.ready_timeout)
            )
            try:
                new = await asyncio.shield(self._pending)
            except Exception as exc:  # StorageError (not ready), ConfigError (node gone), OSError: try again later
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                last_error = f" (the last one failed: {first})"
                continue
            finally:
                if self._pending.done():
                    self._pending = None
            break
        down = time.monotonic() - self.down_since
        self.handle, self.state, self.reason, self.down_since = new, "Running", None, None
        self.restarts += 1
        self.up_since = time.monotonic()
        self.log.info(
            "storage: Azurite restarted (pid %d, was %d) after %.1f s down, attempt %d; %d restart(s) since start",
            new.pid,
            old_pid,
            down,
            self.attempts,
            self.restarts,
        )
        return True
