"""Waking long-polling readers of a run when its records change (``GET /api/runs/{id}?wait=``).

Every write of a pipeline run's record or of one of its step records calls :func:`changed` with the
pipeline run's id. A reader on the host's event loop opens :func:`watch` *before* it reads the record
(so a write between its read and its wait is not missed), then awaits :meth:`Watch.wait`. Writers are
activities on worker threads, so the wake-up crosses over with ``call_soon_threadsafe``.

The wake-up only reaches readers in the same process. A write made by another instance of the Function
App (scaled out in Azure) is seen by the reader's own re-read, which it does at least every
``REREAD_S`` seconds while it waits.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["changed", "watch", "Watch", "read_when_changed", "REREAD_S", "MAX_WAIT_S"]

REREAD_S = 0.5
MAX_WAIT_S = 60.0  # well below the HTTP front end's 230 s limit for an answer in Azure
_watches: dict[str, set[Watch]] = {}
_lock = threading.Lock()


class Watch:
    """One reader's interest in one run; set by :func:`changed`, reset by each :meth:`wait`."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def _wake(self) -> None:
        try:
            self._loop.call_soon_threadsafe(self._event.set)
        except RuntimeError:  # the reader's loop has closed: nobody is waiting any more
            pass

    async def wait(self, timeout: float) -> bool:
        """True if the run changed since the watch opened or the last wait; False after ``timeout`` seconds."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        self._event.clear()
        return True


@contextmanager
def watch(run_id: str) -> Iterator[Watch]:
    """Watch ``run_id`` for the ``with`` block (call on the event loop)."""
    entry = Watch(run_id)
    with _lock:
        _watches.setdefault(run_id, set()).add(entry)
    try:
        yield entry
    finally:
        with _lock:
            watching = _watches.get(run_id)
            if watching is not None:
                watching.discard(entry)
                if not watching:
                    del _watches[run_id]


def changed(run_id: str | None) -> None:
    """Say that ``run_id`` (a pipeline run) or one of its steps was written; safe from any thread."""
    if not run_id:
        return
    with _lock:
        watching = list(_watches.get(run_id, ()))
    for entry in watching:
        entry._wake()


async def read_when_changed(
    run_id: str, read: Callable[[], dict[str, Any]], known_status: str | None, wait: float, terminal: Collection[str]
) -> dict[str, Any]:
    """The run's record (``read()``, a blocking call run off the loop) as soon as there is news.

    News: its status is not ``known_status`` (the status the caller saw last; None: whatever it is on
    the first read), or any record of the run was written here while waiting. Otherwise the record as
    it is after ``wait`` seconds. A terminal status never waits.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    with watch(run_id) as news:
        record = await asyncio.to_thread(read)
        known = record.get("status") if known_status is None else known_status
        while record.get("status") == known and known not in terminal:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            woke = await news.wait(min(remaining, REREAD_S))
            record = await asyncio.to_thread(read)
            if woke:
                break
    return record
