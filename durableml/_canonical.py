"""Canonical JSON and content hashes: the basis of stable, content-derived ids.

Two equal values always give the same bytes (sorted keys, no whitespace, no NaN), so ids derived
from them do not depend on dict order, the process, the machine or the working directory.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

__all__ = ["canonical_json", "content_hash", "content_uuid", "slugify"]

# A fixed namespace so that content_uuid() gives the same id on every machine.
_NAMESPACE = uuid.UUID("5b0c8f55-2f9e-4c51-9a0e-6b9d7c1e2a10")


def canonical_json(value: Any) -> str:
    """Serialize ``value`` deterministically; raises ValueError on NaN or infinity."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def content_hash(value: Any) -> str:
    """Return the SHA-256 hex digest of ``value``'s canonical JSON."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def content_uuid(value: Any) -> str:
    """Return a UUID (as a string) derived from ``value``'s canonical JSON."""
    return str(uuid.uuid5(_NAMESPACE, canonical_json(value)))


def slugify(text: str, max_length: int = 40) -> str:
    """Return ``text`` reduced to lowercase letters, digits and single underscores."""
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return slug[:max_length].rstrip("_") or "step"
