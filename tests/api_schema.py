"""Checking answers of the durableml HTTP API against its OpenAPI document (durableml.service.openapi).

* :func:`refs` lists every ``$ref`` of the document with the pointer it resolves to (or raises naming the one
  that does not resolve).
* :func:`response_schema` is the schema of a route's JSON answer (by the route's OpenAPI path template).
* :func:`problems` validates a value against a schema of the document: with ``jsonschema`` (Draft 2020-12, the
  dialect of OpenAPI 3.1) when it is installed, else with the dependency-free checker the pipeline document
  uses (``durableml.pipeline.schema_check``), its ``#/components/schemas/X`` references rewritten to ``$defs``.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from durableml.pipeline.schema_check import check_schema

_COMPONENTS = "#/components/schemas/"


def resolve(document: dict[str, Any], ref: str) -> Any:
    """The value a local reference (``#/a/b``) points at; KeyError naming the reference when there is none."""
    if not ref.startswith("#/"):
        raise KeyError(f"{ref!r} is not a reference inside the document")
    value: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(value, dict) or part not in value:
            raise KeyError(f"{ref!r} does not resolve: no {part!r}")
        value = value[part]
    return value


def refs(value: Any, path: str = "#") -> Iterator[tuple[str, str]]:
    """``(where, ref)`` for every ``$ref`` in ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield path, item
            else:
                yield from refs(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from refs(item, f"{path}/{index}")


def response_schema(document: dict[str, Any], path: str, method: str = "get", status: str = "200") -> Any:
    """The JSON schema of the answer of ``method path`` with ``status`` (``path`` as the document spells it)."""
    return document["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


def problems(document: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    """Every way ``value`` breaks ``schema`` (a schema of ``document``); empty when it conforms."""
    try:
        import jsonschema
    except ImportError:
        return _fallback(document, schema, value)
    root = {**schema, "components": document["components"]}
    validator = jsonschema.Draft202012Validator(root)
    return [f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message}" for e in validator.iter_errors(value)]


def _fallback(document: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    text = json.dumps({"schema": schema, "defs": document["components"]["schemas"]})
    moved = json.loads(text.replace(f'"{_COMPONENTS}', '"#/$defs/'))
    root = {**moved["schema"], "$defs": moved["defs"]}
    return [f"{issue.path}: {issue.message}" for issue in check_schema(value, root, root, "$")]
