"""Checking a Databricks REST request against databricks-sdk's own models, as the loopback server does.

A request's fields are the parameters of the SDK method that sends it (``JobsAPI.submit`` for runs/submit,
``DbfsAPI.add_block`` for dbfs/add-block...); each field's value is parsed with the SDK type the method
annotates it with (a dataclass through its ``from_dict``, an Enum by value, a list of either) and written back
(``as_dict``). A field no model knows, or a value that does not come back the same, is refused with the path
of the first difference: that is how a client that sends what Databricks would not accept shows up in tests.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import typing
from typing import Any, Callable, Mapping

__all__ = ["RequestRefused", "check_body", "check_query", "method_fields"]


class RequestRefused(ValueError):
    """A request body or query that the SDK's models do not accept as it is; the message says where."""


def method_fields(method: Callable[..., Any]) -> dict[str, Any]:
    """The request fields of an SDK API method: its keyword parameters with their annotated types."""
    hints = typing.get_type_hints(method)
    return {
        name: hints.get(name, Any)
        for name, param in inspect.signature(method).parameters.items()
        if name != "self" and param.kind in (param.KEYWORD_ONLY, param.POSITIONAL_OR_KEYWORD)
    }


def check_body(body: Any, method: Callable[..., Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """``body`` if every field is one of ``method``'s and round-trips through its SDK type, else RequestRefused."""
    if not isinstance(body, dict):
        raise RequestRefused(f"the request body must be a JSON object, not {type(body).__name__}")
    fields = method_fields(method)
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise RequestRefused(f"unknown field(s) {unknown}; {method.__qualname__} knows {sorted(fields)}")
    for name in required:
        if body.get(name) in (None, ""):
            raise RequestRefused(f"missing required field {name!r}")
    for name, value in body.items():
        _check_value(value, fields[name], name)
    return body


def check_query(query: Mapping[str, str], method: Callable[..., Any], required: tuple[str, ...] = ()) -> None:
    """Refuse query parameters that ``method`` does not send, and missing required ones."""
    fields = method_fields(method)
    unknown = sorted(set(query) - set(fields))
    if unknown:
        raise RequestRefused(f"unknown query parameter(s) {unknown}; {method.__qualname__} knows {sorted(fields)}")
    for name in required:
        if not query.get(name):
            raise RequestRefused(f"missing required query parameter {name!r}")


def _check_value(value: Any, tp: Any, where: str) -> None:
    tp = _unwrap_optional(tp)
    origin = typing.get_origin(tp)
    if value is None:
        return
    if origin in (list, typing.List):
        if not isinstance(value, list):
            raise RequestRefused(f"{where}: expected a list, got {type(value).__name__}")
        (item,) = typing.get_args(tp) or (Any,)
        for i, element in enumerate(value):
            _check_value(element, item, f"{where}[{i}]")
        return
    if origin in (dict, typing.Dict):
        if not isinstance(value, dict):
            raise RequestRefused(f"{where}: expected an object, got {type(value).__name__}")
        return
    if isinstance(tp, type) and dataclasses.is_dataclass(tp) and hasattr(tp, "from_dict"):
        if not isinstance(value, dict):
            raise RequestRefused(f"{where}: expected a {tp.__name__} object, got {type(value).__name__}")
        back = tp.from_dict(value).as_dict()
        difference = _first_difference(value, back, where)
        if difference:
            raise RequestRefused(f"{difference} (as databricks.sdk's {tp.__name__} reads it)")
        return
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        if value not in {member.value for member in tp}:
            raise RequestRefused(f"{where}: {value!r} is not a {tp.__name__} ({[m.value for m in tp]})")
        return
    if tp in (str, int, bool, float) and not _is_type(value, tp):
        raise RequestRefused(f"{where}: expected {tp.__name__}, got {value!r}")


def _is_type(value: Any, tp: type) -> bool:
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, tp)


def _unwrap_optional(tp: Any) -> Any:
    if typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _first_difference(sent: Any, back: Any, where: str) -> str:
    """Where ``back`` (what the SDK model kept) differs from ``sent``; '' when they are the same."""
    if isinstance(sent, dict) and isinstance(back, dict):
        for key in sent:
            if key not in back:
                if sent[key] is None:
                    continue
                return f"{where}.{key}: unknown field"
            found = _first_difference(sent[key], back[key], f"{where}.{key}")
            if found:
                return found
        return ""
    if isinstance(sent, list) and isinstance(back, list):
        if len(sent) != len(back):
            return f"{where}: {len(sent)} items sent, {len(back)} read"
        for i, (a, b) in enumerate(zip(sent, back, strict=True)):
            found = _first_difference(a, b, f"{where}[{i}]")
            if found:
                return found
        return ""
    if sent != back or type(sent) is not type(back) and not (isinstance(sent, (int, float)) and sent == back):
        return f"{where}: {sent!r} is read as {back!r}"
    return ""
