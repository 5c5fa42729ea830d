"""The local backend: steps run as processes on this machine, at most ``max_nodes`` at once per target.

* :mod:`.backend`: :class:`LocalCompute` (submit / poll / cancel / logs) and :func:`shutdown_workers`.
* :mod:`.worker`: the detached worker process (``python -m durableml.compute.local.worker``) that runs jobs
  with the step runner (:mod:`durableml.runner`).
* :mod:`.job_files`: the on-disk layout of a target's state directory; :mod:`.worker_http`: loopback HTTP
  between the backend and its worker.
"""

from __future__ import annotations

from durableml.compute.local.backend import LocalCompute, shutdown_workers

__all__ = ["LocalCompute", "shutdown_workers"]
