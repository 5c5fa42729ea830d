"""v1 HTTP function returning its response (``$return``): the Tally entity's state."""

import json

import azure.durable_functions as df
import azure.functions as func


async def main(req: func.HttpRequest, client: str) -> func.HttpResponse:
    durable = df.DurableOrchestrationClient(client)
    found = await durable.read_entity_state(df.EntityId("Tally", req.route_params["key"]))
    return func.HttpResponse(json.dumps({"exists": found.entity_exists, "state": found.entity_state}))
