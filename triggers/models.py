"""HTTP routes of the model registry (function-key auth): thin adapters over durableml.service.models.

Errors are mapped by ``triggers.api._respond``, the one place that turns durableml errors into answers.
"""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from durableml.service import models
from durableml.service import record_types as rt
from triggers.api import _body, _respond
from app_decorators import route

bp = df.Blueprint()


@route(bp, "models/{name?}", ["GET", "POST"])
async def model(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params.get("name")
    if req.method == "POST":
        return await _respond(
            lambda: models.register({**_body(req), **({"name": name} if name else {})}), 201, rt.Model
        )
    if name or req.params.get("id"):
        return await _respond(lambda: models.get(name, req.params.get("version"), req.params.get("id")), shape=rt.Model)
    return await _respond(
        lambda: models.list_models(req.params.get("name"), models.parse_tags(req.params.get("tags"))),
        shape=list[rt.Model],
    )


@route(bp, "model-files/{sha}", ["GET", "PUT"])
async def model_file(req: func.HttpRequest) -> func.HttpResponse:
    sha = req.route_params["sha"]
    if req.method == "PUT":
        return await _respond(lambda: models.put_file(sha, req.get_body()), 201, rt.StoredFile)
    return await _respond(lambda: func.HttpResponse(models.read_file(sha), mimetype="application/octet-stream"))
