"""v1 ``azureml.automl`` (not supported yet)."""

from __future__ import annotations

__all__: list[str] = []
