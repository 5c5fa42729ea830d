"""RayCompute: an AmlCompute target whose steps run on an existing Ray cluster (a durableml extension).

Azure ML v1 has no Ray compute type. durableml attaches a Ray cluster as an **AmlCompute** target, so every step
kind that runs on AmlCompute (PythonScriptStep, ParallelRunStep, CommandStep...) runs there unchanged, and
``ComputeTarget(ws, name)`` returns an ``AmlCompute``::

    from azureml.core.compute import ComputeTarget
    from durableml.core.compute import RayCompute

    config = RayCompute.attach_configuration(address="http://ray-head:8265", auth_header="Bearer <token>")
    target = ComputeTarget.attach(ws, "ray-cluster", config)

Each step becomes a Ray job (``durableml.compute.ray``). The auth header is sealed by the service (``dmlSecrets``)
and never shown in the target's record. To back *every* AmlCompute target by a cluster without touching pipeline
code, set the app settings ``DURABLEML_AMLCOMPUTE_BACKEND=ray`` and ``DURABLEML_RAY_ADDRESS`` instead (README).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional
from durableml.compute.ray import check_address
from durableml.core.compute.compute import ComputeTargetAttachConfiguration
from durableml.exceptions import ValidationError

__all__ = ["RayCompute", "RayAttachConfiguration"]


class RayAttachConfiguration(ComputeTargetAttachConfiguration):
    """The settings to attach a Ray cluster (its repr never shows the auth header)."""

    def __repr__(self) -> str:
        shown = {k: ("***" if k == "ray_auth_header" else v) for k, v in self.settings.items()}
        return f"{type(self).__name__}({shown!r})"


class RayCompute:
    """Attach a Ray cluster as an AmlCompute target (``ComputeTarget.attach(ws, name, RayCompute.attach_configuration(
    ...))``); a durableml extension, not an Azure ML v1 class."""

    @staticmethod
    def attach_configuration(
        address: str,
        auth_header: Optional[str] = None,
        *,
        max_nodes: int = 4,
        vm_size: Optional[str] = None,
        num_cpus: Optional[float] = None,
        num_gpus: Optional[float] = None,
        resources: Optional[Mapping[str, float]] = None,
        vm_sizes: Optional[str | Mapping[str, Mapping[str, Any]]] = None,
        runtime_env: Optional[Mapping[str, Any]] = None,
        python: Optional[str] = None,
    ) -> RayAttachConfiguration:
        """Settings to attach the Ray cluster whose dashboard (Jobs API) is at ``address``.

        * ``auth_header``: sent with every Jobs API request (``"Authorization: Bearer <token>"``, or a bare value
          for ``Authorization``); a secret, sealed by the service.
        * ``max_nodes``: at most this many of the target's steps run on the cluster at once; the rest wait.
        * ``num_cpus`` / ``num_gpus`` / ``resources``: what each step asks Ray for (default one CPU); ``vm_size`` with
          ``vm_sizes`` (``"azure"``: a GPU size asks for its GPUs; or ``{size: {"num_gpus": 1, ...}}``) maps an Azure
          VM size to requests (:func:`durableml.compute.ray.backend.resource_requests`).
        * ``runtime_env``: merged into each job's Ray ``runtime_env`` (e.g. ``{"pip": ["durableml==0.1.0"]}`` when
          the nodes do not have durableml installed); ``python``: the interpreter nodes run the step with.
        """
        if not isinstance(max_nodes, int) or max_nodes < 1:
            raise ValidationError(f"max_nodes must be a positive integer, got {max_nodes!r}")
        return RayAttachConfiguration(
            "AmlCompute",
            backend="ray",
            ray_address=check_address(address),
            ray_auth_header=auth_header or None,
            max_node_count=max_nodes,
            vm_size=vm_size,
            ray_num_cpus=num_cpus,
            ray_num_gpus=num_gpus,
            ray_resources=dict(resources) if resources else None,
            ray_vm_sizes=vm_sizes if isinstance(vm_sizes, str) or vm_sizes is None else dict(vm_sizes),
            ray_runtime_env=dict(runtime_env) if runtime_env else None,
            ray_python=python,
        )
