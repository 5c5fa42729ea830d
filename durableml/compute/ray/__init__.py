"""The Ray backend: each step of a Ray-backed compute target is a Ray job (Ray's Jobs API).

* :mod:`.backend`: :class:`RayCompute` (submit / poll / cancel / logs), the resource mapping
  (:func:`~.backend.resource_requests`).
* :mod:`.node`: the job's entrypoint on a Ray node (``python -m durableml.compute.ray.node``), which reads the
  step's spec from storage and runs the step runner.
* :mod:`.layout`: what a Ray-backed step keeps in storage.
* :func:`ray_backend`: the registry's factory; :func:`wants_ray`: whether an ``AmlCompute`` target runs on Ray
  (its record says so, or the deployment setting ``DURABLEML_AMLCOMPUTE_BACKEND=ray`` does).

Importing this package imports neither ray nor the Azure SDK.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Optional

from urllib.parse import urlsplit

from durableml.exceptions import ConfigurationError, ValidationError

__all__ = [
    "BACKEND_SETTING",
    "ADDRESS_SETTING",
    "AUTH_SETTING",
    "OPTIONS_SETTING",
    "RayCompute",
    "check_address",
    "ray_backend",
    "wants_ray",
]

BACKEND_SETTING = "DURABLEML_AMLCOMPUTE_BACKEND"
"""App setting: ``ray`` backs every AmlCompute target by the Ray cluster of :data:`ADDRESS_SETTING`."""
ADDRESS_SETTING = "DURABLEML_RAY_ADDRESS"
"""App setting: the Ray cluster's dashboard (Jobs API) address, ``http://head:8265``."""
AUTH_SETTING = "DURABLEML_RAY_AUTH_HEADER"
"""App setting (a secret): a header sent with every Jobs API request, ``Authorization: Bearer ...``."""
OPTIONS_SETTING = "DURABLEML_RAY_OPTIONS"
"""App setting: JSON of more :class:`RayCompute` options (``num_cpus``, ``resources``, ``python``,
``runtime_env``...)."""
_OPTIONS = ("num_cpus", "num_gpus", "resources", "memory", "vm_sizes", "python", "runtime_env", "max_attempts")


def __getattr__(name: str) -> Any:
    if name == "RayCompute":
        from durableml.compute.ray.backend import RayCompute

        return RayCompute
    raise AttributeError(name)


def check_address(address: Any) -> str:
    """``address`` without a trailing ``/`` if it is the http(s) URL of a Ray dashboard (the Jobs API), else
    ValidationError."""
    parts = urlsplit(str(address or ""))
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValidationError(
            f"Ray cluster address {address!r} is not valid: give the URL of the cluster's dashboard (its Jobs API), "
            "e.g. 'http://ray-head:8265'"
        )
    return str(address).rstrip("/")


def wants_ray(record: Mapping[str, Any], environ: Optional[Mapping[str, str]] = None) -> bool:
    """True when compute target ``record`` runs its steps on a Ray cluster."""
    env = os.environ if environ is None else environ
    return str(record.get("backend") or "").lower() == "ray" or env.get(BACKEND_SETTING, "").lower() == "ray"


def ray_backend(record: Mapping[str, Any], state_dir: Path, environ: Optional[Mapping[str, str]] = None) -> Any:
    """A :class:`RayCompute` for ``record``: an attached Ray cluster (``rayAddress`` and the unsealed
    ``rayAuthHeader`` in the record), else the cluster the deployment settings name."""
    from durableml.compute.ray.backend import RayCompute

    env = os.environ if environ is None else environ
    attached = str(record.get("backend") or "").lower() == "ray"
    address = str(record.get("rayAddress") or "") if attached else env.get(ADDRESS_SETTING, "")
    if not address:
        raise ConfigurationError(
            f"compute target '{record.get('name')}' runs on Ray, but no cluster address is set: attach it with "
            f"RayCompute.attach_configuration(address='http://<head>:8265') or set the app setting {ADDRESS_SETTING}"
        )
    options: dict[str, Any] = {}
    if not attached and env.get(OPTIONS_SETTING):
        try:
            options = dict(json.loads(env[OPTIONS_SETTING]))
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"the app setting {OPTIONS_SETTING} is not a JSON object: {exc}") from None
    for key in _OPTIONS:
        camel = "ray" + "".join(part.capitalize() for part in key.split("_"))
        if record.get(camel) is not None:
            options[key] = record[camel]
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ConfigurationError(f"unknown Ray options {unknown}; known are {list(_OPTIONS)}")
    return RayCompute(
        address,
        state_dir,
        max_nodes=int(record.get("max_nodes") or 1),
        auth_header=(record.get("rayAuthHeader") if attached else env.get(AUTH_SETTING)) or None,
        vm_size=record.get("vm_size") or record.get("vmSize"),
        **options,
    )
