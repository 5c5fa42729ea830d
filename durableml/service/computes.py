"""Compute targets: records of AmlCompute (and attached) targets, and the backend that runs their jobs.

Which backend runs a target's jobs is decided by its type (:mod:`durableml.compute.registry`): an AmlCompute
target runs steps on this machine through the local backend, at most ``max_nodes`` at once, unless it is backed by a
Ray cluster (attached with ``RayCompute.attach_configuration``, whose auth header is sealed here like an access
token, or every AmlCompute target with the app setting ``DURABLEML_AMLCOMPUTE_BACKEND=ray``: durableml.compute.ray);
priority, docker and conda settings are recorded, not acted on.
A step without a compute target runs on the built-in ``local`` target.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping

from durableml.compute import ray as ray_compute
from durableml.compute import registry
from durableml.compute.base import ComputeBackend
from durableml.exceptions import ComputeTargetNotFoundError, ValidationError
from durableml.service import secrets, state
from durableml.service.records import records

TABLE, PARTITION = "dmlCompute", "compute"
_SECRET_KIND = "compute"
_SEALED_TYPES = ("Databricks", "DatabricksCompute")  # their access token is sealed in dmlSecrets, not recorded
_TOKEN_KEYS = ("access_token", "accessToken")
_RAY_AUTH_KEYS = ("rayAuthHeader", "ray_auth_header")  # a Ray-backed target's auth header: sealed, never recorded
LOCAL = "local"
_BACKENDS = state.cache(
    "compute backends",
    "one backend per compute target and settings; a backend keeps no job state in memory that its target's "
    "state directory does not hold",
)


def state_dir() -> Path:
    """Where local compute keeps jobs: DURABLEML_STATE_DIR, else .durableml/ in the working directory."""
    return Path(os.environ.get("DURABLEML_STATE_DIR") or Path.cwd() / ".durableml").resolve()


def _builtin() -> dict[str, Any]:
    return {"name": LOCAL, "type": "local", "max_nodes": max(2, os.cpu_count() or 2), "provisioningState": "Succeeded"}


def get_compute(name: str | None) -> dict[str, Any]:
    if not name or name == LOCAL:
        return _builtin()
    found = records().get(TABLE, PARTITION, name)
    if found is None:
        raise ComputeTargetNotFoundError(
            f"no compute target named '{name}'; create it with ComputeTarget.create("
            "ws, name, AmlCompute.provisioning_configuration(...))"
        )
    return found


def list_computes() -> list[dict[str, Any]]:
    return records().query(TABLE, PARTITION)


def create_compute(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """Record compute target ``name`` from ``spec`` under its stored keys (``max_nodes``, ``vm_size``...; the HTTP
    API's names, ``maxNodeCount``, ``vmSize``..., are turned into these by ``record_types.from_api``)."""
    if not name or name == LOCAL or not name.isprintable() or any(c in name for c in "/\\#?"):
        raise ValidationError(
            f"invalid compute target name {name!r}: use letters, digits and '-' ('{LOCAL}' is built in)"
        )
    kind = str(spec.get("type") or "AmlCompute")
    try:
        max_nodes = int(spec.get("max_nodes") or 4)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"compute target '{name}': maxNodeCount must be an integer, got {spec.get('max_nodes')!r}"
        ) from exc
    if max_nodes < 1:
        raise ValidationError(f"compute target '{name}': maxNodeCount must be at least 1, got {max_nodes}")
    _check_documented_types(name, spec)
    given = {key: value for key, value in spec.items() if key not in _TOKEN_KEYS and key not in _RAY_AUTH_KEYS}
    record = {**given, "name": name, "type": kind, "max_nodes": max_nodes, "provisioningState": "Succeeded"}
    if _ray_backed(record):  # RayCompute.attach_configuration: an AmlCompute target on an attached Ray cluster
        record["rayAddress"] = ray_compute.check_address(spec.get("rayAddress"))
        header = next((str(spec[key]) for key in _RAY_AUTH_KEYS if spec.get(key)), "")
        secrets.save(_SECRET_KIND, name, {"rayAuthHeader": header} if header else {})
    if kind in _SEALED_TYPES:
        token = next((str(spec[key]) for key in _TOKEN_KEYS if spec.get(key)), "")
        secrets.save(_SECRET_KIND, name, {"access_token": token} if token else {})
    records().put(TABLE, PARTITION, name, record)
    return record


# what a target shows (record_types.Compute) is documented with these types: a value of another type given here
# was stored as it was and then shown against the document (e.g. a description that is a list)
_STRINGS = (
    *("type", "vmSize", "vmPriority", "description", "location", "resourceGroup", "workspaceName"),
    *("resourceId", "accountName", "factoryName", "address", "username"),
)
_INTEGERS = ("min_nodes",)  # (idleSecondsBeforeScaledown and sshPort: clients may send them as text)


def _check_documented_types(name: str, spec: Mapping[str, Any]) -> None:
    for key in _STRINGS:
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise ValidationError(f"compute target '{name}': {key} must be a string, got {spec[key]!r:.80}")
    for key in _INTEGERS:
        value = spec.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            shown = "minNodeCount" if key == "min_nodes" else key
            raise ValidationError(f"compute target '{name}': {shown} must be an integer, got {value!r:.80}")
    tags = spec.get("tags")
    if tags is not None and not (
        isinstance(tags, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items())
    ):
        raise ValidationError(f"compute target '{name}': tags must be an object of string values, got {tags!r:.80}")


def delete_compute(name: str) -> None:
    found = get_compute(name)
    if found["type"] in _SEALED_TYPES or _ray_backed(found):
        secrets.delete(_SECRET_KIND, name)
    records().delete(TABLE, PARTITION, name)


def backend(name: str | None) -> ComputeBackend:
    """The backend that runs jobs for compute target ``name`` (durableml.compute.registry, by its type)."""
    record = get_compute(name)
    key: tuple[Any, ...] = (record["name"], record["type"], record.get("max_nodes"))
    if record["type"] in _SEALED_TYPES:  # the backend gets the unsealed token; a new one makes a new backend
        record = {**record, **secrets.load(_SECRET_KIND, record["name"])}
        key += (record.get("workspaceUrl"), hashlib.sha256(str(record.get("access_token")).encode()).hexdigest())
    if _ray_backed(record):  # likewise the unsealed auth header of an attached Ray cluster
        record = {**record, **secrets.load(_SECRET_KIND, record["name"])}
        options = {k: v for k, v in record.items() if k.startswith("ray") and k != "rayAuthHeader"}
        header = hashlib.sha256(str(record.get("rayAuthHeader")).encode()).hexdigest()
        key += (json.dumps(options, sort_keys=True), header)
    if key not in _BACKENDS:
        _BACKENDS[key] = registry.create_backend(record, state_dir() / "compute" / record["name"])
    return _BACKENDS[key]  # type: ignore[no-any-return]


def _ray_backed(record: Mapping[str, Any]) -> bool:
    """True for an AmlCompute target attached with ``RayCompute.attach_configuration`` (durableml.compute.ray)."""
    return record.get("type") == "AmlCompute" and str(record.get("backend") or "").lower() == "ray"
