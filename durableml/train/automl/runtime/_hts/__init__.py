"""v1 hierarchical time-series AutoML (not supported yet)."""

from __future__ import annotations

__all__: list[str] = []
