"""v1 ``azureml.contrib.automl`` (not supported yet)."""

from __future__ import annotations

__all__: list[str] = []
