"""JSON Schema checks of pipeline documents, with fastjsonschema, reported as :class:`Issue` s.

``fastjsonschema`` compiles the schema to Python once per process (about 50 ms, on the first check); a
document that conforms costs one call of that compiled function. A document that does not is checked
again by a second compiled function that collects every error (``fast_fail=False``), and each error
becomes an Issue with the JSON path of the offending value (``$.steps[0].allowReuse``) and what was
expected. Two kinds of error get a closer look, because fastjsonschema reports them as a whole:

* ``oneOf`` whose branches fix ``kind`` with ``const`` (bindings, sources, edges): the branch named by the
  instance's ``kind`` is checked on its own, so a wrong field is reported precisely instead of as
  "matches no branch";
* ``propertyNames``: each name is checked, so the offending name is reported.

Measured on the submit path (bench/schema_bench.py, docs/benchmarks.md): fastjsonschema is as fast as the
hand-written checker it replaces, jsonschema about 10 times slower. Unlike that checker, patterns follow
JSON Schema's regular expressions: ``$`` is the end of the text, so a name with a trailing newline is refused.
The schema keeps its draft 2020-12 ``$schema``; fastjsonschema reads its keywords (``$defs``/``$ref``,
``const``, ``propertyNames``, ``items`` as one schema...) with its draft-07 rules, which agree for them;
``format`` is not checked (an annotation in draft 2020-12, and the OpenAPI schemas use formats such as
``uuid`` that fastjsonschema would enforce).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import fastjsonschema

from durableml.exceptions import Issue

__all__ = ["check_schema"]

_Validator = Callable[[Any], Any]
_compiled: dict[tuple[int, int, bool], tuple[Mapping[str, Any], Mapping[str, Any], _Validator]] = {}
_lock = threading.Lock()


def check_schema(
    instance: Any, schema: Mapping[str, Any], root: Mapping[str, Any] | None = None, path: str = "$"
) -> list[Issue]:
    """Return every way ``instance`` breaks ``schema`` (an empty list when it conforms).

    ``root`` is the document ``schema`` belongs to (its ``$defs`` resolve ``$ref`` s); ``path`` is the JSON
    path of ``instance``, the prefix of the issues' paths.
    """
    root = root if root is not None else schema
    try:
        _validator(schema, root, fast_fail=True)(instance)
        return []
    except fastjsonschema.JsonSchemaValueException as first:
        try:
            _validator(schema, root, fast_fail=False)(instance)
        except fastjsonschema.JsonSchemaValuesException as every:
            issues = [issue for error in every.errors for issue in _issues(error, root, path)]
        except fastjsonschema.JsonSchemaValueException as error:
            issues = _issues(error, root, path)
        else:
            issues = []
        return issues or _issues(first, root, path)


def _validator(schema: Mapping[str, Any], root: Mapping[str, Any], fast_fail: bool) -> _Validator:
    """The compiled check of ``schema`` (part of ``root``), cached for the life of the process."""
    key = (id(schema), id(root), fast_fail)
    cached = _compiled.get(key)
    if cached is None:
        definition = dict(schema) if schema is root else {**schema, "$defs": root.get("$defs", {})}
        # no defaults filled in (the document is not changed); "format" annotates, as in draft 2020-12
        validate = fastjsonschema.compile(definition, use_default=False, use_formats=False, fast_fail=fast_fail)
        with _lock:
            cached = _compiled.setdefault(key, (schema, root, validate))  # the schemas stay alive: ids stay theirs
    return cached[2]


def _issues(error: fastjsonschema.JsonSchemaValueException, root: Mapping[str, Any], prefix: str) -> list[Issue]:
    """The Issues one fastjsonschema error stands for."""
    path = prefix + (error.name or "data").removeprefix("data")
    definition: Mapping[str, Any] = error.definition if isinstance(error.definition, Mapping) else {}
    value, rule = error.value, error.rule
    if rule == "type":
        expected = definition["type"]
        names = [expected] if isinstance(expected, str) else list(expected)
        return [Issue("schema", f"expected {' or '.join(names)}, got {_kind(value)} {_short(value)}", path)]
    if rule == "const":
        return [Issue("schema", f"must be {definition['const']!r}, got {_short(value)}", path)]
    if rule == "enum":
        allowed = ", ".join(repr(v) for v in definition["enum"])
        return [Issue("schema", f"{_short(value)} is not allowed; use one of {allowed}", path)]
    if rule == "pattern":
        return [Issue("schema", f"{value!r} does not match the pattern {definition['pattern']}", path)]
    if rule == "minLength":
        return [Issue("schema", f"must not be shorter than {definition['minLength']} character(s)", path)]
    if rule == "minimum":
        return [Issue("schema", f"must be at least {definition['minimum']}, got {value!r}", path)]
    if rule == "required" and isinstance(value, Mapping):
        missing = [key for key in definition["required"] if key not in value]
        return [Issue("schema", f"the required field {key!r} is missing", path) for key in missing]
    if rule == "additionalProperties" and isinstance(value, Mapping):
        properties = definition.get("properties", {})
        allowed = ", ".join(sorted(properties)) or "none"
        return [
            Issue("schema", f"unknown field {key!r}; allowed fields: {allowed}", path)
            for key in value
            if key not in properties
        ]
    if rule == "propertyNames" and isinstance(value, Mapping):
        return [
            Issue(issue.code, f"name {key!r}: {issue.message}", f"{path}.{key}")
            for key in value
            for issue in check_schema(key, definition["propertyNames"], root, f"{path}.{key}")
        ]
    if rule == "oneOf":
        return _one_of(value, definition["oneOf"], root, path)
    message = error.message.removeprefix(error.name or "").strip()  # a keyword the document schema does not use
    return [Issue("schema", message or error.message, path)]


def _one_of(value: Any, branches: list[Mapping[str, Any]], root: Mapping[str, Any], path: str) -> list[Issue]:
    resolved = [_deref(branch, root) for branch in branches]
    kinds = [branch.get("properties", {}).get("kind", {}).get("const") for branch in resolved]
    if isinstance(value, Mapping) and all(kinds):
        if value.get("kind") in kinds:
            return check_schema(value, resolved[kinds.index(value["kind"])], root, path)
        allowed = ", ".join(repr(kind) for kind in kinds)
        return [Issue("schema", f"kind {_short(value.get('kind'))} is not allowed here; use one of {allowed}", path)]
    return [Issue("schema", f"{_short(value)} does not match exactly one of the allowed shapes", path)]


def _deref(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """A ``{"$ref": "#/$defs/name"}`` branch as the schema it names (the document schema's refs are all local)."""
    while isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/$defs/"):
        schema = root["$defs"][schema["$ref"].removeprefix("#/$defs/")]
    return schema


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
