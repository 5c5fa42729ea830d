"""v1 HTTP starter: the legacy ``orchestrationClient`` binding, and the response through a named http output."""

import json

import azure.durable_functions as df
import azure.functions as func


async def main(req: func.HttpRequest, starter: str, message: func.Out[func.HttpResponse]) -> None:
    client = df.DurableOrchestrationClient(starter)
    body = req.get_body()
    instance_id = await client.start_new(req.route_params["functionName"], None, json.loads(body) if body else None)
    message.set(client.create_check_status_response(req, instance_id))
