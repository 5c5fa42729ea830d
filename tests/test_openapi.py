"""The OpenAPI document describes exactly the HTTP routes the Function App registers, its references resolve, and
its record schemas are generated from durableml.service.record_types (answers of the running service are checked
against them in tests/e2e/test_api_records.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, NotRequired, Optional, TypedDict

from durableml.service import openapi
from durableml.service import record_types as rt
from funchost.functions import load_app
from tests import api_schema

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


def test_every_reference_resolves() -> None:
    doc = openapi.document()
    found = list(api_schema.refs(doc))
    assert len(found) > 50
    for where, ref in found:
        assert ref.startswith("#/components/schemas/"), f"{where}: {ref}"
        api_schema.resolve(doc, ref)  # KeyError names the one that does not resolve


def test_records_are_closed_and_generated_from_their_types() -> None:
    schemas = openapi.document()["components"]["schemas"]
    for name in ("PipelineRun", "StepRun", "Compute", "Schedule", "PublishedPipeline", "PipelineEndpoint", "Model"):
        assert schemas[name]["additionalProperties"] is False, name
        fields = rt.fields(getattr(rt, name))
        assert list(schemas[name]["properties"]) == [f.name for f in fields]
        assert schemas[name]["required"] == [f.name for f in fields if f.required]
    assert schemas["ComputeSpec"]["additionalProperties"] is True  # request bodies: older clients' names too
    run = openapi.document()["paths"]["/api/runs/{run_id}"]["get"]["responses"]["200"]["content"]
    assert run["application/json"]["schema"]["discriminator"]["propertyName"] == "kind"


class _Inner(TypedDict):
    """An inner record."""

    dataKey: str


class _Sample(TypedDict):
    count: int
    ratio: float
    flag: bool
    note: Optional[str]
    kind: Literal["a", "b"]
    tags: dict[str, str]
    items: list[_Inner]
    inner: Optional[_Inner]
    anything: Any
    createdUtc: Annotated[str, rt.StoredAs("created")]
    maybe: NotRequired[list[int]]


def test_the_generator_covers_the_type_forms() -> None:
    generator = openapi._Generator()
    assert generator.schema(_Sample) == {"$ref": "#/components/schemas/_Sample"}
    sample = generator.components["_Sample"]
    assert sample["properties"] == {
        "count": {"type": "integer"},
        "ratio": {"type": "number"},
        "flag": {"type": "boolean"},
        "note": {"type": ["string", "null"]},
        "kind": {"type": "string", "enum": ["a", "b"]},
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/_Inner"}},
        "inner": {"oneOf": [{"$ref": "#/components/schemas/_Inner"}, {"type": "null"}]},
        "anything": {},
        "createdUtc": {"type": "string"},
        "maybe": {"type": "array", "items": {"type": "integer"}},
    }
    assert "maybe" not in sample["required"] and "note" in sample["required"]
    assert generator.components["_Inner"]["description"] == "An inner record."


def test_stored_records_convert_to_their_api_shape_by_the_type_alone() -> None:
    stored = {
        "count": 1,
        "ratio": 0.5,
        "flag": True,
        "note": None,
        "kind": "a",
        "tags": {"snake_key": "kept"},  # a map's keys are data, never renamed
        "items": [{"data_key": "k"}],
        "inner": None,
        "anything": {"any_thing": 1},
        "created": "2026-01-01T00:00:00Z",
        "document_blob": "storage bookkeeping, left out",
    }
    shaped = rt.to_api(_Sample, stored)
    assert shaped == {
        "count": 1,
        "ratio": 0.5,
        "flag": True,
        "note": None,
        "kind": "a",
        "tags": {"snake_key": "kept"},
        "items": [{"dataKey": "k"}],
        "inner": None,
        "anything": {"any_thing": 1},
        "createdUtc": "2026-01-01T00:00:00Z",
    }
    generator = openapi._Generator()
    schema = generator.schema(_Sample)
    doc = {"components": {"schemas": generator.components}}
    for check in (api_schema.problems, api_schema._fallback):  # with jsonschema, and without it
        assert check(doc, schema, shaped) == []
        assert check(doc, schema, {**shaped, "extra": 1})  # closed
        assert check(doc, schema, {**shaped, "kind": "c"})


def test_runs_choose_their_shape_by_kind() -> None:
    step = {"id": "s", "kind": "step", "parent_id": "p", "compute_target": "cpu", "reused_from": None}
    assert rt.to_api(rt.Run, step) == {
        "id": "s",
        "parentRunId": "p",
        "kind": "step",
        "target": "cpu",
        "reusedFrom": None,
    }
    pipeline = {"id": "p", "kind": "pipeline", "parent_id": None, "run_source": "SDK"}
    assert rt.to_api(rt.Run, pipeline) == {"id": "p", "parentRunId": None, "kind": "pipeline", "runSource": "SDK"}


def test_request_bodies_take_api_camel_and_snake_names() -> None:
    for body in ({"maxNodeCount": 3}, {"maxNodes": 3}, {"max_nodes": 3}):
        assert rt.from_api(rt.ComputeSpec, {"type": "AmlCompute", "vmSize": "D2", **body}) == {
            "type": "AmlCompute",
            "vm_size": "D2",
            "max_nodes": 3,
        }
    assert rt.from_api(rt.ComputeSpec, {"max_nodes": 1, "maxNodeCount": 2})["max_nodes"] == 2  # the API name wins
    assert rt.from_api(rt.DatastoreSpec, {"containerName": "c", "accessToken": "x"}) == {
        "container_name": "c",
        "accessToken": "x",
    }
