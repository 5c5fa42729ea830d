"""Writing a DataFrame as parquet files partitioned by key columns, for ``TabularDataset.partition_by``.

The layout is v1's: one folder per key value, nested in the order of the keys (``US/WA/part-00000.parquet``);
a datetime key's folder is its value as ``yyyyMMddHHmmss``. The key columns are not in the files: the dataset's
partition format reads them back from the folders, as v1's does. DuckDB writes the files (no pyarrow).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from durableml.exceptions import ValidationError

__all__ = ["Written", "write_partitions"]


@dataclass
class Written:
    """What was written: the files, the datetime keys, and the types that give the other keys back."""

    files: list[str] = field(default_factory=list)
    date_keys: list[str] = field(default_factory=list)
    key_types: dict[str, dict[str, Any]] = field(default_factory=dict)


def write_partitions(frame: Any, keys: Sequence[str], folder: str) -> Written:
    """Write ``frame`` below ``folder`` partitioned by ``keys`` (each must be a column of it)."""
    import duckdb
    import pandas as pd

    written = Written()
    for key in keys:
        dtype = frame[key].dtype
        if pd.api.types.is_datetime64_any_dtype(dtype):
            written.date_keys.append(key)
        elif pd.api.types.is_bool_dtype(dtype):
            written.key_types[key] = {"type": "bool"}
        elif pd.api.types.is_integer_dtype(dtype):
            written.key_types[key] = {"type": "long"}
        elif pd.api.types.is_float_dtype(dtype):
            written.key_types[key] = {"type": "float", "decimalMark": "."}
    data_columns = [c for c in frame.columns if c not in keys]
    if not data_columns:
        raise ValidationError(
            f"partition_by: every column is a partition key ({list(keys)}); the parquet files need at least one "
            "other column."
        )
    with duckdb.connect() as con:
        for values, group in frame.groupby(list(keys), sort=True, dropna=False):
            values = values if isinstance(values, tuple) else (values,)
            parts = [
                _folder_name(key, value, key in written.date_keys) for key, value in zip(keys, values, strict=True)
            ]
            target = os.path.join(folder, *parts)
            os.makedirs(target, exist_ok=True)
            path = os.path.join(target, "part-00000.parquet")
            con.register("part_rows", group[data_columns].reset_index(drop=True))
            con.execute(f"COPY part_rows TO '{_literal(path)}' (FORMAT parquet)")
            con.unregister("part_rows")
            written.files.append(path)
    return written


def _folder_name(key: str, value: Any, is_date: bool) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        raise ValidationError(
            f"partition_by: key column {key!r} has missing values; a partition folder needs a value. "
            f"Fill them first (or filter them out: dataset.filter(~dataset[{key!r}].is_null()))."
        )
    text = pd.Timestamp(value).strftime("%Y%m%d%H%M%S") if is_date else str(value)
    if isinstance(value, (bool,)) or type(value).__name__ == "bool_":
        text = "True" if value else "False"
    if not text or text in (".", "..") or any(c in text for c in "/\\.") or "\0" in text:
        raise ValidationError(
            f"partition_by: key column {key!r} has the value {value!r}, which cannot be a folder name that the "
            "partition format reads back (no '/', '\\' or '.'); partition by another column."
        )
    return text


def _literal(path: str) -> str:
    return path.replace("'", "''")
