"""Read the files of a tabular dataset into a pandas DataFrame and apply its transforms.

pandas is imported only here, and only when data is actually read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from durableml.data.expressions import check, evaluate
from durableml.data.partitions import PartitionFormat, local_source_paths, parse_partition_format
from durableml.exceptions import NotSupportedError, ValidationError

__all__ = ["read_dataframe", "apply_transforms", "read_parquet", "convert_column", "ON_ERROR"]

ON_ERROR = ("null", "fail")


def read_dataframe(
    files: Sequence[str],
    definition: Mapping[str, Any],
    base: str | None = None,
    on_error: str = "null",
    out_of_range_datetime: str = "null",
) -> Any:
    """Read ``files`` with the format of ``definition``: each file's partition key columns (``partitionFormat``,
    from its datastore path, rebuilt from its place below ``base``: the folder it was staged or downloaded to),
    the column types it sets (``setColumnTypes``; a value that does not convert is null, or with
    ``on_error='fail'`` an error naming it, as v1), then its transforms (filters, take, ...)."""
    import pandas as pd

    for what, value in (("on_error", on_error), ("out_of_range_datetime", out_of_range_datetime)):
        if value not in ON_ERROR:
            raise ValidationError(f"{what} must be 'null' or 'fail', got {value!r}.")
    fmt = dict(definition.get("format") or {})
    partition = definition.get("partitionFormat") or fmt.get("partitionFormat")  # an output's view keeps it in fmt
    parsed = parse_partition_format(str(partition)) if partition else None
    ordered = sorted(files)
    sources = local_source_paths(definition, base, ordered) if base is not None else {f: f for f in ordered}
    frames = []
    for path in ordered:
        frame = _read_one(pd, path, fmt)
        if parsed is not None:
            frame = _with_partition_columns(pd, frame, parsed, sources[path])
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    frame = _typed(frame, dict(fmt.get("setColumnTypes") or {}), on_error, out_of_range_datetime)
    return apply_transforms(frame, definition.get("transforms") or [])


def read_parquet(path: str) -> Any:
    """One parquet file as a pandas DataFrame, read by DuckDB (no pyarrow needed); hive-style folder names in
    the path are not turned into columns (a partition format does that, when the dataset has one)."""
    import duckdb

    with duckdb.connect() as con:
        return con.execute("SELECT * FROM read_parquet(?, hive_partitioning = false)", [path]).df()


def _read_one(pd: Any, path: str, fmt: Mapping[str, Any]) -> Any:
    kind = fmt.get("kind", "delimited")
    # columns given a type are read as text and converted from it, as v1 does ("007" stays "007" as a string)
    as_text = {str(c): "str" for c in fmt.get("setColumnTypes") or {}}
    if kind == "sql":  # a query's rows, written as CSV by whoever ran it
        frame = pd.read_csv(path, dtype=as_text or None)
    elif kind == "delimited":
        frame = pd.read_csv(
            path,
            sep=fmt.get("separator", ","),
            header=0 if fmt.get("header", True) else None,
            encoding=fmt.get("encoding", "utf8"),
            keep_default_na=not fmt.get("emptyAsString", False),
            dtype=(as_text or None) if fmt.get("header", True) else None,
        )
    elif kind == "parquet":
        frame = read_parquet(path)
    elif kind == "json_lines":
        frame = pd.read_json(path, lines=True, encoding=fmt.get("encoding", "utf8"))
    else:
        raise NotSupportedError(f"Reading tabular format {kind!r}")
    if fmt.get("includePath"):
        frame.insert(0, "Path", path)
    return frame


def _with_partition_columns(pd: Any, frame: Any, parsed: PartitionFormat, source: str) -> Any:
    """The file's rows with its partition key values as columns (strings; the datetime key a datetime)."""
    values = parsed.values(source) or {}
    for column in parsed.columns:
        value = values.get(column)
        if column == parsed.date_column:
            frame[column] = pd.Series([value] * len(frame), index=frame.index, dtype="datetime64[us]")
        else:
            frame[column] = pd.Series([value] * len(frame), index=frame.index, dtype="str" if value else object)
    return frame


def _typed(frame: Any, types: Mapping[str, Any], on_error: str, out_of_range: str) -> Any:
    for column, spec in types.items():
        if column not in frame.columns:
            continue  # v1 leaves a column it does not find alone
        conversion = spec if isinstance(spec, Mapping) else {"type": str(spec)}
        frame[column] = convert_column(frame[column], conversion, on_error, out_of_range)
    return frame


def convert_column(
    series: Any, conversion: Mapping[str, Any], on_error: str = "null", out_of_range: str = "null"
) -> Any:
    """Convert one column as ``DataType.to_*`` asks (``{"type": "long" | "float" | "bool" | "string" |
    "datetime", "decimalMark", "formats"}``). A value that does not convert becomes null (v1's
    ``on_error='null'``), or raises a ValidationError naming the column and the value (``'fail'``)."""
    import pandas as pd

    kind = str(conversion.get("type"))
    present = series.notna()
    if kind == "string":
        return series.map(lambda v: v if isinstance(v, str) or pd.isna(v) else _text(v)).astype("str")
    if kind == "long":
        numbers = pd.to_numeric(_decimal(series, "."), errors="coerce")
        whole = numbers.notna() & (numbers == numbers.round())
        converted = numbers.where(whole)
        _errors(series, present & ~whole, kind, on_error)
        return converted.astype("Int64") if converted.isna().any() else converted.astype("int64")
    if kind == "float":
        converted = pd.to_numeric(_decimal(series, str(conversion.get("decimalMark") or ".")), errors="coerce")
        _errors(series, present & converted.isna(), kind, on_error)
        return converted.astype("float64")
    if kind == "bool":
        converted = series.map(_boolean)
        _errors(series, present & converted.isna(), kind, on_error)
        return converted.astype("boolean")
    if kind == "datetime":
        converted = _datetimes(series, conversion.get("formats"))
        _errors(series, present & converted.isna(), kind, on_error if out_of_range == "null" else "fail")
        return converted
    raise ValidationError(f"unknown column type {kind!r} in set_column_types (use azureml.data.DataType).")


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 2**53 else repr(value)
    return str(value)


def _decimal(series: Any, mark: str) -> Any:
    if series.dtype.kind in "biuf":
        return series
    text = series.map(lambda v: v.strip() if isinstance(v, str) else v)
    if mark == ",":
        text = text.map(lambda v: v.replace(".", "").replace(",", ".") if isinstance(v, str) else v)
    return text


_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def _boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    return None


def _datetimes(series: Any, formats: Any) -> Any:
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series
    text = series.map(lambda v: v if isinstance(v, str) or pd.isna(v) else _text(v))
    if not formats:
        return pd.to_datetime(text, errors="coerce", format="mixed")
    result = pd.Series(pd.NaT, index=series.index, dtype="datetime64[us]")
    for fmt in [formats] if isinstance(formats, str) else list(formats):
        result = result.fillna(pd.to_datetime(text, errors="coerce", format=str(fmt)))
    return result


def _errors(series: Any, failed: Any, kind: str, on_error: str) -> None:
    if on_error == "fail" and bool(failed.any()):
        bad = series[failed]
        raise ValidationError(
            f"column {series.name!r}: {int(failed.sum())} value(s) cannot be converted to {kind} "
            f"(set_column_types), the first {bad.iloc[0]!r} in row {int(bad.index[0])}; read with "
            "to_pandas_dataframe(on_error='null') to get nulls instead."
        )


def apply_transforms(frame: Any, transforms: Sequence[Mapping[str, Any]]) -> Any:
    """Apply filter / take / skip / take_sample / keep_columns / drop_columns / random_split and the time filters
    (``time_filter``, ``time_recent`` on the column ``timestamp_column`` names) in order."""
    timestamp: str | None = None
    for transform in transforms:
        kind = transform.get("kind")
        if kind == "timestamp_column":
            timestamp = transform.get("column")
        elif kind == "time_filter":
            frame = _between(frame, str(transform["column"]), transform.get("after"), transform.get("before"),
                             bool(transform.get("includeBoundary", True)))  # fmt: skip
        elif kind == "time_recent":
            import pandas as pd

            now = pd.Timestamp.now(tz="UTC")
            start = now - pd.Timedelta(seconds=float(transform["seconds"]))
            if not timestamp:
                raise ValidationError("time_recent needs a timestamp column (with_timestamp_columns) first.")
            frame = _between(frame, timestamp, start.isoformat(), None, bool(transform.get("includeBoundary", True)))
        elif kind == "take_sample":
            frame = frame.sample(frac=float(transform["probability"]), random_state=transform.get("seed"))
            frame = frame.sort_index()
        elif kind == "take":
            frame = frame.head(int(transform["count"]))
        elif kind == "skip":
            frame = frame.iloc[int(transform["count"]) :]
        elif kind == "keep_columns":
            frame = frame[list(transform["columns"])]
        elif kind == "drop_columns":
            frame = frame.drop(columns=list(transform["columns"]))
        elif kind == "filter":
            frame = frame[evaluate(frame, check(transform["expression"]))]
        elif kind == "random_split":
            first = frame.sample(frac=float(transform["percentage"]), random_state=transform.get("seed"))
            frame = first if transform.get("part", 0) == 0 else frame.drop(first.index)
        else:
            raise ValidationError(f"Unknown dataset transform {kind!r} in {dict(transform)!r}.")
    return frame.reset_index(drop=True)


def _between(frame: Any, column: str, after: Any, before: Any, inclusive: bool) -> Any:
    """The rows whose ``column`` (read as times) lies after ``after`` and before ``before``."""
    import pandas as pd

    if column not in frame.columns:
        raise ValidationError(f"the timestamp column {column!r} is not in the data (columns: {list(frame.columns)}).")
    times = pd.to_datetime(frame[column], utc=True, errors="coerce")
    keep = pd.Series(True, index=frame.index)
    if after is not None:
        start = pd.Timestamp(after)
        start = start.tz_localize("UTC") if start.tzinfo is None else start
        keep &= times >= start if inclusive else times > start
    if before is not None:
        end = pd.Timestamp(before)
        end = end.tz_localize("UTC") if end.tzinfo is None else end
        keep &= times <= end if inclusive else times < end
    return frame[keep]
