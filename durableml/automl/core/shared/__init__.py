"""v1 ``azureml.automl.core.shared`` (not supported yet)."""

from __future__ import annotations

__all__: list[str] = []
