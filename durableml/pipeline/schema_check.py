"""A small JSON Schema checker for the subset the pipeline document schema uses.

Keywords: ``type``, ``enum``, ``const``, ``properties``, ``required``, ``additionalProperties``,
``propertyNames``, ``items``, ``pattern``, ``minLength``, ``minimum``, ``oneOf`` and local
``$ref`` (``#/$defs/...``). ``oneOf`` branches that fix ``kind`` with ``const`` are chosen by the
instance's ``kind``, so a wrong field is reported precisely instead of as "matches no branch".
Pure and dependency-free, so the service can run it on every request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from durableml.exceptions import Issue

__all__ = ["check_schema"]

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "null": (type(None),),
}


def check_schema(
    instance: Any, schema: Mapping[str, Any], root: Mapping[str, Any] | None = None, path: str = "$"
) -> list[Issue]:
    """Return every way ``instance`` breaks ``schema`` (an empty list when it conforms)."""
    root = root if root is not None else schema
    schema = _deref(schema, root)
    if "oneOf" in schema:
        return _one_of(instance, schema["oneOf"], root, path)
    type_issue = _check_type(instance, schema, path)
    if type_issue:
        return [type_issue]
    issues = _check_value(instance, schema, path)
    if isinstance(instance, dict):
        issues.extend(_check_object(instance, schema, root, path))
    elif isinstance(instance, list) and "items" in schema:
        for index, item in enumerate(instance):
            issues.extend(check_schema(item, schema["items"], root, f"{path}[{index}]"))
    return issues


def _deref(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
            raise ValueError(f"unsupported $ref {ref!r}")
        schema = root["$defs"][ref.removeprefix("#/$defs/")]
    return schema


def _check_type(instance: Any, schema: Mapping[str, Any], path: str) -> Issue | None:
    expected = schema.get("type")
    if expected is None:
        return None
    names = [expected] if isinstance(expected, str) else list(expected)
    for name in names:
        if isinstance(instance, _TYPES[name]) and not (isinstance(instance, bool) and name in ("integer", "number")):
            return None
    return Issue("schema", f"expected {' or '.join(names)}, got {_kind(instance)} {_short(instance)}", path)


def _check_value(instance: Any, schema: Mapping[str, Any], path: str) -> list[Issue]:
    issues: list[Issue] = []
    if "const" in schema and instance != schema["const"]:
        issues.append(Issue("schema", f"must be {schema['const']!r}, got {_short(instance)}", path))
    if "enum" in schema and instance not in schema["enum"]:
        allowed = ", ".join(repr(v) for v in schema["enum"])
        issues.append(Issue("schema", f"{_short(instance)} is not allowed; use one of {allowed}", path))
    if isinstance(instance, str):
        if "pattern" in schema and not re.search(schema["pattern"], instance):
            issues.append(Issue("schema", f"{instance!r} does not match the pattern {schema['pattern']}", path))
        if len(instance) < schema.get("minLength", 0):
            issues.append(Issue("schema", f"must not be shorter than {schema['minLength']} character(s)", path))
    if (
        isinstance(instance, (int, float))
        and not isinstance(instance, bool)
        and "minimum" in schema
        and instance < schema["minimum"]
    ):
        issues.append(Issue("schema", f"must be at least {schema['minimum']}, got {instance!r}", path))
    return issues


def _check_object(
    instance: dict[str, Any], schema: Mapping[str, Any], root: Mapping[str, Any], path: str
) -> list[Issue]:
    issues = [
        Issue("schema", f"the required field {key!r} is missing", path)
        for key in schema.get("required", ())
        if key not in instance
    ]
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    names = schema.get("propertyNames")
    for key, value in instance.items():
        child = f"{path}.{key}"
        if names is not None:
            issues.extend(
                Issue(i.code, f"name {key!r}: {i.message}", child) for i in check_schema(key, names, root, child)
            )
        if key in properties:
            issues.extend(check_schema(value, properties[key], root, child))
        elif extra is False:
            allowed = ", ".join(sorted(properties)) or "none"
            issues.append(Issue("schema", f"unknown field {key!r}; allowed fields: {allowed}", path))
        elif isinstance(extra, Mapping):
            issues.extend(check_schema(value, extra, root, child))
    return issues


def _one_of(instance: Any, branches: list[Mapping[str, Any]], root: Mapping[str, Any], path: str) -> list[Issue]:
    resolved = [_deref(branch, root) for branch in branches]
    kinds = [b.get("properties", {}).get("kind", {}).get("const") for b in resolved]
    if isinstance(instance, dict) and all(kinds):
        if instance.get("kind") in kinds:
            return check_schema(instance, resolved[kinds.index(instance["kind"])], root, path)
        allowed = ", ".join(repr(k) for k in kinds)
        return [Issue("schema", f"kind {_short(instance.get('kind'))} is not allowed here; use one of {allowed}", path)]
    matching = [b for b in resolved if not check_schema(instance, b, root, path)]
    if len(matching) == 1:
        return []
    return [Issue("schema", f"{_short(instance)} does not match exactly one of the allowed shapes", path)]


def _kind(value: Any) -> str:
    return {
        dict: "object",
        list: "array",
        str: "string",
        bool: "boolean",
        int: "integer",
        float: "number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
