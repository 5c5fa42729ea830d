"""The function app of the end-to-end storage-trigger tests (tests/test_funchost_triggers.py).

It runs under a real ``python -m funchost start``. Every invocation writes one JSON file
``$E2E_EVENTS_DIR/<function>/<time>-<uuid>.json`` with what the function saw, the pid of the host that
ran it and the wall-clock time, so a test can count invocations across restarts and across several
hosts sharing one events folder.

Container and queue names come from app settings (``%E2E_...%``), so every host a test starts works
on its own storage names; every setting below must be set for the host to start.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import azure.functions as func

app = func.FunctionApp()

CONN = "AzureWebJobsStorage"


def record(function: str, **data: Any) -> None:
    """Write one invocation record (atomically: a temp file renamed into place)."""
    folder = Path(os.environ["E2E_EVENTS_DIR"]) / function
    folder.mkdir(parents=True, exist_ok=True)
    at = time.time()
    name = f"{at:.6f}-{uuid.uuid4().hex}"
    body = json.dumps({"function": function, "pid": os.getpid(), "at": at, **data})
    tmp = folder / f".{name}.tmp"
    tmp.write_text(body, encoding="utf-8")
    tmp.rename(folder / f"{name}.json")


# ---------------------------------------------------------------- timers


@app.timer_trigger(arg_name="timer", schedule="*/1 * * * * *")
def tick(timer: func.TimerRequest) -> None:
    """Every second (not monitored: the schedule is under a minute)."""
    record("tick", past_due=timer.past_due, status=timer.schedule_status, schedule=timer.schedule)


@app.timer_trigger(arg_name="timer", schedule="0 0 0 1 1 *", use_monitor=True)
def new_year(timer: func.TimerRequest) -> None:
    """Once a year, monitored: only runs in the tests when it is past due."""
    record("new_year", past_due=timer.past_due, status=timer.schedule_status, schedule=timer.schedule)


@app.timer_trigger(arg_name="timer", schedule="%E2E_STARTUP_SCHEDULE%", run_on_startup=True)
def on_startup(timer: func.TimerRequest) -> None:
    """Schedule from an app setting; runs once whenever the host starts."""
    record("on_startup", past_due=timer.past_due, status=timer.schedule_status)


# ---------------------------------------------------------------- blob triggers


@app.blob_trigger(arg_name="blob", path="%E2E_BLOB_IN%/{name}", connection=CONN)
@app.blob_output(arg_name="copy", path="%E2E_BLOB_OUT%/{name}", connection=CONN)
def copy_blob(blob: func.InputStream, copy: func.Out[str]) -> None:
    """Copies each new blob version to the output container, as ``copied:<content>``."""
    data = blob.read()
    record(
        "copy_blob",
        name=blob.name,
        content=data.decode("utf-8"),
        length=blob.length,
        etag=(blob.blob_properties or {}).get("ETag"),
    )
    copy.set("copied:" + data.decode("utf-8"))


@app.blob_trigger(arg_name="blob", path="%E2E_POISON_IN%/{name}", connection=CONN)
def always_fails(blob: func.InputStream) -> None:
    """Fails for every blob: each version is tried, then sent to the blob poison queue."""
    record("always_fails", name=blob.name, content=blob.read().decode("utf-8"))
    raise RuntimeError(f"always_fails refuses {blob.name}")


# ---------------------------------------------------------------- queue trigger


@app.queue_trigger(arg_name="msg", queue_name="%E2E_QUEUE%", connection=CONN)
def on_queue(msg: func.QueueMessage) -> None:
    """Records the message; a body starting with ``fail`` raises."""
    body = msg.get_body().decode("utf-8")
    record("on_queue", id=msg.id, body=body, dequeue_count=msg.dequeue_count)
    if body.startswith("fail"):
        raise RuntimeError("asked to fail")


# ---------------------------------------------------------------- HTTP with output bindings


@app.route(route="emit/{key}", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@app.queue_output(arg_name="messages", queue_name="%E2E_HTTP_QUEUE%", connection=CONN)
@app.blob_output(arg_name="doc", path="%E2E_HTTP_BLOBS%/{key}.json", connection=CONN)
def emit(req: func.HttpRequest, messages: func.Out[list[str]], doc: func.Out[str]) -> func.HttpResponse:
    """POST {"messages": [...], "doc": {...}, "fail": bool}: queue the messages, store the doc."""
    payload = req.get_json()
    messages.set(list(payload["messages"]))
    doc.set(json.dumps(payload["doc"]))
    if payload.get("fail"):
        raise RuntimeError("failing after setting the outputs")
    return func.HttpResponse(json.dumps({"key": req.route_params["key"]}), status_code=201, mimetype="application/json")


@app.route(route="enqueue", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@app.queue_output(arg_name="msg", queue_name="%E2E_QUEUE%", connection=CONN)
def enqueue(req: func.HttpRequest, msg: func.Out[str]) -> func.HttpResponse:
    """Puts the request body on the queue that ``on_queue`` listens to."""
    msg.set(req.get_body().decode("utf-8"))
    return func.HttpResponse("queued", status_code=202)
