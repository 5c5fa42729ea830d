"""Trigger listeners: timer, blob and queue triggers, polled against a storage account.

Every listener is built as ``cls(config, functions, invoker, connections, log)`` (only the functions
whose trigger it handles are used), ``await start()`` spawns background tasks and returns at once, and
``await stop()`` cancels them and waits. ``LISTENERS`` maps a trigger type to its listener class.

:class:`Listener` (:mod:`funchost.triggers.listener`) holds what they share: the task set, a crash-proof
invoke, and a thread hop for blocking storage calls.
"""

from __future__ import annotations

from funchost.triggers.blob import BlobTriggerListener
from funchost.triggers.listener import Listener
from funchost.triggers.queue import QueueTriggerListener
from funchost.triggers.timer import TimerTriggerListener

LISTENERS: dict[str, type[Listener]] = {
    "timerTrigger": TimerTriggerListener,
    "blobTrigger": BlobTriggerListener,
    "queueTrigger": QueueTriggerListener,
}

__all__ = ["LISTENERS", "Listener", "BlobTriggerListener", "QueueTriggerListener", "TimerTriggerListener"]
