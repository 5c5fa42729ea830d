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

__all__ = ["DRIVER_LOG", "now_iso", "temp_path_beside"]

DRIVER_LOG = ("logs", "70_driver_log.txt")


def now_iso() -> str:
    """The current UTC time as ISO 8601 with microseconds and a ``Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def temp_path_beside(path: Path) -> Path:
    """A fresh temporary name next to ``path``: unique per process *and* per call (threads share a pid)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
