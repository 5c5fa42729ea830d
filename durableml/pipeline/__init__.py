"""Pipelines: authoring objects (``durableml.pipeline.core``, ``durableml.pipeline.steps``), the
compiler that freezes them into a pipeline document (``durableml.pipeline.compiler``), and the
document schema and validator the service shares (``durableml.pipeline.document``).

This package imports nothing itself, so that the service can load the document validator
without the authoring SDK.
"""

from __future__ import annotations

__all__: list[str] = []
