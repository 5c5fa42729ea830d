"""v1 many-models pipeline builders (not supported yet)."""

from __future__ import annotations

from durableml._unsupported import unsupported_class

__all__ = ["AutoMLPipelineBuilder"]

_HINT = "AutoML is not supported; train the model in a PythonScriptStep."
AutoMLPipelineBuilder = unsupported_class("AutoMLPipelineBuilder", __name__, _HINT)
