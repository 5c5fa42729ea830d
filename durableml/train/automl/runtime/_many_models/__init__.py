"""v1 many-models AutoML (not supported yet)."""

from __future__ import annotations

__all__: list[str] = []
