"""The timer trigger: NCRONTAB/TimeSpan schedules, the schedule monitor, past-due runs, singleton.

Per timer function, as the Functions host does:

* the schedule comes from the binding's ``schedule`` (``%AppSetting%`` resolved), evaluated in UTC;
* singleton: only the holder of a blob lease on ``azure-webjobs-hosts/locks/{hostId}/{functionId}.Listener``
  runs the timer (others retry every ``FUNCHOST_TIMER_LOCK_RETRY_SECONDS``, default 5 s), and an
  invocation is awaited before the next occurrence is computed, so invocations never overlap;
* ``useMonitor`` (default true, forced off when occurrences are less than a minute apart) keeps
  ``{"Last","Next","LastUpdated"}`` in ``azure-webjobs-hosts/timers/{hostId}/{functionId}/status``. At
  start, if now is past the recorded Next, the function runs once at once with ``past_due=True``; when
  the recorded Next does not follow from the schedule (the schedule changed) Next is recomputed and
  nothing runs;
* ``runOnStartup`` runs it once when the listener starts (if it did not just run past due);
* no retry: a failed run is logged and the next occurrence comes as usual.

``functionId`` is ``Host.Functions.<name>``, the name the Functions host gives a Python function.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from azure.functions.timer import TimerRequest
from azure.core.exceptions import ResourceNotFoundError

from funchost.config import resolve_setting_expression
from funchost.functions import FunctionInfo
from funchost.storage import HOSTS_CONTAINER, BlobLease, ensure_container
from funchost.triggers.listener import Listener
from funchost.triggers.ncrontab import Schedule, parse_schedule

LOCK_SECONDS = 15
DEFAULT_TIME = "0001-01-01T00:00:00"
_FRACTION = re.compile(r"(\.\d{6})\d+")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def format_time(value: datetime | None) -> str:
    """ScheduleStatus time text (ISO 8601 with +00:00; .NET's default DateTime for None)."""
    return value.astimezone(timezone.utc).isoformat() if value else DEFAULT_TIME


def parse_time(text: str | None) -> datetime | None:
    """Parse ScheduleStatus time text (accepts 'Z' and 7-digit .NET fractions); None for the default."""
    if not text or text.startswith("0001-01-01"):
        return None
    value = datetime.fromisoformat(_FRACTION.sub(r"\1", text.replace("Z", "+00:00")))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class TimerTriggerListener(Listener):
    """Runs every ``timerTrigger`` function on its schedule (see the module docstring)."""

    trigger_type = "timerTrigger"

    async def start(self) -> None:
        """Parse every schedule (a bad one raises ConfigError) and start one task per timer."""
        await super().start()
        if os.environ.get("WEBSITE_TIME_ZONE"):
            self.log.warning("WEBSITE_TIME_ZONE is set, but funchost evaluates timer schedules in UTC")
        timers = [_Timer(self, fi) for fi in self.functions]
        for timer in timers:
            self.spawn(timer.run(), name=f"timer:{timer.fi.name}")

    @staticmethod
    def lock_retry_seconds() -> float:
        """How often a host without the singleton lock tries to take it."""
        return float(os.environ.get("FUNCHOST_TIMER_LOCK_RETRY_SECONDS", "5"))


class _Timer:
    """The schedule, monitor and singleton lock of one timer function."""

    def __init__(self, listener: TimerTriggerListener, fi: FunctionInfo) -> None:
        self.listener = listener
        self.fi = fi
        trigger = fi.trigger
        self.schedule: Schedule = parse_schedule(resolve_setting_expression(str(trigger.get("schedule", ""))))
        self.run_on_startup = bool(trigger.get("runOnStartup") or False)
        monitor = trigger.get("useMonitor")
        self.use_monitor = (True if monitor is None else bool(monitor)) and self.schedule.interval_hint(
            utcnow()
        ) >= timedelta(minutes=1)
        fid = f"Host.Functions.{fi.name}"
        hosts = listener.connections.blob_service().get_container_client(HOSTS_CONTAINER)
        self.hosts = hosts
        self.status_blob = hosts.get_blob_client(f"timers/{listener.host_id}/{fid}/status")
        self.lease = BlobLease(hosts, f"locks/{listener.host_id}/{fid}.Listener", LOCK_SECONDS)
        self.status: dict[str, datetime | None] = {}
        self.started = False

    async def run(self) -> None:
        """Take the singleton lock (retrying), then run the schedule while holding it."""
        blocking = self.listener.blocking
        while True:
            if not await self._try_lock():
                await self.listener.sleep(self.listener.lock_retry_seconds())
                continue
            self.listener.log.info(
                "timer '%s' holds its singleton lock; schedule '%s'%s",
                self.fi.name,
                self.schedule.expression,
                " (monitored)" if self.use_monitor else "",
            )
            try:
                await self._hold()
            except Exception as exc:  # storage trouble: let go of the lock and try again later
                self.listener.log.warning("timer '%s' stopped: %s: %s; retrying", self.fi.name, type(exc).__name__, exc)
            finally:
                await asyncio.shield(blocking(self.lease.release))
            await self.listener.sleep(self.listener.lock_retry_seconds())

    async def _try_lock(self) -> bool:
        try:
            return await self.listener.blocking(self.lease.try_acquire)
        except Exception as exc:  # storage unreachable: try again later
            self.listener.log.warning(
                "timer '%s': taking its singleton lock failed: %s: %s", self.fi.name, type(exc).__name__, exc
            )
            return False

    async def _hold(self) -> None:
        """Run the schedule, renewing the lease; stop (and retry the lock) if the lease is lost."""
        work = asyncio.get_running_loop().create_task(self._run_schedule())
        try:
            while not work.done():
                await asyncio.wait({work}, timeout=LOCK_SECONDS / 3)
                if not work.done() and not await self.listener.blocking(self.lease.renew):
                    self.listener.log.warning("timer '%s' lost its singleton lock", self.fi.name)
                    break
        finally:
            if not work.done():
                work.cancel()
            await asyncio.gather(work, return_exceptions=True)
        if work.done() and not work.cancelled() and work.exception() is not None:
            raise work.exception()  # type: ignore[misc]

    async def _run_schedule(self) -> None:
        now = utcnow()
        past_due = False
        if self.use_monitor:
            past_due = await self.listener.blocking(self._check_past_due, now)
        if not self.status:
            self.status = {"Last": None, "Next": self.schedule.next_after(now), "LastUpdated": now}
        if past_due:
            await self._fire(utcnow(), past_due=True)
        elif self.run_on_startup and not self.started:
            await self._fire(utcnow(), past_due=False)
        self.started = True
        last = utcnow()
        while True:
            due = self.schedule.next_after(max(utcnow(), last))
            while (remaining := (due - utcnow()).total_seconds()) > 0:
                await self.listener.sleep(remaining)
            await self._fire(due, past_due=False)
            last = due

    async def _fire(self, invocation_time: datetime, past_due: bool) -> None:
        shown = {k: format_time(v) for k, v in self.status.items()} if self.use_monitor else {}
        request = TimerRequest(past_due=past_due, schedule_status=shown, schedule={"AdjustForDST": True})
        reason = "Timer fired at " + invocation_time.isoformat()
        await self.listener.invoke(self.fi, request, {}, reason + (" (past due)" if past_due else ""))
        self.status = {
            "Last": invocation_time,
            "Next": self.schedule.next_after(invocation_time),
            "LastUpdated": invocation_time,
        }
        if self.use_monitor:
            try:
                await self.listener.blocking(self._write_status)
            except Exception as exc:  # storage hiccup: the next run writes it again
                self.listener.log.warning("timer '%s': writing its schedule status failed: %s", self.fi.name, exc)

    def _check_past_due(self, now: datetime) -> bool:
        """The host's CheckPastDueAsync: read the status; True if a run was missed."""
        status = self._read_status()
        anchor = (status["Last"] or status["LastUpdated"]) if status else None
        expected = self.schedule.next_after(anchor) if anchor else None
        if status is None or status["Next"] is None or status["Next"] != expected:
            # First start (no status yet) or a changed schedule: record the next occurrence now, so an
            # occurrence missed while the host is down is run late at the next start (CheckPastDueAsync).
            if status is not None:
                self.listener.log.info("timer '%s': the schedule changed; the next run is recomputed", self.fi.name)
            self.status = {"Last": None, "Next": self.schedule.next_after(now), "LastUpdated": now}
            self._write_status()
            return False
        self.status = status
        return now > status["Next"]

    def _read_status(self) -> dict[str, datetime | None] | None:
        try:
            raw = json.loads(self.status_blob.download_blob().readall())
        except ResourceNotFoundError:
            return None
        except ValueError:
            self.listener.log.warning("timer '%s': its status blob is not JSON; starting afresh", self.fi.name)
            return None
        try:
            return {key: parse_time(raw.get(key)) for key in ("Last", "Next", "LastUpdated")}
        except (ValueError, AttributeError):
            return None

    def _write_status(self) -> None:
        body: dict[str, Any] = {k: format_time(self.status.get(k)) for k in ("Last", "Next", "LastUpdated")}
        data = json.dumps(body)
        try:
            self.status_blob.upload_blob(data, overwrite=True)
        except ResourceNotFoundError:
            ensure_container(self.hosts)
            self.status_blob.upload_blob(data, overwrite=True)
