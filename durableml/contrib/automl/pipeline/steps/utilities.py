"""v1 many-models pipeline utilities (not supported yet)."""

from __future__ import annotations

from durableml._unsupported import unsupported_function

__all__ = ["get_output_from_mm_pipeline"]

_HINT = "AutoML is not supported; train the model in a PythonScriptStep."
get_output_from_mm_pipeline = unsupported_function("get_output_from_mm_pipeline", __name__, _HINT)
