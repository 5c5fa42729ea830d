"""Placeholders for the Azure ML SDK v1 names that durableml does not implement yet.

The names labelled X in ``aml-v1-api.md`` (AutoML, HyperDrive, Estimator, ModuleStep, CommandStep,
Synapse, Kusto, Azure Batch, the notebook runner, opendatasets ...) must be importable, so that a
notebook fails at the line that uses them with a clear message instead of at its imports with a
``ModuleNotFoundError`` or ``AttributeError``. Constructing, calling or reading any attribute of a
placeholder raises :class:`durableml.exceptions.NotSupportedError` naming the feature.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from durableml.exceptions import NotSupportedError, UnsupportedAttributeError

__all__ = ["UnsupportedMeta", "unsupported_class", "unsupported_function", "unsupported_module_getattr"]


class UnsupportedMeta(type):
    """Metaclass of placeholder classes: instantiating or using the class raises."""

    _feature: str
    _hint: str

    def __call__(cls, *args: Any, **kwargs: Any) -> NoReturn:
        raise NotSupportedError(cls._feature, cls._hint)

    def __getattr__(cls, name: str) -> NoReturn:
        if name.startswith("_"):
            raise AttributeError(name)
        raise UnsupportedAttributeError(f"{cls._feature}.{name}", cls._hint)


def unsupported_class(name: str, module: str, hint: str = "") -> type:
    """Return a placeholder class called ``name`` that raises NotSupportedError when used.

    ``module`` becomes the class's ``__module__`` so that tracebacks and ``repr`` show where the
    user imported it from.
    """
    namespace: dict[str, Any] = {
        "__module__": module,
        "__doc__": f"Placeholder for Azure ML SDK v1 ``{name}``, which durableml does not support yet.",
        "_feature": name,
        "_hint": hint,
    }
    return UnsupportedMeta(name, (), namespace)


def unsupported_function(name: str, module: str, hint: str = "") -> Callable[..., NoReturn]:
    """Return a placeholder function called ``name`` that raises NotSupportedError when called."""

    def placeholder(*args: Any, **kwargs: Any) -> NoReturn:
        raise NotSupportedError(name, hint)

    placeholder.__name__ = name
    placeholder.__qualname__ = name
    placeholder.__module__ = module
    placeholder.__doc__ = f"Placeholder for Azure ML SDK v1 ``{name}``, which durableml does not support yet."
    return placeholder


def unsupported_module_getattr(module: str, hint: str = "") -> Callable[[str], NoReturn]:
    """Return a module-level ``__getattr__`` under which every public attribute is unsupported.

    Used for v1 modules that user code imports whole (``azureml.automl.core.shared.constants``).
    It raises NotSupportedError itself, not an AttributeError, so that ``from module import NAME``
    shows the message instead of a bare "cannot import name". Private and dunder lookups still
    raise a plain AttributeError so that the import system and tools keep working.
    """

    def __getattr__(name: str) -> NoReturn:
        if name.startswith("_"):
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        raise NotSupportedError(f"{module}.{name}", hint)

    return __getattr__
