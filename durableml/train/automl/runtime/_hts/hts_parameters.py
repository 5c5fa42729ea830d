"""v1 hierarchical time-series AutoML parameters (not supported yet)."""

from __future__ import annotations

from durableml._unsupported import unsupported_class

__all__ = ["HTSInferenceParameters", "HTSTrainParameters"]

_HINT = "AutoML is not supported; train the model in a PythonScriptStep."
HTSInferenceParameters = unsupported_class("HTSInferenceParameters", __name__, _HINT)
HTSTrainParameters = unsupported_class("HTSTrainParameters", __name__, _HINT)
