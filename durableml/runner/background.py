"""Background work of the compute worker and the step runner, on daemon threads kept between tasks.

``threading.Thread.start()`` returns only once the new thread has started running. On a busy two-core
machine that wait was about 3 ms each time a step's output reader started, on the path from handing the
script over to seeing it run, and the same again for its log uploader and for the job's runner thread.
:func:`start` hands a task to a thread that is already waiting for one, and starts a new thread only
when none is idle, so a steady stream of steps starts no threads at all.

Threads are daemons: a task blocked for good (an output pipe that a stray process keeps open) never
keeps the process from exiting.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

__all__ = ["start"]

_log = logging.getLogger("durableml.runner")
_tasks: queue.SimpleQueue[tuple[Callable[[], object], str, threading.Event]] = queue.SimpleQueue()
_lock = threading.Lock()
_idle = 0


def start(task: Callable[[], object], name: str) -> threading.Event:
    """Run ``task`` on a background thread named ``name``; the returned event is set when it has ended.

    An exception the task raises is logged with its traceback (as an uncaught exception in a thread would
    be) and ends the task; the event is set all the same.
    """
    global _idle
    done = threading.Event()
    with _lock:
        spawn = _idle == 0
        if not spawn:
            _idle -= 1
    _tasks.put((task, name, done))
    if spawn:
        threading.Thread(target=_serve, name=name, daemon=True).start()
    return done


def _serve() -> None:
    global _idle
    thread = threading.current_thread()
    while True:
        task, name, done = _tasks.get()
        thread.name = name
        try:
            task()
        except Exception:  # noqa: BLE001 - a failed task must not take the thread with it
            _log.exception("background task %s failed", name)
        finally:
            thread.name = "idle"
            with _lock:  # idle before done: a task started by whoever waited on ``done`` reuses this thread
                _idle += 1
            done.set()
