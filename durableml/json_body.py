"""Reading a JSON request body: the one parser every HTTP route of the service uses (``triggers.api._body``).

Bounded before it is parsed: a body nested deeper than :data:`MAX_DEPTH` arrays and objects is refused with a
ValidationError (400) instead of reaching ``json.loads`` (whose recursion ends in a RecursionError, a 500) or
the recursive code downstream (schema checks, record shaping, storage). No document the service accepts comes
near the bound: a pipeline document nests about ten levels.
"""

from __future__ import annotations

import itertools
import json
import operator
import re
from typing import Any

from durableml.exceptions import ValidationError

__all__ = ["MAX_DEPTH", "nesting_depth", "parse_object"]

MAX_DEPTH = 64
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_WEIGHTS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")


def nesting_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in the JSON text ``raw`` (brackets inside strings do not count)."""
    # each opening bracket counts 2, each closing one 0: after the i-th bracket the sum is 2 * opened, and the
    # depth there is opened - closed = sum - i. All loops run in C: the scan costs about what json.loads does.
    outside = b"".join(raw.split(b'"')[::2]) if b"\\" not in raw else _STRING.sub(b"", raw)  # no strings
    brackets = outside.translate(_WEIGHTS, _NOT_BRACKETS)
    return max(map(operator.sub, itertools.accumulate(brackets), itertools.count(1)), default=0)


def parse_object(raw: bytes) -> dict[str, Any]:
    """The JSON object ``raw`` holds; ValidationError (400) if it is not JSON (``NaN`` and ``Infinity``, which
    Python's parser takes, included), not an object, or nested deeper than :data:`MAX_DEPTH`."""
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH:  # else it cannot nest deeper: no scan
        depth = nesting_depth(raw)
        if depth > MAX_DEPTH:
            raise ValidationError(
                f"the request body nests arrays and objects {depth} levels deep; at most {MAX_DEPTH} are accepted"
            )
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ValidationError(f"the request body must be a JSON object: {exc}") from exc
    if not isinstance(value, dict):
        raise ValidationError("the request body must be a JSON object")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
