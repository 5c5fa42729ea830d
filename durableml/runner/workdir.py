"""The step runner's working directory: where the driver log goes, and the file helpers it writes with.

A backend gives the runner a directory per job; the runner lays out ``snapshot/`` (the script's working
directory), ``inputs/<name>``, ``outputs/<name>``, ``logs/70_driver_log.txt`` (v1's name for a step's
stdout and stderr), ``context.json`` and ``metrics.jsonl`` in it. Backends read the driver log from
:data:`DRIVER_LOG`; nothing here knows about any backend.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime, timezone
from pathlib import Path

__all__ = ["DRIVER_LOG", "in_snapshot", "now_iso", "temp_path_beside"]

DRIVER_LOG = ("logs", "70_driver_log.txt")


def now_iso() -> str:
    """The current UTC time as ISO 8601 with microseconds and a ``Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def temp_path_beside(path: Path) -> Path:
    """A fresh temporary name next to ``path``: unique per process *and* per call (threads share a pid)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def in_snapshot(name: str, snapshot: Path | None = None, what: str = "job script") -> Path:
    """The file ``name`` names in the step's source ``snapshot`` (default: the working folder, where drivers run).

    The service refuses names that leave the snapshot (``durableml._names.check_relative_path``); this is the last
    line for a job spec that did not come through it: a name that resolves (``..``, an absolute path, a symlink,
    NUL) outside the snapshot is a ValueError saying so.
    """
    root = (snapshot or Path.cwd()).resolve()
    resolved = (root / name).resolve() if "\x00" not in name else root
    if resolved == root or not resolved.is_relative_to(root):
        raise ValueError(
            f"{what} {name!r} is outside the step's source snapshot; name a file of the step's source_directory "
            "relative to it (like 'train.py' or 'src/train.py')"
        )
    return resolved
