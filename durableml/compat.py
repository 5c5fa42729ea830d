"""The ``azureml`` compatibility alias: ``import azureml.core`` resolves to ``durableml.core``.

``enable()`` installs a meta-path finder that maps every ``azureml`` / ``azureml.<x>`` import to
the durableml module of the same path, as the very same module object (so
``azureml.core.Run is durableml.core.Run``). It does nothing when the real Azure ML SDK
(``azureml.core``) is installed: durableml never shadows it. ``DURABLEML_AZUREML_ALIAS=1`` makes
``import durableml`` call ``enable()``; ``python -m durableml.compat script.py args...`` runs a
script with the alias on (the step runner can start step scripts that way).
"""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Sequence

from durableml._alias import ENV_VAR, disable, enable, is_enabled, real_sdk_installed

__all__ = ["ENV_VAR", "enable", "disable", "is_enabled", "real_sdk_installed", "main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``script.py args...`` with the alias on: ``python -m durableml.compat script.py args``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        raise SystemExit("usage: python -m durableml.compat SCRIPT [ARGS...]")
    enable()
    sys.argv = args
    sys.path.insert(0, os.path.dirname(os.path.abspath(args[0])))
    runpy.run_path(args[0], run_name="__main__")


if __name__ == "__main__":
    main()
