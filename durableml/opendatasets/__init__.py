"""v1 ``azureml.opendatasets`` (not supported yet; the datasets need network access to Microsoft's storage)."""

from __future__ import annotations

from durableml._unsupported import unsupported_class

__all__ = ["NoaaIsdWeather", "NycTlcGreen", "NycTlcYellow"]

_HINT = "Download the data yourself and register it with Dataset.Tabular."
NoaaIsdWeather = unsupported_class("NoaaIsdWeather", __name__, _HINT)
NycTlcGreen = unsupported_class("NycTlcGreen", __name__, _HINT)
NycTlcYellow = unsupported_class("NycTlcYellow", __name__, _HINT)
