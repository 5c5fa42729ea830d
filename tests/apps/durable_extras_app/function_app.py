"""Durable entities and call_http under funchost (Python v2 programming model, unmodified SDK).

Driven only over HTTP by tests/test_durable_entities.py and tests/test_durable_call_http.py: the HTTP functions
call the unmodified ``DurableOrchestrationClient`` (start_new, signal_entity, read_entity_state), and the tests read
statuses from the public ``/runtime/webhooks/durabletask`` API.
"""

from __future__ import annotations

import json
import time
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)


def _json(value: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(value), status_code=status, mimetype="application/json")


# -- client functions ---------------------------------------------------------------------------------------------


@app.route(route="orchestrators/{functionName}/{instanceId?}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    instance_id = await client.start_new(
        req.route_params["functionName"], req.route_params.get("instanceId"), json.loads(body) if body else None
    )
    return client.create_check_status_response(req, instance_id)


@app.route(route="entity/{name}/{key}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def http_read_entity(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``read_entity_state``: ``{"exists", "state"}``."""
    found = await client.read_entity_state(df.EntityId(req.route_params["name"], req.route_params["key"]))
    return _json({"exists": found.entity_exists, "state": found.entity_state})


@app.route(route="entity/{name}/{key}/{operation}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_signal_entity(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``signal_entity`` with the JSON body as input; 400 with the client's message when it raises."""
    body = req.get_body()
    entity = df.EntityId(req.route_params["name"], req.route_params["key"])
    try:
        await client.signal_entity(entity, req.route_params["operation"], json.loads(body) if body else None)
    except Exception as exc:
        return _json({"error": str(exc)}, status=400)
    return _json({"signaled": True}, status=202)


# -- entities -----------------------------------------------------------------------------------------------------


@app.entity_trigger(context_name="context")
def Counter(context: df.DurableEntityContext) -> None:
    """add (input), reset, get, fail (raises, state unchanged by the failed operation), delete, log (appends)."""
    value = context.get_state(lambda: 0)
    op = context.operation_name
    if op == "add":
        value += context.get_input()
    elif op == "reset":
        value = 0
    elif op == "fail":
        raise ValueError(f"counter refuses: {context.get_input()}")
    elif op == "delete":
        context.destruct_on_exit()
        return
    context.set_state(value)
    context.set_result(value)


@app.entity_trigger(context_name="context", entity_name="Journal")
def journal_entity(context: df.DurableEntityContext) -> None:
    """A list the operations append to in the order they are processed: ``append`` (input), ``append_slow``
    (the same, 20 ms slower), ``read``."""
    entries = context.get_state(list)
    if context.operation_name in ("append", "append_slow"):
        if context.operation_name == "append_slow":
            time.sleep(0.02)
        entries.append(context.get_input())
    context.set_state(entries)
    context.set_result(entries)


# -- orchestrators ------------------------------------------------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def counter_calls(context: df.DurableOrchestrationContext):
    """signal add(3); call add(2); call get; call fail (caught); call get: the results in a dict."""
    key = context.get_input()
    counter = df.EntityId("Counter", key)
    context.signal_entity(counter, "add", 3)
    after_add = yield context.call_entity(counter, "add", 2)
    got = yield context.call_entity(counter, "get")
    try:
        yield context.call_entity(counter, "fail", "boom")
        failure = None
    except Exception as exc:
        failure = str(exc)
    again = yield context.call_entity(counter, "get")
    return {"afterAdd": after_add, "get": got, "failure": failure, "getAfterFailure": again}


@app.orchestration_trigger(context_name="context")
def journal_writer(context: df.DurableOrchestrationContext):
    """Signals ``append`` (``append_slow`` with ``"slow"``) n times (input ``{"key", "prefix", "n"}``), then calls
    ``read``."""
    args = context.get_input()
    journal = df.EntityId("Journal", args["key"])
    operation = "append_slow" if args.get("slow") else "append"
    for i in range(args["n"]):
        context.signal_entity(journal, operation, f"{args['prefix']}{i}")
    entries = yield context.call_entity(journal, "read")
    return entries


@app.orchestration_trigger(context_name="context")
def signal_then_wait(context: df.DurableOrchestrationContext):
    """Signals ``append`` then waits for the event ``go`` before returning: the signal must be visible before."""
    key = context.get_input()
    context.signal_entity(df.EntityId("Journal", key), "append", "from-orchestration")
    yield context.wait_for_external_event("go")
    return "done"


@app.orchestration_trigger(context_name="context")
def parallel_calls(context: df.DurableOrchestrationContext):
    """call_entity on several counters at once (task_all): each add(1) answers with its counter's value."""
    keys = context.get_input()
    results = yield context.task_all([context.call_entity(df.EntityId("Counter", k), "add", 1) for k in keys])
    return results


@app.orchestration_trigger(context_name="context")
def unknown_entity(context: df.DurableOrchestrationContext):
    value = yield context.call_entity(df.EntityId("NoSuchEntity", "k"), "get")
    return value


@app.orchestration_trigger(context_name="context")
def http_call(context: df.DurableOrchestrationContext):
    """``call_http`` with the input's method, uri, content, headers; returns the DurableHttpResponse dict."""
    args = context.get_input()
    response = yield context.call_http(
        args["method"], args["uri"], content=args.get("content"), headers=args.get("headers")
    )
    return response


@app.orchestration_trigger(context_name="context")
def http_call_caught(context: df.DurableOrchestrationContext):
    """``call_http`` (optionally with a managed identity token source); returns the error text if it fails."""
    args = context.get_input()
    source = df.ManagedIdentityTokenSource(args["resource"]) if args.get("resource") else None
    try:
        response = yield context.call_http("GET", args["uri"], token_source=source)
    except Exception as exc:
        return {"error": str(exc)}
    return {"statusCode": response["statusCode"]}
