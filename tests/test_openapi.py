"""The OpenAPI document describes exactly the HTTP routes the Function App registers."""

from __future__ import annotations

from pathlib import Path

from durableml.service import openapi
from funchost.functions import load_app

ROOT = Path(__file__).resolve().parent.parent


def test_every_route_is_documented_and_nothing_else() -> None:
    app = load_app(ROOT)
    registered = {
        (f"/api/{f.trigger['route']}", m.lower())
        for f in app.by_trigger("httpTrigger")
        for m in f.trigger.get("methods") or ["GET", "POST"]
    }
    documented = {(route, method) for route, ops in openapi.ROUTES.items() for method in ops}
    assert registered == documented


def test_document_is_openapi_3_with_path_parameters() -> None:
    doc = openapi.document()
    assert doc["openapi"].startswith("3.")
    op = doc["paths"]["/api/runs/{run_id}/files/{name}"]["get"]
    assert [p["name"] for p in op["parameters"] if p["in"] == "path"] == ["run_id", "name"]
    assert "PipelineDocument" in doc["components"]["schemas"]
