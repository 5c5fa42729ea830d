"""v1 AutoML scoring functions: importable, every attribute raises NotSupportedError."""

from __future__ import annotations

from durableml._unsupported import unsupported_module_getattr

__all__: list[str] = []

_HINT = "AutoML is not supported; train the model in a PythonScriptStep."
__getattr__ = unsupported_module_getattr(__name__, _HINT)
