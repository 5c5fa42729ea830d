"""v1 many-models AutoML parameters (not supported yet)."""

from __future__ import annotations

from durableml._unsupported import unsupported_class

__all__ = ["ManyModelsInferenceParameters", "ManyModelsTrainParameters"]

_HINT = "AutoML is not supported; train the model in a PythonScriptStep."
ManyModelsInferenceParameters = unsupported_class("ManyModelsInferenceParameters", __name__, _HINT)
ManyModelsTrainParameters = unsupported_class("ManyModelsTrainParameters", __name__, _HINT)
