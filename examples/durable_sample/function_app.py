"""A tiny Durable Functions app: an HTTP starter, a chain orchestrator and one activity.

This is a plain Azure Functions Python v2 app; it runs unchanged under funchost or the Azure Functions
host. ``run.py`` next to it starts it under funchost and runs one orchestration end to end.
"""

from __future__ import annotations

from typing import Any, Generator

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="orchestrators/{functionName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start the orchestrator named in the route with the JSON body as input; 202 + status URLs."""
    body = req.get_body()
    try:
        payload = req.get_json() if body else None
    except ValueError:
        return func.HttpResponse("the request body must be JSON (or empty)", status_code=400)
    instance_id = await client.start_new(req.route_params["functionName"], client_input=payload)
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def hello_chain(context: df.DurableOrchestrationContext) -> Generator[Any, Any, list[str]]:
    """Call ``say_hello`` three times in sequence (function chaining) and return the greetings."""
    cities = context.get_input() or ["Tokyo", "Seattle", "London"]
    greetings: list[str] = []
    for city in cities[:3]:
        greetings.append((yield context.call_activity("say_hello", city)))
    return greetings


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    """The activity: one greeting."""
    return f"Hello {city}!"
