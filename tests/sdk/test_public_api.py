"""The public API of each package is curated in ``__all__`` (as httpx checks its own)."""

from __future__ import annotations

import importlib
import inspect

import pytest

PACKAGES = [
    "durableml",
    "durableml.core",
    "durableml.core.compute",
    "durableml.data",
    "durableml.pipeline",
    "durableml.pipeline.core",
    "durableml.pipeline.steps",
    "durableml.widgets",
    "durableml.exceptions",
    "durableml.client",
    "durableml.compat",
    "durableml.pipeline.document",
    "durableml.pipeline.compiler",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_unique_and_resolvable(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(exported) == len(set(exported)), f"{name}.__all__ lists a name twice"
    missing = [item for item in exported if not hasattr(module, item)]
    assert not missing, f"{name}.__all__ lists names the module lacks: {missing}"


@pytest.mark.parametrize("name", [p for p in PACKAGES if hasattr(importlib.import_module(p), "__path__")])
def test_package_exports_every_public_durableml_object_it_holds(name: str) -> None:
    module = importlib.import_module(name)
    leaked = [
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and attr not in module.__all__
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", "").startswith("durableml")
    ]
    assert not leaked, f"{name} exposes {leaked} without listing them in __all__"
