"""The step runner: stage a step's snapshot and inputs, run its script, upload what it produced.

Compute backends call :func:`run_step` (or drive a :class:`StepRunner`, to cancel it) on the node that
runs the step; it returns the result document the backend stores and reports. See
:mod:`durableml.runner.step_runner` for the working directory layout and the result fields. Nothing
here imports the Azure SDK until a step actually needs storage.

``StepRunner`` and ``run_step`` are imported when first used (PEP 562), so that the job drivers in this package
(``parallel_run``, ``adla``, ...), which run in the step's interpreter and import a helper module or two from
here, do not pay for the runner's imports (~0.1-0.2 s) in every step and every worker process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from durableml.runner.step_runner import StepRunner, run_step

__all__ = ["StepRunner", "run_step"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from durableml.runner import step_runner

        return getattr(step_runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
