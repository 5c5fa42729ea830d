"""Orchestrators driven directly through the SDK handle by tests/test_replay.py (no host)."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def retry_all(context):
    """task_all([retry(A), B]) then C: ids from the protocol doc §3.2."""
    yield context.task_all(
        [context.call_activity_with_retry("A", df.RetryOptions(1000, 2), None), context.call_activity("B", None)]
    )
    yield context.call_activity("C", None)
    return "done"


@app.orchestration_trigger(context_name="context")
def retry_to_end(context):
    """A retried activity (3 attempts) whose failure is caught."""
    try:
        yield context.call_activity_with_retry("A", df.RetryOptions(1000, 3), None)
    except Exception as exc:
        return f"caught: {exc}"
    return "ok"


@app.orchestration_trigger(context_name="context")
def chain(context):
    a = yield context.call_activity("A", 1)
    b = yield context.call_activity("B", a)
    return b


@app.orchestration_trigger(context_name="context")
def renamed(context):
    """Calls 'Z' where history says 'A': non-deterministic."""
    yield context.call_activity("Z", 1)
    return 1


@app.activity_trigger(input_name="x")
def A(x):  # noqa: N802 - Durable names
    return x


@app.activity_trigger(input_name="x")
def B(x):  # noqa: N802
    return x


@app.activity_trigger(input_name="x")
def C(x):  # noqa: N802
    return x
