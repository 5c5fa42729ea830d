"""The app bench/funchost_bench.py runs: trivial activities in a chain and in a fan-out/fan-in."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client) -> func.HttpResponse:
    iid = await client.start_new(req.route_params["name"], None, req.get_json())
    return client.create_check_status_response(req, iid)


@app.orchestration_trigger(context_name="context")
def chain(context):
    value = 0
    for _ in range(context.get_input()):
        value = yield context.call_activity("inc", value)
    return value


@app.orchestration_trigger(context_name="context")
def fan(context):
    results = yield context.task_all([context.call_activity("inc", i) for i in range(context.get_input())])
    return sum(results)


@app.activity_trigger(input_name="n")
def inc(n: int) -> int:
    return n + 1
