"""v1 ``azureml.train.estimator`` (not supported yet)."""

from __future__ import annotations

from durableml._unsupported import unsupported_class

__all__ = ["Estimator"]

_HINT = "Estimators are not supported; use a PythonScriptStep with a RunConfiguration."
Estimator = unsupported_class("Estimator", __name__, _HINT)
