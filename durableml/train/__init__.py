"""v1 ``azureml.train``: AutoML, HyperDrive and Estimator, which durableml does not support yet."""

from __future__ import annotations

__all__: list[str] = []
