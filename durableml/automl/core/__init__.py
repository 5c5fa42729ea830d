"""v1 ``azureml.automl.core`` (not supported yet)."""

from __future__ import annotations

__all__: list[str] = []
