"""v1 ``azureml.train.automl`` (not supported yet)."""

from __future__ import annotations

from durableml._unsupported import unsupported_class

__all__ = ["AutoMLConfig"]

_HINT = "AutoML is not supported; train the model in a PythonScriptStep."
AutoMLConfig = unsupported_class("AutoMLConfig", __name__, _HINT)
