"""v1 ``azureml.train.automl.runtime`` (not supported yet)."""

from __future__ import annotations

__all__: list[str] = []
