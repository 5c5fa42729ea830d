"""The step runner: stage a step's snapshot and inputs, run its script, upload what it produced.

Compute backends call :func:`run_step` (or drive a :class:`StepRunner`, to cancel it) on the node that
runs the step; it returns the result document the backend stores and reports. See
:mod:`durableml.runner.step_runner` for the working directory layout and the result fields. Nothing
here imports the Azure SDK until a step actually needs storage.
"""

from __future__ import annotations

from durableml.runner.step_runner import StepRunner, run_step

__all__ = ["StepRunner", "run_step"]
