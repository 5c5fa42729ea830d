"""The run of the step this process executes: where ``Run.get_context()`` and ``Model.get_model_path()`` find it.

Two sources, tried in this order: a provider installed in this process (the step runner, tests:
:func:`durableml.core.run.set_context_provider`), then the context file the step runner names in
``DURABLEML_RUN_CONTEXT``, which :mod:`durableml.core.step_context` reads. That module builds a
Workspace, an Experiment and a run from the file, so it imports them all; it installs its loader here
(``durableml.core`` imports it when it loads), and the run and model modules, which it imports, ask here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from durableml._handles import ExperimentHandle

__all__ = ["CONTEXT_ENV_VAR", "StepRun", "set_provider", "set_file_loader", "step_run"]

CONTEXT_ENV_VAR = "DURABLEML_RUN_CONTEXT"


class StepRun(Protocol):
    """A step's run (a :class:`~durableml.core.run.Run`) as the model lookup uses it: its experiment."""

    @property
    def experiment(self) -> ExperimentHandle: ...


_provider: Callable[[], StepRun] | None = None
_file_loader: Callable[[], StepRun | None] | None = None


def set_provider(provider: Callable[[], StepRun] | None) -> Callable[[], StepRun] | None:
    """Install what returns the step's run in this process (None: none); return the previous provider."""
    global _provider
    previous, _provider = _provider, provider
    return previous


def set_file_loader(loader: Callable[[], StepRun | None]) -> None:
    """Install what reads the step's run from the ``DURABLEML_RUN_CONTEXT`` file (None when it names none)."""
    global _file_loader
    _file_loader = loader


def step_run() -> StepRun | None:
    """The run of the step this process executes, or None outside steps."""
    if _provider is not None:
        return _provider()
    if os.environ.get(CONTEXT_ENV_VAR) and _file_loader is not None:
        return _file_loader()
    return None
