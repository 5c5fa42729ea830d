"""Durable Functions conformance app for funchost (Python v2 programming model, unmodified SDK).

The conformance tests (tests/test_durable_*.py) run this app under a real funchost process and drive it
only through HTTP: the HTTP functions below call the unmodified ``DurableOrchestrationClient``, so its
requests to ``rpcBaseUrl`` are exercised, and the tests also call the public
``/runtime/webhooks/durabletask`` API directly.

Side effects the tests need to observe (attempt counters, crash logs, gate and flag files) go to the
folder named by the ``DURABLE_TEST_DIR`` environment variable.

HTTP functions that call the client answer ``400 {"error": "<message>"}`` when the client raises, so a
test can read the message the SDK derived from the host's answer.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

WORK = Path(os.environ.get("DURABLE_TEST_DIR") or tempfile.gettempdir())


def _json(value: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(value), status_code=status, mimetype="application/json")


def _client_error(exc: Exception) -> func.HttpResponse:
    return _json({"error": str(exc)}, status=400)


def _flag(query: str | None) -> bool:
    return (query or "").lower() in ("1", "true", "yes")


def _parse_time(text: str | None) -> datetime.datetime | None:
    if not text:
        return None
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _status_json(status: df.DurableOrchestrationStatus) -> dict[str, Any]:
    if not status:  # 404: the SDK gives a falsy status without times, which to_json() cannot render
        return {"found": False}
    body: dict[str, Any] = dict(status.to_json())
    body["found"] = True
    history = getattr(status, "historyEvents", None)
    if history is not None:
        body["historyEvents"] = history
    return body


# --------------------------------------------------------------------------------------------------
# HTTP functions that use the DurableOrchestrationClient
# --------------------------------------------------------------------------------------------------


@app.route(route="orchestrators/{functionName}/{instanceId?}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start ``functionName`` with the JSON body as input; answer the check-status response."""
    body = req.get_body()
    client_input = json.loads(body) if body else None
    try:
        instance_id = await client.start_new(
            req.route_params["functionName"], req.route_params.get("instanceId"), client_input
        )
    except Exception as exc:
        return _client_error(exc)
    return client.create_check_status_response(req, instance_id)


@app.route(route="status/{instanceId}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def http_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``get_status`` with the showHistory/showHistoryOutput/showInput query flags."""
    try:
        status = await client.get_status(
            req.route_params["instanceId"],
            show_history=_flag(req.params.get("showHistory")),
            show_history_output=_flag(req.params.get("showHistoryOutput")),
            show_input=_flag(req.params.get("showInput")),
        )
    except Exception as exc:
        return _client_error(exc)
    return _json(_status_json(status), status=200 if status else 404)


@app.route(route="instances", methods=["GET"])
@app.durable_client_input(client_name="client")
async def http_list(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``get_status_by`` (query ``from``, ``to``, ``status`` comma list, ``prefix``) or ``get_status_all``."""
    statuses = [df.OrchestrationRuntimeStatus(s) for s in req.params.get("status", "").split(",") if s]
    try:
        if req.params.get("all"):
            found = await client.get_status_all()
        else:
            found = await client.get_status_by(
                created_time_from=_parse_time(req.params.get("from")),
                created_time_to=_parse_time(req.params.get("to")),
                runtime_status=statuses or None,
                instance_id_prefix=req.params.get("prefix") or None,
            )
    except Exception as exc:
        return _client_error(exc)
    return _json([_status_json(s) for s in found])


@app.route(route="events/{instanceId}/{eventName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_raise(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``raise_event`` with the JSON body as event data."""
    body = req.get_body()
    try:
        await client.raise_event(
            req.route_params["instanceId"], req.route_params["eventName"], json.loads(body) if body else None
        )
    except Exception as exc:
        return _client_error(exc)
    return _json({"raised": True}, status=202)


@app.route(route="terminate/{instanceId}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_terminate(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    try:
        await client.terminate(req.route_params["instanceId"], req.params.get("reason", "terminated"))
    except Exception as exc:
        return _client_error(exc)
    return _json({"ok": True}, status=202)


@app.route(route="suspend/{instanceId}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_suspend(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    try:
        await client.suspend(req.route_params["instanceId"], req.params.get("reason", "suspended"))
    except Exception as exc:
        return _client_error(exc)
    return _json({"ok": True}, status=202)


@app.route(route="resume/{instanceId}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_resume(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    try:
        await client.resume(req.route_params["instanceId"], req.params.get("reason", "resumed"))
    except Exception as exc:
        return _client_error(exc)
    return _json({"ok": True}, status=202)


@app.route(route="rewind/{instanceId}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_rewind(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    try:
        await client.rewind(req.route_params["instanceId"], req.params.get("reason", "rewound"))
    except Exception as exc:
        return _client_error(exc)
    return _json({"ok": True}, status=202)


@app.route(route="restart/{instanceId}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_restart(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``restart``; its return value is passed back as ``result`` (a dict with the real extension)."""
    try:
        result = await client.restart(
            req.route_params["instanceId"], restart_with_new_instance_id=_flag(req.params.get("newId", "true"))
        )
    except Exception as exc:
        return _client_error(exc)
    return _json({"result": result}, status=202)


@app.route(route="purge/{instanceId}", methods=["DELETE"])
@app.durable_client_input(client_name="client")
async def http_purge(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    try:
        result = await client.purge_instance_history(req.route_params["instanceId"])
    except Exception as exc:
        return _client_error(exc)
    return _json({"instancesDeleted": result.instances_deleted})


@app.route(route="purge", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_purge_by(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``purge_instance_history_by``; body ``{"from", "to", "statuses": [...]}``."""
    spec = req.get_json()
    statuses = [df.OrchestrationRuntimeStatus(s) for s in spec.get("statuses") or []]
    try:
        result = await client.purge_instance_history_by(
            created_time_from=_parse_time(spec.get("from")),
            created_time_to=_parse_time(spec.get("to")),
            runtime_status=statuses or None,
        )
    except Exception as exc:
        return _client_error(exc)
    return _json({"instancesDeleted": result.instances_deleted})


@app.route(route="wait/{instanceId}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def http_wait(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``wait_for_completion_or_create_check_status_response`` (query ``timeout`` in ms)."""
    timeout = int(req.params.get("timeout", "10000"))
    return await client.wait_for_completion_or_create_check_status_response(
        req,
        req.route_params["instanceId"],
        timeout_in_milliseconds=timeout,
        retry_interval_in_milliseconds=min(200, timeout),
    )


@app.route(route="payload/{instanceId}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def http_payload(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``create_http_management_payload`` (no origin swap)."""
    return _json(client.create_http_management_payload(req.route_params["instanceId"]))


# --------------------------------------------------------------------------------------------------
# Plain HTTP functions: route templates, auth levels, response kinds
# --------------------------------------------------------------------------------------------------


@app.route(route="anon/echo/{id}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def anon_echo(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"id": req.route_params.get("id"), "params": dict(req.params), "method": req.method})


@app.route(route="items/{id?}", methods=["GET"])
def items(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"id": req.route_params.get("id")})


@app.route(route="files/{*rest}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def files(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"rest": req.route_params.get("rest")})


@app.route(route="double/{n:int}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def double(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"double": int(req.route_params["n"]) * 2})


@app.route(route="secure/ping", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def admin_ping(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"admin": True})


@app.route(route="custom", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def custom_response(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("a,b\n1,2\n", status_code=201, headers={"X-Custom": "yes"}, mimetype="text/csv")


@app.route(route="plain", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def plain_str(req: func.HttpRequest) -> str:
    return "plain text from a str return"


@app.route(route="echo", methods=["POST", "PUT"], auth_level=func.AuthLevel.ANONYMOUS)
async def async_echo(req: func.HttpRequest) -> func.HttpResponse:
    body = req.get_body()
    try:
        parsed = req.get_json()
    except ValueError:
        parsed = None
    return _json(
        {
            "method": req.method,
            "body": body.decode("utf-8", "replace"),
            "json": parsed,
            "header": req.headers.get("x-test"),
            "params": dict(req.params),
            "length": len(body),
        }
    )


@app.route(route="only-get", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def only_get(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"ok": True})


@app.route(route="raises", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def raises(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("user code failed on purpose")


# --------------------------------------------------------------------------------------------------
# Activities
# --------------------------------------------------------------------------------------------------


@app.activity_trigger(input_name="name")
def hello(name: Any) -> str:
    return f"Hello {name}!"


@app.activity_trigger(input_name="n")
def square(n: int) -> int:
    return n * n


@app.activity_trigger(input_name="text", activity="shout")
def shout_impl(text: str) -> str:
    return str(text).upper()


def _count_attempt(key: str) -> int:
    counter = WORK / f"attempts-{key}.count"
    attempt = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempt))
    return attempt


@app.activity_trigger(input_name="spec")
def flaky(spec: dict[str, Any]) -> str:
    """Fails the first ``fail_times`` attempts for ``key`` (counted in a file), then succeeds."""
    attempt = _count_attempt(spec["key"])
    if attempt <= int(spec["fail_times"]):
        raise ValueError(f"attempt {attempt} of {spec['key']} failed")
    return f"ok after {attempt}"


@app.activity_trigger(input_name="message")
def boom(message: str) -> str:
    raise ValueError(message)


@app.activity_trigger(input_name="ignored")
def not_serializable(ignored: Any) -> Any:
    return {1, 2, 3}


@app.activity_trigger(input_name="name")
def gate(name: str) -> str:
    """Waits until the test creates ``gate-<name>`` (so events can be raised before a wait)."""
    deadline = time.monotonic() + 60
    path = WORK / f"gate-{name}"
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gate {name} never opened")
        time.sleep(0.05)
    return f"gate {name} opened"


@app.activity_trigger(input_name="spec")
def slow_step(spec: dict[str, Any]) -> int:
    """Sleeps, then appends ``<i>`` to ``steps-<tag>.log``: one line per execution that finished."""
    time.sleep(float(spec.get("sleep", 0.3)))
    with open(WORK / f"steps-{spec['tag']}.log", "a", encoding="utf-8") as log:
        log.write(f"{spec['i']}\n")
        log.flush()
        os.fsync(log.fileno())
    return int(spec["i"]) * 10


# --------------------------------------------------------------------------------------------------
# Orchestrators
# --------------------------------------------------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    cities = context.get_input() or ["Tokyo", "Seattle", "London"]
    results = []
    for city in cities:
        results.append((yield context.call_activity("hello", city)))
    return results


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    n = int(context.get_input())
    results = yield context.task_all([context.call_activity("square", i) for i in range(n)])
    return {"count": len(results), "sum": sum(results), "first": results[:3], "last": results[-1:]}


@app.orchestration_trigger(context_name="context")
def durable_timer(context: df.DurableOrchestrationContext):
    seconds = float(context.get_input())
    fire_at = context.current_utc_datetime + datetime.timedelta(seconds=seconds)
    yield context.create_timer(fire_at)
    return {"fire_at": fire_at.isoformat(), "woke_after_fire_at": context.current_utc_datetime >= fire_at}


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    """task_any of the external event ``Approval`` against a timer of ``timeout`` seconds."""
    timeout = float(context.get_input()["timeout"])
    timer = context.create_timer(context.current_utc_datetime + datetime.timedelta(seconds=timeout))
    event = context.wait_for_external_event("Approval")
    context.set_custom_status("waiting")
    winner = yield context.task_any([event, timer])
    if winner == event:
        timer.cancel()
        return {"approved": event.result}
    return {"timed_out": True}


@app.orchestration_trigger(context_name="context")
def wait_events(context: df.DurableOrchestrationContext):
    """Blocks on the ``gate`` activity first, then waits for events A and B in that order."""
    yield context.call_activity("gate", context.get_input())
    context.set_custom_status("waiting for A")
    a = yield context.wait_for_external_event("A")
    context.set_custom_status("waiting for B")
    b = yield context.wait_for_external_event("B")
    return [a, b]


@app.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext):
    return {"id": context.instance_id, "parent": context.parent_instance_id, "input": context.get_input()}


@app.orchestration_trigger(context_name="context")
def child_fail(context: df.DurableOrchestrationContext):
    yield context.call_activity("hello", "before failing")
    raise ValueError(f"child boom {context.get_input()}")


@app.orchestration_trigger(context_name="context")
def child_flaky(context: df.DurableOrchestrationContext):
    """Fails while the ``flaky`` activity fails (no retry inside), else reports its own id."""
    value = yield context.call_activity("flaky", context.get_input())
    return {"id": context.instance_id, "value": value}


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    first = yield context.call_sub_orchestrator("child", "one")
    second = yield context.call_sub_orchestrator("child", "two")
    explicit = yield context.call_sub_orchestrator("child", "three", f"{context.instance_id}-explicit")
    fanned = yield context.task_all([context.call_sub_orchestrator("child", i) for i in range(2)])
    return [first, second, explicit, *fanned]


@app.orchestration_trigger(context_name="context")
def parent_catches_child(context: df.DurableOrchestrationContext):
    try:
        yield context.call_sub_orchestrator("child_fail", "caught")
    except Exception as exc:
        return {"caught": str(exc)}
    return {"caught": None}


@app.orchestration_trigger(context_name="context")
def parent_uncaught_child(context: df.DurableOrchestrationContext):
    yield context.call_sub_orchestrator("child_fail", "uncaught")
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def parent_of_waiting_child(context: df.DurableOrchestrationContext):
    """Runs 'approval' as a child with id '<own id>-child'; reports how the child ended."""
    try:
        result = yield context.call_sub_orchestrator("approval", {"timeout": 120}, f"{context.instance_id}-child")
    except Exception as exc:
        return {"caught": str(exc)}
    return {"result": result}


@app.orchestration_trigger(context_name="context")
def retry_activity(context: df.DurableOrchestrationContext):
    """``call_activity_with_retry`` of ``flaky``; then a child with a default id reveals the next id."""
    spec = context.get_input()
    options = df.RetryOptions(int(spec.get("interval_ms", 400)), int(spec["attempts"]))
    outcome: dict[str, Any] = {}
    try:
        outcome["result"] = yield context.call_activity_with_retry(
            "flaky", options, {"key": spec["key"], "fail_times": spec["fail_times"]}
        )
    except Exception as exc:
        outcome["error"] = str(exc)
    probe = yield context.call_sub_orchestrator("child", "probe")
    outcome["probe_id"] = probe["id"]
    return outcome


@app.orchestration_trigger(context_name="context")
def retry_in_all(context: df.DurableOrchestrationContext):
    """task_all([retry(flaky fails once), hello]): retry timer id 2, re-attempt 3, next id 4 (§3.2)."""
    spec = context.get_input()
    results = yield context.task_all(
        [
            context.call_activity_with_retry("flaky", df.RetryOptions(300, 3), {"key": spec["key"], "fail_times": 1}),
            context.call_activity("hello", "B"),
        ]
    )
    probe = yield context.call_sub_orchestrator("child", "probe")
    return {"results": results, "probe_id": probe["id"]}


@app.orchestration_trigger(context_name="context")
def retry_suborch(context: df.DurableOrchestrationContext):
    spec = context.get_input()
    options = df.RetryOptions(300, int(spec["attempts"]))
    outcome: dict[str, Any] = {}
    try:
        outcome["child"] = yield context.call_sub_orchestrator_with_retry(
            "child_flaky", options, {"key": spec["key"], "fail_times": spec["fail_times"]}
        )
    except Exception as exc:
        outcome["error"] = str(exc)
    probe = yield context.call_sub_orchestrator("child", "probe")
    outcome["probe_id"] = probe["id"]
    return outcome


@app.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext):
    """continue_as_new until ``n`` reaches ``max``; each generation calls one activity."""
    state = context.get_input()
    greeting = yield context.call_activity("hello", f"generation {state['n']}")
    context.set_custom_status({"n": state["n"]})
    if state["n"] < state["max"]:
        context.continue_as_new({"n": state["n"] + 1, "max": state["max"], "last": greeting})
        return None
    return {"n": state["n"], "last": state.get("last"), "greeting": greeting}


@app.orchestration_trigger(context_name="context")
def custom_status(context: df.DurableOrchestrationContext):
    context.set_custom_status({"stage": "waiting", "items": [1, 2, 3]})
    final = yield context.wait_for_external_event("go")
    context.set_custom_status(json.loads(final))
    return "done"


@app.orchestration_trigger(context_name="context")
def big_custom_status(context: df.DurableOrchestrationContext):
    """Sets a custom status above the extension's 16 KB limit."""
    context.set_custom_status("x" * (20 * 1024))
    yield context.call_activity("hello", "big")
    return "done"


@app.orchestration_trigger(context_name="context")
def orch_raises(context: df.DurableOrchestrationContext):
    yield context.call_activity("hello", "first")
    raise ValueError("bad thing")


@app.orchestration_trigger(context_name="context")
def activity_fails_caught(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("boom", "kaput")
    except Exception as exc:
        return {"error": str(exc)}
    return {"error": None}


@app.orchestration_trigger(context_name="context")
def activity_fails_uncaught(context: df.DurableOrchestrationContext):
    """Calls ``flaky`` without retry: fails while it fails (used by the rewind test)."""
    value = yield context.call_activity("flaky", context.get_input())
    return value


@app.orchestration_trigger(context_name="context")
def bad_output(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("not_serializable", None)
    except Exception as exc:
        return {"error": str(exc)}
    return {"error": None}


@app.orchestration_trigger(context_name="context")
def nondeterministic(context: df.DurableOrchestrationContext):
    """Calls ``hello`` first, but ``square`` once the test has created ``nd-<instance id>``."""
    flag = WORK / f"nd-{context.instance_id}"
    first = "square" if flag.exists() else "hello"
    yield context.call_activity(first, 3)
    context.set_custom_status("waiting")
    yield context.wait_for_external_event("go")
    return first


@app.orchestration_trigger(context_name="context")
def call_missing(context: df.DurableOrchestrationContext):
    yield context.call_activity("does_not_exist", 1)
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def call_missing_suborch(context: df.DurableOrchestrationContext):
    yield context.call_sub_orchestrator("no_such_orchestrator", 1)
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def case_insensitive(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("HELLO", "case")
    second = yield context.call_activity("Shout", "quiet")
    return [first, second]


@app.orchestration_trigger(context_name="context")
def slow_chain(context: df.DurableOrchestrationContext):
    spec = context.get_input()
    results = []
    for i in range(int(spec["n"])):
        results.append((yield context.call_activity("slow_step", {"tag": spec["tag"], "i": i})))
    return results


@app.orchestration_trigger(context_name="context")
def slow_fan(context: df.DurableOrchestrationContext):
    spec = context.get_input()
    tasks = [context.call_activity("slow_step", {"tag": spec["tag"], "i": i}) for i in range(int(spec["n"]))]
    results = yield context.task_all(tasks)
    return results
