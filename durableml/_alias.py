"""The meta-path finder behind the ``azureml`` compatibility alias (see :mod:`durableml.compat`).

Kept apart from ``durableml.compat`` so that ``import durableml`` can switch the alias on without
importing the module that ``python -m durableml.compat`` runs as ``__main__``.

The ``azureml`` compatibility alias: ``import azureml.core`` resolves to ``durableml.core``.

``enable()`` installs a meta-path finder that maps every ``azureml`` / ``azureml.<x>`` import to
the durableml module of the same path, as the very same module object (so
``azureml.core.Run is durableml.core.Run``). It does nothing when the real Azure ML SDK
(``azureml.core``) is installed: durableml never shadows it. ``DURABLEML_AZUREML_ALIAS=1`` makes
``import durableml`` call ``enable()``; ``python -m durableml.compat script.py args...`` runs a
script with the alias on (the step runner uses the same mechanism).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

__all__ = ["ENV_VAR", "enable", "disable", "is_enabled", "real_sdk_installed"]

ENV_VAR = "DURABLEML_AZUREML_ALIAS"
_ALIAS = "azureml"
_TARGET = "durableml"


class _AliasLoader(importlib.abc.Loader):
    """Loads ``azureml.x`` by importing ``durableml.x`` and handing back that module."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        self._spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The import system stamped the alias spec on the shared module; give it its own back.
        module.__spec__ = self._spec


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Finds ``azureml`` and ``azureml.*`` as aliases of the durableml modules."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _ALIAS and not fullname.startswith(_ALIAS + "."):
            return None
        real = _TARGET + fullname[len(_ALIAS) :]
        try:
            found = importlib.util.find_spec(real)
        except ModuleNotFoundError:
            return None
        if found is None:
            return None
        return importlib.machinery.ModuleSpec(
            fullname, _AliasLoader(real), is_package=found.submodule_search_locations is not None
        )


_finder = _AliasFinder()


def real_sdk_installed() -> bool:
    """True when the real Azure ML SDK (``azureml.core``) can be imported from sys.path."""
    base = importlib.machinery.PathFinder.find_spec(_ALIAS)
    if base is None or base.submodule_search_locations is None:
        return False
    return importlib.machinery.PathFinder.find_spec(f"{_ALIAS}.core", list(base.submodule_search_locations)) is not None


def is_enabled() -> bool:
    """True when the alias finder is installed."""
    return _finder in sys.meta_path


def enable() -> bool:
    """Install the alias unless the real SDK is installed; return whether the alias is active."""
    if is_enabled():
        return True
    if real_sdk_installed():
        return False
    sys.meta_path.insert(0, _finder)
    return True


def disable() -> None:
    """Remove the alias finder and forget the ``azureml`` module names it created."""
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name in [n for n in sys.modules if n == _ALIAS or n.startswith(_ALIAS + ".")]:
        if getattr(sys.modules[name], "__name__", "").startswith(_TARGET):
            del sys.modules[name]
