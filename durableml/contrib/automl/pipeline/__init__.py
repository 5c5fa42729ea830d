"""v1 ``azureml.contrib.automl.pipeline`` (not supported yet)."""

from __future__ import annotations

__all__: list[str] = []
