"""A small function app for funchost's trigger-listener tests: timer, blob and queue triggers.

Every function records what it saw in ``EVENTS[<function name>]``; content starting with ``fail``
makes blob and queue functions raise, so tests can drive retries and poison handling.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from typing import Any

import azure.functions as func

app = func.FunctionApp()

EVENTS: dict[str, list[dict[str, Any]]] = defaultdict(list)
_LOCK = threading.Lock()
CONN = "AzureWebJobsStorage"
_ACTIVE = 0  # copy_blob invocations running right now


def record(function: str, **data: Any) -> None:
    with _LOCK:
        EVENTS[function].append({"at": time.time(), **data})


@app.timer_trigger(arg_name="timer", schedule="*/1 * * * * *")
def every_second(timer: func.TimerRequest) -> None:
    record("every_second", past_due=timer.past_due, status=timer.schedule_status)


@app.timer_trigger(arg_name="timer", schedule="0 0 3 * * *")
def nightly(timer: func.TimerRequest) -> None:
    record("nightly", past_due=timer.past_due, status=timer.schedule_status, schedule=timer.schedule)


@app.timer_trigger(arg_name="timer", schedule="%TRIGGERS_TEST_SCHEDULE%", run_on_startup=True)
def yearly(timer: func.TimerRequest) -> None:
    record("yearly", past_due=timer.past_due)


@app.blob_trigger(arg_name="blob", path="tin/{name}", connection=CONN)
@app.blob_output(arg_name="copy", path="tout/{name}.copy", connection=CONN)
def copy_blob(blob: func.InputStream, copy: func.Out[bytes]) -> None:
    global _ACTIVE
    with _LOCK:
        _ACTIVE += 1
        active = _ACTIVE
    try:
        data = blob.read()
        if data.startswith(b"slow"):
            time.sleep(0.1)
        record(
            "copy_blob",
            name=blob.name,
            data=data,
            length=blob.length,
            uri=blob.uri,
            metadata=blob.metadata,
            etag=(blob.blob_properties or {}).get("ETag"),
            active=active,
        )
        if data.startswith(b"fail"):
            raise RuntimeError("asked to fail")
        copy.set(data)
    finally:
        with _LOCK:
            _ACTIVE -= 1


@app.blob_trigger(arg_name="blob", path="tcsv/{folder}/{stem}.csv", connection=CONN, source="EventGrid")
@app.queue_output(arg_name="out", queue_name="tcsv-{folder}", connection=CONN)
def csv_blob(blob: func.InputStream, out: func.Out[str]) -> None:
    record("csv_blob", name=blob.name)
    out.set(json.dumps({"blob": blob.name, "size": blob.length}))


@app.queue_trigger(arg_name="msg", queue_name="tqueue", connection=CONN)
@app.queue_output(arg_name="out", queue_name="tq-out", connection=CONN)
def on_queue(msg: func.QueueMessage, out: func.Out[str]) -> None:
    body = msg.get_body().decode("utf-8")
    record(
        "on_queue",
        id=msg.id,
        body=body,
        dequeue_count=msg.dequeue_count,
        inserted=msg.insertion_time,
        pop_receipt=msg.pop_receipt,
    )
    if body.startswith("fail"):
        raise RuntimeError("asked to fail")
    out.set(body.upper())


@app.queue_trigger(arg_name="msg", queue_name="tq-json", connection=CONN)
@app.blob_input(arg_name="src", path="tsrc/{file}", connection=CONN, data_type=func.DataType.STRING)
@app.blob_output(arg_name="$return", path="tdst/{file}-{rand-guid}", connection=CONN)
def json_queue(msg: func.QueueMessage, src: str) -> str:
    record("json_queue", body=msg.get_json(), src=src)
    return src.upper()
