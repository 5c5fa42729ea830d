"""Partition formats: the key columns a dataset's file paths carry (v1's ``partition_format``).

A format such as ``'{state}/{date:yyyy/MM/dd}/data.csv'`` names string columns (``{state}``) and at most one
datetime column (``{date:yyyy/MM/dd}``, made of the parts ``yyyy MM dd HH mm ss``). As in v1 the format is
searched in each file's path (``/<path on the datastore>``; the format "starts at the first partition key and
runs to the end of the path"), with v1's regex: ``*`` matches anything, a key matches one path segment without
dots. A file whose path does not match gets no values (its key columns are empty), as v1's extraction leaves them.

Where a file's datastore path is not at hand (a step's staged input, a downloaded dataset) it is rebuilt from the
dataset's root folder (:mod:`durableml.data.layout`) and the file's place below it, which is where every stage
and download puts it. This module imports only the standard library.
"""

from __future__ import annotations

import datetime as _dt
import os
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from durableml.data import layout
from durableml.exceptions import ValidationError

__all__ = [
    "PartitionFormat",
    "parse_partition_format",
    "source_path",
    "local_source_paths",
    "group_files",
]

_DATE_PARTS = ("yyyy", "MM", "dd", "HH", "mm", "ss")
_RESERVED = {f"_sys_{p}" for p in _DATE_PARTS} | {"_sys_path_record"}
_ERRORS = {
    "NO_PART": "There must be at least one {column_name}",
    "NO_NAME": "Column name is not specified.",
    "NO_YEAR": "Format 'yyyy' must be defined for datetime column.",
    "NO_DATE_FORMAT": "Date format is not specified.",
    "BAD_BRACKET": "Brackets must is pair and cannot be nested",  # v1's words
    "TOO_MANY_DATE": "There cannot be more than one date part.",
    "RESERVED": "The specified column name is reserved. Please use a different name.",
}


@dataclass(frozen=True)
class PartitionFormat:
    """A parsed partition format: its regex, its columns (the datetime one last, as v1) and its date column."""

    text: str
    pattern: re.Pattern[str]
    columns: tuple[str, ...]
    date_column: str | None
    date_parts: tuple[str, ...]
    groups: Mapping[str, str]  # column or date part -> regex group

    def values(self, path: str) -> dict[str, Any] | None:
        """The key values of one file's path (``'/folder/CA/2020/01/02/data.csv'``), or None when it does not match.

        String keys are strings; the datetime key is a ``datetime.datetime`` (missing parts are 1 / 0)."""
        found = self.pattern.search(path if path.startswith("/") else "/" + path)
        if found is None:
            return None
        groups = found.groupdict()
        result: dict[str, Any] = {c: groups[self.groups[c]] for c in self.columns if c != self.date_column}
        if self.date_column is not None:
            parts = {p: int(groups[self.groups[p]]) for p in self.date_parts}
            try:
                result[self.date_column] = _dt.datetime(
                    parts.get("yyyy", 1), parts.get("MM", 1), parts.get("dd", 1),
                    parts.get("HH", 0), parts.get("mm", 0), parts.get("ss", 0),
                )  # fmt: skip
            except ValueError:
                result[self.date_column] = None  # not a date (month 13...): an error value, null as v1's default
        return result


def _fail(partition_format: str, error: str, part: str | None = None) -> ValidationError:
    where = f'Invalid part "{part}" in partition_format "{partition_format}".' if part else (
        f'Invalid partition_format "{partition_format}".')  # fmt: skip
    return ValidationError(f"{where} {_ERRORS[error]}")


def _validate(partition_format: str) -> None:
    no_escape = re.sub(r"{{|}}", "", partition_format)
    parts = re.findall(r"{[^{|}]*}", no_escape)
    if not parts:
        raise _fail(partition_format, "NO_PART")
    if re.search(r"[{}]", re.sub(r"{[^{|}]*}", "", no_escape)):
        raise _fail(partition_format, "BAD_BRACKET")
    has_date = False
    for part in parts:
        name = part[1:-1].split(":", 1)[0]
        if not name:
            raise _fail(partition_format, "NO_NAME", part)
        if ":" in part:
            if has_date:
                raise _fail(partition_format, "TOO_MANY_DATE", part)
            has_date = True
            if part.endswith(":}"):
                raise _fail(partition_format, "NO_DATE_FORMAT", part)
        if name in _RESERVED:
            raise _fail(partition_format, "RESERVED", part)


@lru_cache(maxsize=64)
def parse_partition_format(partition_format: str) -> PartitionFormat:
    """Parse and check a partition format (v1's rules and messages; a ValidationError when it is malformed)."""
    if not isinstance(partition_format, str):
        raise ValidationError(f"partition_format must be a string, got {partition_format!r}.")
    _validate(partition_format)
    pattern: list[str] = []
    groups: dict[str, str] = {}  # key or date part -> its regex group's name (any column name works)
    columns: list[str] = []
    date_column: str | None = None
    date_parts: list[str] = []
    text, i = partition_format, 0
    while i < len(text):
        if text[i : i + 2] in ("{{", "}}"):
            pattern.append(re.escape(text[i]))
            i += 2
            continue
        c = text[i]
        if c != "{":
            pattern.append("(.*?)" if c == "*" else re.escape(c))
            i += 1
            continue
        close = text.index("}", i)
        key = text[i + 1 : close]
        if ":" in key:  # the datetime column: its format's parts become groups of their own
            date_column, fmt = key.split(":", 1)
            for date_part in _DATE_PARTS:
                fmt = fmt.replace(date_part, "{\0" + date_part + "}")  # NUL marks a date part's placeholder
            text = text[:i] + fmt + text[close + 1 :]
            continue
        part = key[1:] if key.startswith("\0") else None
        digits = rf"\d{{{len(part)}}}" if part else r"[^\./\\]+"
        if key in groups:  # a repeated key: matched again, its first value kept (v1)
            pattern.append(f"({digits})")
        else:
            groups[key] = f"g{len(groups)}"
            pattern.append(f"(?P<{groups[key]}>{digits})")
            if part:
                date_parts.append(part)
            else:
                columns.append(key)
        i = close + 1
    if date_column is not None:
        columns.append(date_column)
    if date_parts and "yyyy" not in date_parts:
        raise _fail(partition_format, "NO_YEAR")
    names = {key[1:] if key.startswith("\0") else key: group for key, group in groups.items()}
    return PartitionFormat(partition_format, re.compile("".join(pattern)), tuple(columns), date_column,
                           tuple(date_parts), names)  # fmt: skip


def dataset_root(definition: Mapping[str, Any]) -> str:
    """The folder a dataset's files are placed below when staged or downloaded (see durableml.data.layout)."""
    folders = []
    for entry in definition.get("paths") or []:
        if entry.get("url"):
            continue
        path = str(entry.get("path") or "").strip("/")
        folders.append(layout.path_folder(path, []) if layout.has_wildcard(path) else path)
    return layout.common_folder(folders)


def source_path(definition: Mapping[str, Any], relative: str) -> str:
    """A file's path on its datastore (``/folder/file``), from its place below the dataset's root."""
    relative = relative.replace(os.sep, "/").lstrip("/")
    stores = [e for e in definition.get("paths") or [] if not e.get("url")]
    if len(stores) == 1:
        path = str(stores[0].get("path") or "").strip("/")
        if not layout.has_wildcard(path) and posixpath.basename(path) == relative:
            return "/" + path  # the dataset is that one file
    root = dataset_root(definition)
    return "/" + (f"{root}/{relative}" if root else relative)


def local_source_paths(definition: Mapping[str, Any], base: str, files: Iterable[str]) -> dict[str, str]:
    """``{local file: its datastore path}`` for files staged or downloaded below ``base`` (a file: itself)."""
    result = {}
    for file in files:
        relative = os.path.basename(file) if os.path.isfile(base) else os.path.relpath(file, base)
        result[file] = source_path(definition, relative)
    return result


def group_files(
    definition: Mapping[str, Any], base: str, files: Sequence[str], keys: Sequence[str] | None = None
) -> list[tuple[dict[str, Any], list[str]]]:
    """The files of a partitioned dataset staged below ``base``, grouped by the values of ``keys`` (all its
    partition keys by default): ``[({key: value}, [file, ...]), ...]`` in the order the groups first appear.

    This is what a ParallelRunStep with ``partition_keys`` feeds its entry script one group at a time: files
    whose path does not match the dataset's partition format are left out, as v1 leaves out files without values.
    """
    text = definition.get("partitionFormat")
    if not text:
        raise ValidationError("the dataset has no partition_format, so it has no partition keys to group by.")
    parsed = parse_partition_format(str(text))
    wanted = list(keys) if keys else list(parsed.columns)
    unknown = [k for k in wanted if k not in parsed.columns]
    if unknown:
        raise ValidationError(f"{unknown} are invalid partition keys")  # v1's words
    groups: dict[tuple[Any, ...], tuple[dict[str, Any], list[str]]] = {}
    for file, source in local_source_paths(definition, base, sorted(files)).items():
        values = parsed.values(source)
        if values is None:
            continue
        picked = {k: values[k] for k in wanted}
        groups.setdefault(tuple(picked.values()), (picked, []))[1].append(file)
    return list(groups.values())
