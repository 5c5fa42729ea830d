"""The queue trigger: polling with backoff, batches, dequeue counts and ``<queue>-poison``.

For every ``queueTrigger`` function (queue created if missing; ``%AppSetting%`` resolved; lowercased),
with host.json ``extensions.queues`` settings as the Functions host reads them:

* messages are fetched ``batchSize`` at a time (default 16, max 32) whenever at most
  ``newBatchThreshold`` (default batchSize/2 x cores) are in flight, and held invisible for 10 minutes
  while processed;
* bodies are base64-decoded unless ``messageEncoding`` is ``none``;
* success deletes the message; failure makes it visible again after ``visibilityTimeout`` (default 0);
  a message that fails on its ``maxDequeueCount``-th try (default 5), or arrives with a higher count, is
  copied unchanged to ``<queue>-poison`` and deleted;
* polling backs off from 100 ms after a hit, doubling after each miss up to ``maxPollingInterval``
  (default 2 s locally; also ``FUNCHOST_QUEUE_MAX_POLL_SECONDS``).

Trigger value: ``func.QueueMessage``; ``dataType`` ``string``/``binary`` gives ``str``/``bytes``.
Binding data: Id, DequeueCount, ExpirationTime, InsertionTime, NextVisibleTime, PopReceipt,
QueueTrigger, and the top-level properties of a JSON-object body.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from azure.functions.queue import QueueMessage as FuncQueueMessage
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient, QueueMessage

from funchost.bindings import decode_message, message_encoding
from funchost.config import resolve_setting_expression
from funchost.errors import ConfigError
from funchost.functions import FunctionInfo
from funchost.triggers.listener import Listener
from funchost.triggers.ncrontab import parse_timespan

INVISIBLE_SECONDS = 600
MIN_POLL_SECONDS = 0.1


def _seconds(value: Any, setting: str) -> float:
    """A host.json duration: a TimeSpan string, or a number of milliseconds."""
    if isinstance(value, (int, float)):
        return float(value) / 1000.0
    try:
        return parse_timespan(str(value)).total_seconds()
    except ConfigError as exc:
        raise ConfigError(f"host.json extensions.queues.{setting}: {exc}") from exc


class QueueTriggerListener(Listener):
    """Polls the queue of every ``queueTrigger`` function (see the module docstring)."""

    trigger_type = "queueTrigger"

    async def start(self) -> None:
        """Read the queue settings and start one poller per function."""
        await super().start()
        queues = self.config.extension("queues")
        self.batch_size = max(1, min(32, int(queues.get("batchSize", 16))))
        self.new_batch_threshold = int(queues.get("newBatchThreshold", self.batch_size // 2 * (os.cpu_count() or 1)))
        self.max_dequeue = max(1, int(queues.get("maxDequeueCount", 5)))
        self.visibility = _seconds(queues.get("visibilityTimeout", "00:00:00"), "visibilityTimeout")
        env_poll = os.environ.get("FUNCHOST_QUEUE_MAX_POLL_SECONDS")
        self.max_poll = (
            float(env_poll)
            if env_poll
            else _seconds(queues.get("maxPollingInterval", "00:00:02"), "maxPollingInterval")
        )
        self.encoding = message_encoding(self.config)
        for poller in [_QueuePoller(self, fi) for fi in self.functions]:
            self.spawn(poller.run(), name=f"queue:{poller.fi.name}")


class _QueuePoller:
    """Fetching and processing for one queue trigger function."""

    def __init__(self, listener: QueueTriggerListener, fi: FunctionInfo) -> None:
        self.listener = listener
        self.fi = fi
        trigger = fi.trigger
        self.queue_name = resolve_setting_expression(str(trigger.get("queueName", ""))).lower()
        if not self.queue_name:
            raise ConfigError(f"queue trigger '{fi.name}' has no queueName")
        self.connection = trigger.get("connection") or None
        self.data_type = str(trigger.get("dataType") or "").lower()
        service = listener.connections.queue_service(self.connection)
        self.queue: QueueClient = service.get_queue_client(self.queue_name)
        self.poison: QueueClient = service.get_queue_client(f"{self.queue_name}-poison")
        self.active = 0
        self.slot_free = asyncio.Event()

    async def run(self) -> None:
        """Fetch batches while there is room, with backoff when the queue is empty; forever."""
        while True:
            try:
                await self._ensure_queue(self.queue)
                break
            except Exception as exc:  # storage not reachable yet
                self.listener.log.warning(
                    "queue trigger '%s': creating queue %s failed: %s: %s; retrying",
                    self.fi.name,
                    self.queue_name,
                    type(exc).__name__,
                    exc,
                )
                await self.listener.sleep(self.listener.max_poll)
        delay = MIN_POLL_SECONDS
        while True:
            while self.active > self.listener.new_batch_threshold:
                self.slot_free.clear()
                await self.slot_free.wait()
            try:
                messages = await self.listener.blocking(self._receive)
            except Exception as exc:  # storage unreachable for a moment
                self.listener.log.warning(
                    "queue trigger '%s': reading %s failed: %s: %s",
                    self.fi.name,
                    self.queue_name,
                    type(exc).__name__,
                    exc,
                )
                messages = []
            for message in messages:
                self.active += 1
                self.listener.spawn(self.process(message), name=f"queue:{self.fi.name}:{message.id}")
            delay = MIN_POLL_SECONDS if messages else min(self.listener.max_poll, delay * 2)
            await self.listener.sleep(delay)

    def _receive(self) -> list[QueueMessage]:
        pages = self.queue.receive_messages(
            messages_per_page=self.listener.batch_size,
            max_messages=self.listener.batch_size,
            visibility_timeout=INVISIBLE_SECONDS,
        )
        return list(pages)

    async def _ensure_queue(self, queue: QueueClient) -> None:
        try:
            await self.listener.blocking(queue.create_queue)
        except ResourceExistsError:
            pass

    async def process(self, message: QueueMessage) -> None:
        """Invoke the function for one message, then delete, release or poison it."""
        try:
            if message.dequeue_count and message.dequeue_count > self.listener.max_dequeue:
                await self._to_poison(message)
                return
            ok = await self._invoke(message)
            if ok:
                await self.listener.blocking(self.queue.delete_message, message.id, message.pop_receipt)
            elif (message.dequeue_count or 0) >= self.listener.max_dequeue:
                await self._to_poison(message)
            else:
                await self.listener.blocking(
                    self.queue.update_message,
                    message.id,
                    message.pop_receipt,
                    visibility_timeout=int(self.listener.visibility),
                )
        except Exception as exc:  # storage error: the message reappears after its invisibility ends
            self.listener.log.warning(
                "queue trigger '%s': handling message %s failed: %s: %s",
                self.fi.name,
                message.id,
                type(exc).__name__,
                exc,
            )
        finally:
            self.active -= 1
            self.slot_free.set()

    async def _invoke(self, message: QueueMessage) -> bool:
        try:
            body = decode_message(message.content or "", self.listener.encoding)
        except ValueError as exc:
            self.listener.log.error("Executed 'Functions.%s' (Failed): message %s: %s", self.fi.name, message.id, exc)
            return False
        reason = f"New queue message detected on '{self.queue_name}'"
        return await self.listener.invoke(self.fi, self._value(message, body), binding_data(message, body), reason)

    def _value(self, message: QueueMessage, body: bytes) -> Any:
        if self.data_type == "string":
            return body.decode("utf-8")
        if self.data_type == "binary":
            return body
        return FuncQueueMessage(  # type: ignore[no-untyped-call]  # azure.functions leaves its __init__ untyped
            id=message.id,
            body=body,
            dequeue_count=message.dequeue_count,
            expiration_time=message.expires_on,
            insertion_time=message.inserted_on,
            time_next_visible=message.next_visible_on,
            pop_receipt=message.pop_receipt,
        )

    async def _to_poison(self, message: QueueMessage) -> None:
        self.listener.log.error(
            "queue trigger '%s': message %s failed %s times; moved to %s",
            self.fi.name,
            message.id,
            message.dequeue_count,
            self.poison.queue_name,
        )
        await self._ensure_queue(self.poison)
        await self.listener.blocking(self.poison.send_message, message.content or "")
        await self.listener.blocking(self.queue.delete_message, message.id, message.pop_receipt)


def binding_data(message: QueueMessage, body: bytes) -> dict[str, Any]:
    """Trigger metadata of a queue message, plus the properties of a JSON-object body."""
    text = body.decode("utf-8", errors="replace")
    data: dict[str, Any] = {}
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        data.update(parsed)
    data.update(
        {
            "Id": message.id,
            "DequeueCount": message.dequeue_count,
            "ExpirationTime": message.expires_on,
            "InsertionTime": message.inserted_on,
            "NextVisibleTime": message.next_visible_on,
            "PopReceipt": message.pop_receipt,
            "QueueTrigger": text,
        }
    )
    return data
