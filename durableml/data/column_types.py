"""Column types for ``set_column_types`` (v1 ``azureml.data.DataType``), recorded in dataset definitions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from durableml.exceptions import NotSupportedError, ValidationError

__all__ = ["DataType", "column_types"]


class DataType:
    """A column type for ``set_column_types`` (v1 ``azureml.data.DataType``): ``DataType.to_long()`` ...

    Recorded in the dataset's definition as ``{"type", "decimalMark", "formats"}`` and applied where the data is
    read (``to_pandas_dataframe``, a step input): a value that does not convert is null, as v1's default
    ``on_error='null'``, or an error with ``to_pandas_dataframe(on_error='fail')``."""

    def __init__(self, kind: str = "string", **options: Any) -> None:
        self._kind = kind
        self._options = {k: v for k, v in options.items() if v is not None}

    @staticmethod
    def to_string() -> DataType:
        """Convert to string."""
        return DataType("string")

    @staticmethod
    def to_long() -> DataType:
        """Convert to 64-bit integer (a value with a fraction, or not a number, does not convert)."""
        return DataType("long")

    @staticmethod
    def to_float(decimal_mark: str = ".") -> DataType:
        """Convert to 64-bit float; ``decimal_mark`` "." (1234.56) or "," (1234,56)."""
        if decimal_mark not in (".", ","):
            raise ValidationError(f"decimal_mark must be '.' or ',', got {decimal_mark!r}.")
        return DataType("float", decimalMark=decimal_mark)

    @staticmethod
    def to_bool() -> DataType:
        """Convert to bool (true/false, yes/no, 1/0...)."""
        return DataType("bool")

    @staticmethod
    def to_datetime(formats: str | list[str] | None = None) -> DataType:
        """Convert to datetime, trying ``formats`` in order (``'%d-%m-%Y'``...; inferred when None)."""
        if formats is not None:
            formats = [formats] if not isinstance(formats, list) else formats
            if not all(isinstance(f, str) for f in formats):
                raise ValidationError(f"to_datetime formats must be strings, got {formats!r}.")
        return DataType("datetime", formats=formats or None)

    @staticmethod
    def to_stream(workspace: Any, escaped: bool = False) -> DataType:
        """Stream columns are not supported."""
        raise NotSupportedError("DataType.to_stream", "Read the files with a FileDataset instead.")

    def to_dict(self) -> dict[str, Any]:
        """The record kept in the dataset definition."""
        return {"type": self._kind, **self._options}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataType) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self._kind)

    def __str__(self) -> str:
        return self._kind

    def __repr__(self) -> str:
        return f"DataType({self.to_dict()!r})"


_COLUMN_TYPES_ERROR = (  # v1's words
    "`set_column_types` must be a dictionary where key is column name and value is :class: azureml.data.DataType"
)


def column_types(set_column_types: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """``set_column_types`` as the definition records it: ``{column: {"type", ...}}`` (v1's error otherwise)."""
    if set_column_types is None:
        return {}
    if not isinstance(set_column_types, Mapping):
        raise ValidationError(_COLUMN_TYPES_ERROR)
    result = {}
    for column, kind in sorted(set_column_types.items()):
        if not isinstance(column, str) or not isinstance(kind, DataType):
            raise ValidationError(_COLUMN_TYPES_ERROR)
        result[column] = kind.to_dict()
    return result
