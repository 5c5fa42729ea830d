"""v1 AutoML forecasting parameters (not supported yet)."""

from __future__ import annotations

from durableml._unsupported import unsupported_class

__all__ = ["ForecastingParameters"]

_HINT = "AutoML is not supported; train the model in a PythonScriptStep."
ForecastingParameters = unsupported_class("ForecastingParameters", __name__, _HINT)
