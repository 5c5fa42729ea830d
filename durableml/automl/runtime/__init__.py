"""v1 ``azureml.automl.runtime`` (not supported yet)."""

from __future__ import annotations

__all__: list[str] = []
