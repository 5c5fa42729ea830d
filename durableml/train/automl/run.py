"""v1 ``azureml.train.automl.run`` (not supported yet)."""

from __future__ import annotations

from durableml._unsupported import unsupported_class

__all__ = ["AutoMLRun"]

_HINT = "AutoML is not supported; train the model in a PythonScriptStep."
AutoMLRun = unsupported_class("AutoMLRun", __name__, _HINT)
