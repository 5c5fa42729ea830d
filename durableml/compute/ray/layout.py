"""What a Ray-backed step keeps in storage: the shared layout of :mod:`durableml.compute.layout`, re-exported under
this name (which earlier versions imported)."""

from __future__ import annotations

from durableml.compute import layout as _layout
from durableml.compute.layout import *  # noqa: F403

__all__ = list(_layout.__all__)
