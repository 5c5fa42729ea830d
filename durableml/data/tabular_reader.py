"""Read the files of a tabular dataset into a pandas DataFrame and apply its transforms.

pandas is imported only here, and only when data is actually read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from durableml.exceptions import NotSupportedError, ValidationError

__all__ = ["read_dataframe", "apply_transforms"]


def read_dataframe(files: Sequence[str], definition: Mapping[str, Any]) -> Any:
    """Read ``files`` with the format of ``definition`` and apply its transforms."""
    import pandas as pd

    fmt = dict(definition.get("format") or {})
    frames = [_read_one(pd, path, fmt) for path in sorted(files)]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return apply_transforms(frame, definition.get("transforms") or [])


def _read_one(pd: Any, path: str, fmt: Mapping[str, Any]) -> Any:
    kind = fmt.get("kind", "delimited")
    if kind == "sql":  # a query's rows, written as CSV by whoever ran it
        frame = pd.read_csv(path)
    elif kind == "delimited":
        frame = pd.read_csv(
            path,
            sep=fmt.get("separator", ","),
            header=0 if fmt.get("header", True) else None,
            encoding=fmt.get("encoding", "utf8"),
            keep_default_na=not fmt.get("emptyAsString", False),
        )
    elif kind == "parquet":
        frame = pd.read_parquet(path)
    elif kind == "json_lines":
        frame = pd.read_json(path, lines=True, encoding=fmt.get("encoding", "utf8"))
    else:
        raise NotSupportedError(f"Reading tabular format {kind!r}")
    if fmt.get("includePath"):
        frame.insert(0, "Path", path)
    return frame


def apply_transforms(frame: Any, transforms: Sequence[Mapping[str, Any]]) -> Any:
    """Apply take / skip / take_sample / keep_columns / drop_columns / random_split and the time filters
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
