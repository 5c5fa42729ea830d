"""The compute plane: one small protocol (submit / poll / cancel / logs), one module per backend.

* :mod:`durableml.compute.base`: :class:`ComputeBackend`, :class:`JobSpec`, :class:`JobStatus`, :class:`JobState`.
* :mod:`durableml.compute.local`: :class:`LocalCompute`, processes on this machine run by a detached
  worker (:mod:`durableml.compute.local_worker`) with the step runner (:mod:`durableml.runner`).

Importing this package imports no Azure SDK; the worker imports it when a job needs storage.
"""

from __future__ import annotations

from durableml.compute.base import ComputeBackend, JobSpec, JobState, JobStatus, input_placeholder, output_placeholder
from durableml.compute.local import LocalCompute

__all__ = [
    "ComputeBackend",
    "JobSpec",
    "JobState",
    "JobStatus",
    "LocalCompute",
    "input_placeholder",
    "output_placeholder",
]
