"""Which compute backend runs the targets of each compute type.

Keyed by the compute record's ``type`` (v1's names: ``AmlCompute``, ``ComputeInstance``, ...). Each entry
is a factory that imports its backend when a target of that type is first used, so that importing the
registry loads no backend. Adding a backend is one package under ``durableml/compute/`` plus one line in ``_FACTORIES``.

A factory takes the compute record and the directory the backend may keep state in, and returns a
:class:`~durableml.compute.base.ComputeBackend`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

from durableml.compute.base import ComputeBackend
from durableml.exceptions import NotSupportedError

__all__ = ["BACKEND_TYPES", "Factory", "create_backend", "local_backend"]

Factory = Callable[[Mapping[str, Any], Path], ComputeBackend]


def local_backend(record: Mapping[str, Any], state_dir: Path) -> ComputeBackend:
    """A :class:`~durableml.compute.local.LocalCompute` running at most ``max_nodes`` steps at once."""
    from durableml.compute.local import LocalCompute

    return LocalCompute(state_dir, max_nodes=int(record.get("max_nodes") or 1))


def amlcompute_backend(record: Mapping[str, Any], state_dir: Path) -> ComputeBackend:
    """An AmlCompute target: a Ray cluster's jobs when the target is Ray-backed (``RayCompute.attach_configuration``)
    or the deployment says so (``DURABLEML_AMLCOMPUTE_BACKEND=ray``, durableml/compute/ray); Container Apps job
    executions when the deployment says ``DURABLEML_AMLCOMPUTE_BACKEND=containerapps`` (durableml/compute/
    containerapps, the Azure deployment's setting); else local processes."""
    from durableml.compute.containerapps import containerapps_backend, wants_containerapps
    from durableml.compute.ray import ray_backend, wants_ray

    if wants_containerapps(record):
        return containerapps_backend(record, state_dir)  # type: ignore[no-any-return]
    return ray_backend(record, state_dir) if wants_ray(record) else local_backend(record, state_dir)


def datafactory_backend(record: Mapping[str, Any], state_dir: Path) -> ComputeBackend:
    """A :class:`~durableml.compute.datafactory.DataFactoryBackend`: DataTransferStep copies only."""
    from durableml.compute.datafactory.backend import datafactory_backend as factory

    return factory(record, state_dir)


def databricks_backend(record: Mapping[str, Any], state_dir: Path) -> ComputeBackend:
    """A :class:`~durableml.compute.databricks.DatabricksBackend`: DatabricksStep runs on the attached workspace."""
    from durableml.compute.databricks import databricks_backend as factory

    return factory(record, state_dir)


_FACTORIES: dict[str, Factory] = {
    "AmlCompute": amlcompute_backend,  # worker processes here, Ray jobs, or Container Apps job executions
    "ComputeInstance": local_backend,
    "local": local_backend,
    "DataFactory": datafactory_backend,  # DataTransferStep copies, server-side (durableml/compute/datafactory)
    "DataLakeAnalytics": local_backend,  # an AdlaStep's U-SQL runs on DuckDB in a worker process
    "Databricks": databricks_backend,  # DatabricksStep: runs/submit on the workspace (durableml/compute/databricks)
    "DatabricksCompute": databricks_backend,
}
BACKEND_TYPES: frozenset[str] = frozenset(_FACTORIES)
"""The compute types durableml can run steps on."""


def create_backend(record: Mapping[str, Any], state_dir: Path) -> ComputeBackend:
    """The backend for compute target ``record`` (``{"name", "type", ...}``), keeping state in ``state_dir``."""
    kind = str(record.get("type"))
    factory = _FACTORIES.get(kind)
    if factory is None:
        raise NotSupportedError(
            f"running steps on compute target '{record.get('name')}' of type {kind}",
            f"durableml runs steps on compute types {sorted(BACKEND_TYPES)}; use one of those.",
        )
    return factory(record, state_dir)
