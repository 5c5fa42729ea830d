"""v1 ``azureml.train.hyperdrive`` (not supported yet)."""

from __future__ import annotations

from durableml._unsupported import unsupported_class, unsupported_function

__all__ = [
    "BanditPolicy",
    "BayesianParameterSampling",
    "GridParameterSampling",
    "HyperDriveConfig",
    "HyperDriveRun",
    "MedianStoppingPolicy",
    "PrimaryMetricGoal",
    "RandomParameterSampling",
    "TruncationSelectionPolicy",
    "choice",
    "lognormal",
    "loguniform",
    "normal",
    "quniform",
    "randint",
    "uniform",
]

_HINT = "HyperDrive is not supported; run the parameter sweep as PythonScriptSteps or in one script."
BanditPolicy = unsupported_class("BanditPolicy", __name__, _HINT)
BayesianParameterSampling = unsupported_class("BayesianParameterSampling", __name__, _HINT)
GridParameterSampling = unsupported_class("GridParameterSampling", __name__, _HINT)
HyperDriveConfig = unsupported_class("HyperDriveConfig", __name__, _HINT)
HyperDriveRun = unsupported_class("HyperDriveRun", __name__, _HINT)
MedianStoppingPolicy = unsupported_class("MedianStoppingPolicy", __name__, _HINT)
PrimaryMetricGoal = unsupported_class("PrimaryMetricGoal", __name__, _HINT)
RandomParameterSampling = unsupported_class("RandomParameterSampling", __name__, _HINT)
TruncationSelectionPolicy = unsupported_class("TruncationSelectionPolicy", __name__, _HINT)
choice = unsupported_function("choice", __name__, _HINT)
loguniform = unsupported_function("loguniform", __name__, _HINT)
lognormal = unsupported_function("lognormal", __name__, _HINT)
normal = unsupported_function("normal", __name__, _HINT)
quniform = unsupported_function("quniform", __name__, _HINT)
randint = unsupported_function("randint", __name__, _HINT)
uniform = unsupported_function("uniform", __name__, _HINT)
