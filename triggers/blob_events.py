"""Blob-created events from Event Grid (Azure): the queue ``%DURABLEML_BLOB_EVENTS_QUEUE%`` (infra/ sets it and
delivers the storage account's ``Microsoft.Storage.BlobCreated`` events there) makes the data-change schedules
that watch the blob look at once (durableml.service.schedules.on_blob_events).

Registered by function_app.py only when that setting is present: locally, schedules poll as in v1.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from app_decorators import durable_client, function_name, queue
from durableml.service import schedules
from triggers.schedules import _starter

bp = df.Blueprint()
log = logging.getLogger("durableml.schedules")
QUEUE = f"%{schedules.EVENTS_SETTING}%"


def parse_events(body: str) -> list[Any]:
    """The events of one queue message: Event Grid puts one event (a JSON object) in each; a JSON array is
    accepted too. A message that is not JSON holds no event (logged, and dropped: a retry cannot fix it)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        log.warning("blob events: a message that is not JSON was dropped (%d characters)", len(body))
        return []
    return parsed if isinstance(parsed, list) else [parsed]


@function_name(bp, "blob_events")
@queue(bp, "message", QUEUE)
@durable_client(bp)
async def blob_events(message: func.QueueMessage, client: df.DurableOrchestrationClient) -> None:
    events = parse_events(message.get_body().decode("utf-8", "replace"))
    loop = asyncio.get_running_loop()
    started = await asyncio.to_thread(schedules.on_blob_events, events, _starter(client, loop))
    if started:
        log.info("blob event started %d run(s): %s", len(started), ", ".join(s["run_id"] for s in started))
