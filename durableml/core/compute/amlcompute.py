"""AmlCompute: a managed cluster. In durableml every AmlCompute runs steps on workers of the
service (locally: this machine), at most ``max_nodes`` at once; ``vm_size`` and priority are
recorded. The service names the settings as v1's REST API does: ``vmSize``, ``vmPriority``,
``minNodeCount``, ``maxNodeCount``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from durableml.core.compute.compute import ComputeTarget, ComputeTargetProvisioningConfiguration
from durableml.exceptions import ValidationError

__all__ = ["AmlCompute", "AmlComputeProvisioningConfiguration", "AmlComputeStatus"]


class AmlComputeProvisioningConfiguration(ComputeTargetProvisioningConfiguration):
    """Settings of a new AmlCompute cluster."""

    compute_type: ClassVar[str] = "AmlCompute"
    _api_names: ClassVar[dict[str, str]] = {"min_nodes": "minNodeCount", "max_nodes": "maxNodeCount"}

    def validate_configuration(self) -> None:
        """Check node counts and priority."""
        min_nodes, max_nodes = self.settings.get("min_nodes", 0), self.settings.get("max_nodes", 1)
        for what, value in (("min_nodes", min_nodes), ("max_nodes", max_nodes)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValidationError(f"AmlCompute {what} must be a non-negative integer, got {value!r}.")
        if max_nodes < 1 or min_nodes > max_nodes:
            raise ValidationError(
                "AmlCompute needs 1 <= max_nodes and min_nodes <= max_nodes, "
                f"got min_nodes={min_nodes}, max_nodes={max_nodes}."
            )
        if self.settings.get("vm_priority", "dedicated") not in ("dedicated", "lowpriority"):
            raise ValidationError(
                f"AmlCompute vm_priority must be 'dedicated' or 'lowpriority', got {self.settings['vm_priority']!r}."
            )


class AmlComputeStatus:
    """The status of an AmlCompute cluster; ``serialize()`` gives the v1 dict."""

    def __init__(self, record: dict[str, Any]) -> None:
        self._status = dict(record.get("status") or {})
        self.provisioning_state = str(record.get("provisioningState", "Succeeded"))
        self.allocation_state = str(self._status.get("allocationState", "Steady"))
        self.current_node_count = int(self._status.get("currentNodeCount", 0))
        self.target_node_count = int(self._status.get("targetNodeCount", 0))
        self.node_state_counts = dict(self._status.get("nodeStateCounts") or {})
        self.vm_size = record.get("vmSize")
        self.vm_priority = record.get("vmPriority", "dedicated")
        self.scale_settings = {
            "minNodeCount": record.get("minNodeCount", 0),
            "maxNodeCount": record.get("maxNodeCount", 1),
        }

    def serialize(self) -> dict[str, Any]:
        """Return the status as a dict (v1 keys)."""
        return {
            "currentNodeCount": self.current_node_count,
            "targetNodeCount": self.target_node_count,
            "nodeStateCounts": self.node_state_counts,
            "allocationState": self.allocation_state,
            "provisioningState": self.provisioning_state,
            "vmSize": self.vm_size,
            "vmPriority": self.vm_priority,
            "scaleSettings": self.scale_settings,
        }

    def __repr__(self) -> str:
        return f"AmlComputeStatus({self.serialize()!r})"


class AmlCompute(ComputeTarget):
    """A managed compute cluster (v1 ``AmlCompute``)."""

    _compute_type = "AmlCompute"

    @staticmethod
    def provisioning_configuration(
        vm_size: str = "",
        vm_priority: str = "dedicated",
        min_nodes: int = 0,
        max_nodes: int | None = None,
        idle_seconds_before_scaledown: int | None = None,
        admin_username: str | None = None,
        admin_user_password: str | None = None,
        admin_user_ssh_key: str | None = None,
        vnet_resourcegroup_name: str | None = None,
        vnet_name: str | None = None,
        subnet_name: str | None = None,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        remote_login_port_public_access: str = "NotSpecified",
        identity_type: str | None = None,
        identity_id: list[str] | None = None,
        location: str | None = None,
        enable_node_public_ip: bool = True,
    ) -> AmlComputeProvisioningConfiguration:
        """Return the settings of a new cluster (``max_nodes`` bounds parallel steps; default 4)."""
        return AmlComputeProvisioningConfiguration(
            vm_size=vm_size,
            vm_priority=vm_priority,
            min_nodes=min_nodes,
            max_nodes=4 if max_nodes is None else max_nodes,
            idle_seconds_before_scaledown=idle_seconds_before_scaledown,
            tags=tags,
            description=description,
            location=location,
        )

    @property
    def status(self) -> AmlComputeStatus:
        """The cluster status."""
        return AmlComputeStatus(self._record)

    def get_status(self) -> AmlComputeStatus:
        """Return the cluster status."""
        return self.status

    @property
    def vm_size(self) -> str | None:
        """The recorded VM size."""
        return self._record.get("vmSize")

    @property
    def max_nodes(self) -> int:
        """How many steps may run on this cluster at once."""
        return int(self._record.get("maxNodeCount", 1))
