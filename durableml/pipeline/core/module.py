"""v1 ``azureml.pipeline.core.module``: Modules are not supported by durableml yet."""

from __future__ import annotations

from durableml._unsupported import unsupported_class

__all__ = ["Module", "ModuleVersion", "ModuleVersionDescriptor"]

_HINT = "Use a PythonScriptStep with the module's script instead."
Module = unsupported_class("Module", __name__, _HINT)
ModuleVersion = unsupported_class("ModuleVersion", __name__, _HINT)
ModuleVersionDescriptor = unsupported_class("ModuleVersionDescriptor", __name__, _HINT)
