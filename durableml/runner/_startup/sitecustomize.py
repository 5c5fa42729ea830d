"""Step processes only: turn on the ``azureml`` alias lazily, at the script's first ``import azureml``.

The step runner puts this directory first on the script's PYTHONPATH. Installing a tiny finder costs
microseconds; ``durableml.compat`` (about 15 ms) is imported only if the script imports ``azureml``,
so ``from azureml.core import Run`` works unchanged while scripts that never touch azureml start as
fast as a bare ``python script.py``. Any other ``sitecustomize`` further on sys.path still runs.
"""

from __future__ import annotations

import os
import sys


class _LazyAzuremlAlias:
    """Meta-path finder: on ``import azureml``, enable durableml's alias and hand over to it."""

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):  # type: ignore[no-untyped-def]
        if fullname != "azureml":
            return None
        sys.meta_path.remove(cls)
        import importlib.util

        from durableml import compat

        if not compat.enable():  # the real Azure ML SDK is installed: leave it alone
            return None
        return importlib.util.find_spec(fullname)


def _chain_next_sitecustomize() -> None:
    """Run the sitecustomize this one shadows, if there is one further on sys.path."""
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or ".") != here]
    import importlib.machinery  # already loaded at startup: free, unlike importlib.util (only if there is one)

    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None and spec.origin != os.path.abspath(__file__):
        import importlib.util

        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


if os.environ.get("DURABLEML_AZUREML_ALIAS", "").strip().lower() in ("1", "true", "yes", "on"):
    sys.meta_path.insert(0, _LazyAzuremlAlias)
_chain_next_sitecustomize()
