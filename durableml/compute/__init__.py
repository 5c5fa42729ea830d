"""The compute plane: one small protocol (submit / poll / cancel / logs), one package per backend.

* :mod:`durableml.compute.base`: :class:`ComputeBackend` (the protocol); the job it runs is
  :mod:`durableml.jobs` (:class:`JobSpec`, :class:`JobStatus`, :class:`JobState`).
* :mod:`durableml.compute.registry`: which backend runs the targets of each compute type.
* :mod:`durableml.compute.local`: :class:`LocalCompute`, processes on this machine run by a detached
  worker with the step runner (:mod:`durableml.runner`).
* :mod:`durableml.compute.ray`: :class:`~durableml.compute.ray.backend.RayCompute`, each step a Ray job whose
  entrypoint runs the step runner on a cluster node, everything through storage.
* :mod:`durableml.compute.containerapps`: :class:`~durableml.compute.containerapps.backend.ContainerAppsCompute`,
  each step one execution of an Azure Container Apps job (the Azure deployment's AmlCompute).
* :mod:`durableml.compute.node` / :mod:`durableml.compute.layout`: the remote backends' shared node entrypoint
  (``python -m durableml.compute.node``) and what a remote step keeps in storage.

Importing this package imports no backend and no Azure SDK; the registry imports a backend when a target of
its type is first used.
"""

from __future__ import annotations

from durableml.compute.base import ComputeBackend
from durableml.jobs import JobSpec, JobState, JobStatus, input_placeholder, output_placeholder

__all__ = [
    "ComputeBackend",
    "JobSpec",
    "JobState",
    "JobStatus",
    "input_placeholder",
    "output_placeholder",
]
