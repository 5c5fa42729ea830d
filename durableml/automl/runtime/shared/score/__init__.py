"""v1 AutoML scoring (not supported yet)."""

from __future__ import annotations

__all__: list[str] = []
