"""Waking long-polling readers of a run when its records change (``GET /api/runs/{id}?wait=``).

Every write of a pipeline run's record or of one of its step records calls :func:`changed` with the
pipeline run's id (and ``step=True`` for a step record). A reader on the host's event loop opens
:func:`watch` *before* it reads the record (so a write between its read and its wait is not missed), then
awaits :meth:`Watch.wait`. A reader that shows step progress watches step writes too; one that waits
only for the run's status is woken by the run's own record alone, so a 200-step run does not answer it
(and have it ask again) hundreds of times. Writers are
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
    """One reader's interest in one run (and its steps' records if ``steps``); set by :func:`changed`."""

    def __init__(self, run_id: str, steps: bool) -> None:
        self.run_id = run_id
        self.steps = steps
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
def watch(run_id: str, steps: bool = True) -> Iterator[Watch]:
    """Watch ``run_id`` (and the records of its steps, if ``steps``) for the ``with`` block (on the event loop)."""
    entry = Watch(run_id, steps)
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


def changed(run_id: str | None, step: bool = False) -> None:
    """Say that ``run_id`` (a pipeline run) or, with ``step``, one of its steps was written; safe from any thread."""
    if not run_id:
        return
    with _lock:
        watching = [entry for entry in _watches.get(run_id, ()) if entry.steps or not step]
    for entry in watching:
        entry._wake()


async def read_when_changed(
    run_id: str,
    read: Callable[[], dict[str, Any]],
    known_status: str | None,
    wait: float,
    terminal: Collection[str],
    steps: bool = True,
) -> dict[str, Any]:
    """The run's record (``read()``, a blocking call run off the loop) as soon as there is news.

    News: its status is not ``known_status`` (the status the caller saw last; None: whatever it is on
    the first read), or the run's record or (with ``steps``) one of its steps' records was written here
    while waiting. Otherwise the record as it is after ``wait`` seconds. A terminal status never waits.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    with watch(run_id, steps) as news:
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
