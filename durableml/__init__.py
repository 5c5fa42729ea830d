"""durableml: Azure ML SDK v1 pipelines on Azure Durable Functions.

Change ``azureml`` to ``durableml`` in your imports (``from durableml.core import Workspace``,
``from durableml.pipeline.steps import PythonScriptStep``), or keep them unchanged and turn on
the compatibility alias: ``durableml.compat.enable()``, or ``DURABLEML_AZUREML_ALIAS=1`` in the
environment, which ``import durableml`` honours.

Authoring objects compile into a versioned pipeline document (``durableml.pipeline.compiler``);
the service only ever sees that document.
"""

from __future__ import annotations

import os

from durableml._version import __version__

__all__ = ["__version__"]

if os.environ.get("DURABLEML_AZUREML_ALIAS", "").strip().lower() in ("1", "true", "yes", "on"):
    from durableml import _alias

    _alias.enable()
