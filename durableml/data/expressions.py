"""Filter expressions for ``TabularDataset.filter``, built the v1 way: ``dataset['col'] > 5``.

``dataset['col']`` is a :class:`ColumnExpression`; comparisons (``== != < <= > >=``) with a value or another
column, the string tests ``starts_with`` / ``ends_with`` / ``contains``, ``is_null()`` and the logical operators
``&`` ``|`` ``~`` build a :class:`FilterExpression`. Each is a typed record (``to_dict``), never code or a string
that is evaluated: the dataset's definition keeps the record (so a step input receives the filtered data), and
:func:`evaluate` applies it to a pandas DataFrame where the data is read.

Record shapes::

    {"column": "age"}                                  a column
    {"value": 5} / {"value": "2020-01-01T00:00:00", "type": "datetime"}
    {"op": "gt", "left": <operand>, "right": <operand>}     eq ne lt le gt ge
    {"op": "starts_with", "left": <column>, "right": {"value": "x"}}   ends_with contains
    {"op": "is_null", "left": <column>}
    {"op": "and" | "or", "args": [<expr>, <expr>]}     {"op": "not", "args": [<expr>]}

As in v1 a comparison with a missing value is false, and a string test on a value that is not a string is false.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from durableml.exceptions import ValidationError

__all__ = ["ColumnExpression", "FilterExpression", "evaluate", "check", "columns_of"]

_COMPARISONS = {"eq", "ne", "lt", "le", "gt", "ge"}
_STRING_TESTS = {"starts_with", "ends_with", "contains"}


def _operand(value: Any) -> dict[str, Any]:
    if isinstance(value, ColumnExpression):
        return {"column": value.name}
    if isinstance(value, FilterExpression):
        raise ValidationError("a filter condition cannot be compared with a value; combine conditions with & and |.")
    if isinstance(value, _dt.datetime):
        return {"value": value.isoformat(), "type": "datetime"}
    if isinstance(value, _dt.date):
        return {"value": _dt.datetime(value.year, value.month, value.day).isoformat(), "type": "datetime"}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    raise ValidationError(
        f"a filter compares a column with a string, number, bool, datetime or another column, not {value!r}."
    )


class _Node:
    """Shared by columns and conditions: no truth value (``a < b < c`` and ``and``/``or`` would lose a part)."""

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        raise TypeError(
            "a dataset filter expression has no truth value: combine conditions with & | ~ "
            "(not and / or / not), and parenthesize each comparison: (ds['a'] > 1) & (ds['b'] < 2)."
        )


class FilterExpression(_Node):
    """A condition on the records of a dataset (give it to ``TabularDataset.filter``)."""

    def __init__(self, record: Mapping[str, Any]) -> None:
        self._record = dict(record)

    def to_dict(self) -> dict[str, Any]:
        """The typed record kept in the dataset's definition."""
        return dict(self._record)

    def __and__(self, other: object) -> FilterExpression:
        return FilterExpression({"op": "and", "args": [self._record, _condition(other)]})

    def __or__(self, other: object) -> FilterExpression:
        return FilterExpression({"op": "or", "args": [self._record, _condition(other)]})

    def __invert__(self) -> FilterExpression:
        return FilterExpression({"op": "not", "args": [self._record]})

    def __repr__(self) -> str:
        return f"FilterExpression({self._record!r})"


def _condition(value: object) -> dict[str, Any]:
    if isinstance(value, FilterExpression):
        return value.to_dict()
    raise ValidationError(f"& | ~ combine filter conditions such as dataset['a'] > 1, not {value!r}.")


class ColumnExpression(_Node):
    """A column of a dataset (``dataset['name']``), to compare in a filter."""

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValidationError(f"a dataset column is named by a non-empty string, got {name!r}.")
        self.name = name

    def _compare(self, op: str, other: Any) -> FilterExpression:
        return FilterExpression({"op": op, "left": {"column": self.name}, "right": _operand(other)})

    def __eq__(self, other: object) -> FilterExpression:  # type: ignore[override]
        return self._compare("eq", other)

    def __ne__(self, other: object) -> FilterExpression:  # type: ignore[override]
        return self._compare("ne", other)

    def __lt__(self, other: Any) -> FilterExpression:
        return self._compare("lt", other)

    def __le__(self, other: Any) -> FilterExpression:
        return self._compare("le", other)

    def __gt__(self, other: Any) -> FilterExpression:
        return self._compare("gt", other)

    def __ge__(self, other: Any) -> FilterExpression:
        return self._compare("ge", other)

    def starts_with(self, prefix: str) -> FilterExpression:
        """Records whose value starts with ``prefix``."""
        return self._string_test("starts_with", prefix)

    def ends_with(self, suffix: str) -> FilterExpression:
        """Records whose value ends with ``suffix``."""
        return self._string_test("ends_with", suffix)

    def contains(self, text: str) -> FilterExpression:
        """Records whose value contains ``text``."""
        return self._string_test("contains", text)

    def is_null(self) -> FilterExpression:
        """Records whose value is missing."""
        return FilterExpression({"op": "is_null", "left": {"column": self.name}})

    def _string_test(self, op: str, text: Any) -> FilterExpression:
        if not isinstance(text, str):
            raise ValidationError(f"{op} needs a string, got {text!r}.")
        return FilterExpression({"op": op, "left": {"column": self.name}, "right": {"value": text}})

    def __repr__(self) -> str:
        return f"ColumnExpression({self.name!r})"


def check(record: Any) -> dict[str, Any]:
    """Check a filter record's shape (one sent by a client, or stored); return it as a plain dict."""
    if not isinstance(record, Mapping):
        raise ValidationError(f"a filter expression is a record, got {record!r}.")
    op = record.get("op")
    if op in ("and", "or", "not"):
        args = record.get("args")
        if not isinstance(args, list) or len(args) != (1 if op == "not" else 2):
            raise ValidationError(f"filter '{op}' needs {'one condition' if op == 'not' else 'two conditions'}.")
        return {"op": op, "args": [check(a) for a in args]}
    if op in _COMPARISONS | _STRING_TESTS | {"is_null"}:
        left = _check_operand(record.get("left"))
        if "column" not in left:
            raise ValidationError(f"filter '{op}' needs a column on its left, got {left!r}.")
        if op == "is_null":
            return {"op": op, "left": left}
        right = _check_operand(record.get("right"))
        if op in _STRING_TESTS and not isinstance(right.get("value"), str):
            raise ValidationError(f"filter '{op}' needs a string, got {right!r}.")
        return {"op": op, "left": left, "right": right}
    raise ValidationError(f"unknown filter operation {op!r} in {dict(record)!r}.")


def _check_operand(operand: Any) -> dict[str, Any]:
    if isinstance(operand, Mapping) and isinstance(operand.get("column"), str) and set(operand) == {"column"}:
        return {"column": operand["column"]}
    if isinstance(operand, Mapping) and "value" in operand and set(operand) <= {"value", "type"}:
        value = operand["value"]
        if operand.get("type") == "datetime":
            try:
                _dt.datetime.fromisoformat(str(value))
            except ValueError:
                raise ValidationError(f"filter datetime {value!r} is not ISO 8601.") from None
            return {"value": str(value), "type": "datetime"}
        if value is None or isinstance(value, (bool, int, float, str)):
            return {"value": value}
    raise ValidationError(f"a filter operand is {{'column': name}} or {{'value': v}}, got {operand!r}.")


def columns_of(record: Mapping[str, Any]) -> set[str]:
    """Every column a filter record reads."""
    found: set[str] = set()
    for arg in record.get("args") or []:
        found |= columns_of(arg)
    for side in ("left", "right"):
        operand = record.get(side)
        if isinstance(operand, Mapping) and "column" in operand:
            found.add(str(operand["column"]))
    return found


def evaluate(frame: Any, record: Mapping[str, Any]) -> Any:
    """The boolean mask (a pandas Series) of the records of ``frame`` that satisfy ``record``."""
    import pandas as pd

    op = record["op"]
    if op == "and":
        return evaluate(frame, record["args"][0]) & evaluate(frame, record["args"][1])
    if op == "or":
        return evaluate(frame, record["args"][0]) | evaluate(frame, record["args"][1])
    if op == "not":
        return ~evaluate(frame, record["args"][0])
    left = _series(frame, record["left"])
    if op == "is_null":
        return left.isna()
    if op in _STRING_TESTS:
        text = str(record["right"]["value"])
        strings = left.map(lambda v: isinstance(v, str))
        values = left.where(strings, "").astype(str)
        method = {"starts_with": "startswith", "ends_with": "endswith", "contains": "contains"}[op]
        hits = values.str.contains(text, regex=False) if method == "contains" else getattr(values.str, method)(text)
        return (hits & strings).astype(bool)
    right = _series(frame, record["right"]) if "column" in record["right"] else _scalar(left, record["right"])
    present = left.notna() & (
        right.notna() if isinstance(right, pd.Series) else pd.Series(right is not None, index=frame.index)
    )
    if op in ("eq", "ne") and not isinstance(right, pd.Series) and right is None:
        return left.isna() if op == "eq" else left.notna()
    try:
        result = {"eq": left.__eq__, "ne": left.__ne__, "lt": left.__lt__, "le": left.__le__, "gt": left.__gt__,
                  "ge": left.__ge__}[op](right)  # fmt: skip
    except TypeError as exc:
        raise ValidationError(
            f"filter: column {record['left']['column']!r} ({left.dtype}) cannot be compared with "
            f"{record['right']!r}: {exc}"
        ) from None
    return result.fillna(False).astype(bool) & present


def _series(frame: Any, operand: Mapping[str, Any]) -> Any:
    name = str(operand["column"])
    if name not in frame.columns:
        raise ValidationError(f"filter: the column {name!r} is not in the data (columns: {list(frame.columns)}).")
    return frame[name]


def _scalar(series: Any, operand: Mapping[str, Any]) -> Any:
    """A literal, made comparable with the column: a datetime for datetime columns (and datetime literals)."""
    import pandas as pd

    value = operand.get("value")
    if operand.get("type") == "datetime" or (
        isinstance(value, str) and pd.api.types.is_datetime64_any_dtype(series.dtype)
    ):
        stamp = pd.Timestamp(str(value))
        tz = getattr(series.dtype, "tz", None)
        if tz is not None and stamp.tzinfo is None:
            return stamp.tz_localize(tz)
        if tz is None and stamp.tzinfo is not None:
            return stamp.tz_convert(None)
        return stamp
    return value
