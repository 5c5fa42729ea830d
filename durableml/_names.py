"""Naming rules shared by the SDK objects, the pipeline document validator and the service: names of steps, outputs,
parameters and experiments, and every path or storage name that reaches a file system or a blob name."""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from typing import Optional

from durableml.exceptions import InvalidNameError, ValidationError

__all__ = [
    "IDENTIFIER_PATTERN",
    "EXPERIMENT_NAME_PATTERN",
    "is_identifier",
    "check_identifier",
    "check_experiment_name",
    "check_non_empty",
    "path_problem",
    "check_relative_path",
    "check_blob_name",
    "check_blob_prefix",
    "check_compute_path",
    "check_container_name",
    "check_datastore_name",
    "check_account_name",
    "check_lookup_name",
    "table_key_problem",
]

# Output, input and parameter names reach step scripts as command-line placeholders and
# environment variables, so they follow the v1 rule: a letter or underscore, then letters,
# digits, underscores; dashes are tolerated because v1 dataset names used them.
IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]{0,254}$"
EXPERIMENT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,254}$"


def is_identifier(value: object) -> bool:
    """Return True when ``value`` is a string that follows IDENTIFIER_PATTERN."""
    return isinstance(value, str) and re.match(IDENTIFIER_PATTERN, value) is not None


def check_identifier(value: object, what: str) -> str:
    """Return ``value`` if it is a valid name for ``what``, else raise InvalidNameError."""
    if not is_identifier(value):
        raise InvalidNameError(
            f"{what} name {value!r} is not valid: use 1-255 letters, digits, '_' or '-', "
            "starting with a letter or '_' (for example 'output_data1')."
        )
    assert isinstance(value, str)
    return value


def check_experiment_name(value: object) -> str:
    """Return ``value`` if it is a valid experiment name (v1 rules), else raise InvalidNameError."""
    if not isinstance(value, str) or re.match(EXPERIMENT_NAME_PATTERN, value) is None:
        raise InvalidNameError(
            f"Experiment name {value!r} is not valid: use 1-255 letters, digits, '_' or '-', "
            "starting with a letter or digit (for example 'Compare_Models_Exp')."
        )
    return value


def check_non_empty(value: object, what: str) -> str:
    """Return ``value`` if it is a non-empty string, else raise InvalidNameError."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidNameError(f"{what} must be a non-empty string, got {value!r}.")
    return value


# ------------------------------------------------------------------------------ paths and storage names
# Every path that reaches a file system (a script in a step's snapshot, a snapshot's files) or a blob name
# (datastore files, data paths, output destinations) is checked here, on the service's side; the SDK runs the
# same checks before it submits. A path is refused when any reading of it could leave its root: with "\\" read
# as "/" (Windows, and tools that normalise), after percent-decoding (once or repeatedly: a name that travels
# through URLs), and after Unicode NFKC normalisation (fullwidth "．．" and "‥" become "..", "／" and "＼" become
# separators in tools that normalise names). Ordinary names (spaces, letters of any script, dots inside a name,
# "%" that is no escape) pass.

MAX_BLOB_NAME = 1024  # Azure: a blob name is 1-1024 characters ...
MAX_BLOB_SEGMENTS = 254  # ... of at most 254 path segments
CONTAINER_NAME_PATTERN = r"^(?=.{3,63}$)[a-z0-9]+(?:-[a-z0-9]+)*$"
DATASTORE_NAME_PATTERN = r"^[A-Za-z0-9_]{1,255}$"
ACCOUNT_NAME_PATTERN = r"^[a-z0-9]{3,24}$"
_DRIVE = re.compile(r"^[A-Za-z]:")


def _readings(value: str) -> list[str]:
    """``value`` as the tools it may pass through could read it: as given, and percent-decoded and NFKC-normalised
    in any order until nothing changes (at most 4 rounds); "\\" read as "/" in every one."""
    readings = [value]
    fresh = [value]
    for _ in range(4):
        found = []
        for text in fresh:
            for other in (urllib.parse.unquote(text) if "%" in text else text, unicodedata.normalize("NFKC", text)):
                if other not in readings and other not in found:
                    found.append(other)
        if not found:
            break
        readings += found
        fresh = found
    return list(dict.fromkeys(text.replace("\\", "/") for text in readings))


def _control(text: str) -> Optional[str]:
    for char in text:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return f"the control character U+{ord(char):04X}"
    return None


def path_problem(value: str, *, absolute_ok: bool = False) -> Optional[str]:
    """Why ``value`` could name something outside the folder or prefix it is relative to (None: it cannot).

    Refused in any reading (see the comment above): control characters (NUL included), a ".." segment, and
    unless ``absolute_ok`` a leading "/" (or "\\", a drive "C:", a UNC "\\\\server")."""
    for reading in _readings(value):
        control = _control(reading)
        if control:
            return f"it holds {control}"
        if ".." in reading.split("/"):
            shown = "" if reading == value else f" (read as {reading!r})"
            return f"it has a '..' segment{shown}"
        if not absolute_ok and (reading.startswith("/") or _DRIVE.match(reading)):
            shown = "" if reading == value else f" (read as {reading!r})"
            return f"it is an absolute path{shown}"
    return None


def check_relative_path(value: object, what: str, example: str = "src/train.py") -> str:
    """Return ``value`` if it is a non-empty path that stays inside the folder it is relative to (a script in a
    step's source directory, a file of a snapshot), else raise ValidationError naming ``what``."""
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{what} must be a non-empty path relative to its folder, got {value!r}")
    problem = path_problem(value)
    if problem:
        raise ValidationError(
            f"{what} {_short(value)} is not allowed: {problem}. Give a path relative to its folder that stays "
            f"inside it, with '/' between folders and no '..' (for example {example!r})."
        )
    return value


def check_blob_name(value: object, what: str = "blob name") -> str:
    """Return ``value`` if it names one blob safely (a datastore file): 1-1024 characters, at most 254 segments,
    no leading or trailing "/", no empty, "." or ".." segment, no "\\" and no control characters in any reading,
    else raise ValidationError naming ``what``."""
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{what} must be a non-empty file path like 'folder/file.csv', got {value!r}")
    problem = path_problem(value) or _blob_shape(value)
    if problem:
        raise ValidationError(
            f"{what} {_short(value)} is not allowed: {problem}. Give a file path like 'folder/file.csv': "
            f"'/' between folders, no leading '/', no '\\', no '.' or '..' segments, at most {MAX_BLOB_NAME} "
            "characters."
        )
    return value


def check_blob_prefix(value: object, what: str = "datastore path") -> str:
    """Return ``value`` if it is a safe path or prefix in a datastore (a folder, a file, a glob; "" is the
    datastore's root; a leading or trailing "/" is tolerated, as v1 did), else raise ValidationError."""
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be a string like 'folder/' or 'folder/file.csv', got {value!r}")
    problem = path_problem(value, absolute_ok=True)
    if not problem and "\\" in value:
        problem = "it holds '\\' (use '/' between folders)"
    if not problem and len(value) > MAX_BLOB_NAME:
        problem = f"it has {len(value)} characters (at most {MAX_BLOB_NAME})"
    if problem:
        raise ValidationError(
            f"{what} {_short(value)} is not allowed: {problem}. Give a path in the datastore like 'folder/' or "
            "'folder/file.csv', with '/' between folders and no '..'."
        )
    return value


def check_compute_path(value: object, what: str) -> str:
    """Return ``value`` if it is a path on the compute target without '..' or control characters in any reading:
    relative to the step's working folder, or absolute (v1's ``path_on_compute`` could name any folder of the
    node); else raise ValidationError naming ``what``."""
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{what} must be a non-empty path on the compute target, got {value!r}")
    problem = path_problem(value, absolute_ok=True)
    if problem:
        raise ValidationError(
            f"{what} {_short(value)} is not allowed: {problem}. Give a path without '..', such as 'data/raw'."
        )
    return value


def _blob_shape(value: str) -> Optional[str]:
    if "\\" in value:
        return "it holds '\\' (use '/' between folders)"
    if len(value) > MAX_BLOB_NAME:
        return f"it has {len(value)} characters (at most {MAX_BLOB_NAME})"
    segments = value.split("/")
    if len(segments) > MAX_BLOB_SEGMENTS:
        return f"it has {len(segments)} path segments (at most {MAX_BLOB_SEGMENTS})"
    if value.endswith("/"):
        return "it ends with '/' (that names a folder, not a file)"
    if any(segment in ("", ".") for segment in segments):
        return "it has an empty or '.' segment"
    return None


def check_container_name(value: object, what: str = "container name") -> str:
    """Return ``value`` if it follows Azure's container naming rules (3-63 lowercase letters, digits and single
    hyphens, starting and ending with a letter or digit), else raise InvalidNameError."""
    if not isinstance(value, str) or re.match(CONTAINER_NAME_PATTERN, value) is None:
        raise InvalidNameError(
            f"{what} {_short(value)} is not valid: Azure container names have 3-63 characters, lowercase letters, "
            "digits and '-', start and end with a letter or digit and have no '--' (for example 'training-data')."
        )
    return value


def check_account_name(value: object) -> str:
    """Return ``value`` if it is a valid storage account name (Azure: 3-24 lowercase letters and digits; it
    becomes a host name), else raise InvalidNameError."""
    if not isinstance(value, str) or re.match(ACCOUNT_NAME_PATTERN, value) is None:
        raise InvalidNameError(
            f"storage account name {_short(value)} is not valid: Azure storage account names have 3-24 lowercase "
            "letters and digits (for example 'mystorageaccount')."
        )
    return value


def check_datastore_name(value: object) -> str:
    """Return ``value`` if it is a valid datastore name (v1: letters, digits and '_', case-insensitive; 1-255
    characters), else raise InvalidNameError."""
    if not isinstance(value, str) or re.match(DATASTORE_NAME_PATTERN, value) is None:
        raise InvalidNameError(
            f"datastore name {_short(value)} is not valid: a datastore name can only contain letters, digits and "
            "'_' (1-255 characters, for example 'training_data')."
        )
    return value


def check_lookup_name(value: object, what: str, most: int = 255) -> str:
    """Return ``value`` if it could name a stored resource (1-``most`` printable characters without "/", "\\",
    "#" or "?"), else raise InvalidNameError: a lookup of such a name is a 400, not a storage error."""
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= most
        or not value.isprintable()
        or any(c in value for c in "/\\#?")
    ):
        raise InvalidNameError(
            f"{what} name {_short(value)} is not valid: use 1-{most} printable characters without '/', '\\', "
            "'#' or '?'."
        )
    return value


MAX_TABLE_KEY = 512  # Azure Tables: a key is at most 1 KiB (512 UTF-16 code units, to be safe with any text)


def table_key_problem(value: str) -> Optional[str]:
    """Why ``value`` cannot be a PartitionKey or RowKey of Azure Tables ('/', '\\', '#', '?', control
    characters, over :data:`MAX_TABLE_KEY` characters), or None: no record can be stored under such a key."""
    if len(value.encode("utf-16-le")) > 2 * MAX_TABLE_KEY:
        return f"it has {len(value)} characters (at most {MAX_TABLE_KEY})"
    for char in value:
        if char in "/\\#?" or unicodedata.category(char) == "Cc":
            return f"it holds {char!r} (not allowed: '/', '\\', '#', '?' and control characters)"
    return None


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}...' ({len(str(value))} characters)"
