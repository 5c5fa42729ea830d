"""ComputeTarget: a named place steps run, looked up in (or created in) a workspace.

``ComputeTarget(ws, name)`` returns an instance of the exact class of the target (``type(ct) is
AmlCompute`` holds, as v1 notebooks check) and raises ``ComputeTargetException`` when there is no
target of that name: notebooks rely on that to reach ``create``/``attach``. Service records carry
``name``, ``type`` (``AmlCompute``, ``Databricks``...), ``provisioningState`` and the settings
given at creation, camelCase (``maxNodeCount``, ``vmSize``, ``resourceGroup``...), as the settings are sent.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from durableml._http_errors import v1_lookup_error
from durableml._names import check_non_empty
from durableml.exceptions import ComputeTargetException, ComputeTargetNotFoundError, ValidationError

if TYPE_CHECKING:
    from durableml._handles import WorkspaceHandle

__all__ = ["ComputeTarget", "ComputeTargetProvisioningConfiguration", "ComputeTargetAttachConfiguration"]


class ComputeTargetProvisioningConfiguration:
    """Settings to create a compute target; subclasses fix ``compute_type``."""

    compute_type: ClassVar[str] = ""
    _api_names: ClassVar[dict[str, str]] = {}  # a setting's name in the service's API, when not its camelCase

    def __init__(self, **settings: Any) -> None:
        self.settings = {key: value for key, value in settings.items() if value is not None}

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"type": ..., **settings}`` for the service, with the API's (camelCase) names."""
        return {"type": self.compute_type, **self._api_settings()}

    def _api_settings(self) -> dict[str, Any]:
        return {self._api_names.get(key) or _camel_case(key): value for key, value in self.settings.items()}

    def validate_configuration(self) -> None:
        """Check the settings (subclasses add their rules)."""


class ComputeTargetAttachConfiguration(ComputeTargetProvisioningConfiguration):
    """Settings to attach an existing external compute (Databricks, ADLA...)."""

    def __init__(self, compute_type: str, **settings: Any) -> None:
        super().__init__(**settings)
        self._type = compute_type

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"type": ..., **settings}`` for the service, with the API's (camelCase) names."""
        return {"type": self._type, **self._api_settings()}

    def __repr__(self) -> str:
        shown = {k: ("***" if "token" in k or "key" in k or "password" in k else v) for k, v in self.settings.items()}
        return f"{type(self).__name__}(type={self._type!r}, {shown!r})"


def _camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class ComputeTarget:
    """A compute target of a workspace (v1 ``ComputeTarget(workspace, name)``)."""

    _compute_type: ClassVar[str] = ""
    _classes: ClassVar[dict[str, type[ComputeTarget]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls._compute_type:
            ComputeTarget._classes[cls._compute_type] = cls

    def __new__(cls, workspace: WorkspaceHandle | None = None, name: str | None = None) -> ComputeTarget:
        if workspace is None or name is None:
            raise ValidationError(
                f"{cls.__name__} needs a workspace and a name: {cls.__name__}(workspace=ws, name='cpu-cluster')."
            )
        try:
            record = workspace._client.get_compute(name)
        except ComputeTargetNotFoundError as exc:  # in v1's words: v1 code tests 'ComputeTargetNotFound' in str(e)
            v1 = f"ComputeTargetNotFound: Compute Target with name {name} not found in provided workspace"
            raise v1_lookup_error(exc, v1) from exc
        target = ComputeTarget._from_record(workspace, record)
        if not isinstance(target, cls):
            raise ComputeTargetException(
                f"Compute target {name!r} is of type {target.type!r}, not {cls._compute_type!r}; "
                f"look it up with ComputeTarget(workspace=ws, name={name!r})."
            )
        return target

    def __init__(self, workspace: WorkspaceHandle | None = None, name: str | None = None) -> None:
        """Instances are built by ``__new__`` from the service record."""

    @staticmethod
    def _from_record(workspace: WorkspaceHandle, record: Mapping[str, Any]) -> ComputeTarget:
        cls = ComputeTarget._classes.get(str(record.get("type")), ComputeTarget)
        target = object.__new__(cls)
        target._load(workspace, record)
        return target

    def _load(self, workspace: WorkspaceHandle, record: Mapping[str, Any]) -> None:
        self.workspace = workspace
        self.name: str = str(record["name"])
        self._record = dict(record)

    @property
    def type(self) -> str:
        """The target's type as v1 names it (``AmlCompute``, ``Databricks``...)."""
        return str(self._record.get("type", self._compute_type))

    @property
    def provisioning_state(self) -> str:
        """``Succeeded`` once the target can run steps."""
        return str(self._record.get("provisioningState", "Succeeded"))

    @property
    def provisioning_errors(self) -> list[Any]:
        """Errors the service reported while provisioning, if any."""
        return list(self._record.get("provisioningErrors") or [])

    @property
    def cluster_resource_id(self) -> str:
        """An Azure-style resource id for the target."""
        ws = self.workspace
        return (
            f"/subscriptions/{ws.subscription_id}/resourceGroups/{ws.resource_group}/providers/"
            f"Microsoft.MachineLearningServices/workspaces/{ws.name}/computes/{self.name}"
        )

    @staticmethod
    def create(
        workspace: WorkspaceHandle, name: str, provisioning_configuration: ComputeTargetProvisioningConfiguration
    ) -> ComputeTarget:
        """Create the compute target ``name`` from a provisioning configuration."""
        if not isinstance(provisioning_configuration, ComputeTargetProvisioningConfiguration):
            raise ValidationError(
                "ComputeTarget.create needs a provisioning configuration "
                f"(AmlCompute.provisioning_configuration(...)), got {provisioning_configuration!r}."
            )
        provisioning_configuration.validate_configuration()
        record = workspace._client.create_compute(
            check_non_empty(name, "Compute target name"), provisioning_configuration.to_dict()
        )
        return ComputeTarget._from_record(workspace, record)

    @staticmethod
    def attach(
        workspace: WorkspaceHandle, name: str, attach_configuration: ComputeTargetProvisioningConfiguration
    ) -> ComputeTarget:
        """Attach an existing external compute under ``name``."""
        if not isinstance(attach_configuration, ComputeTargetProvisioningConfiguration):
            raise ValidationError(
                "ComputeTarget.attach needs an attach configuration (e.g. "
                f"DatabricksCompute.attach_configuration(...)), got {attach_configuration!r}."
            )
        record = workspace._client.attach_compute(
            check_non_empty(name, "Compute target name"), attach_configuration.to_dict()
        )
        return ComputeTarget._from_record(workspace, record)

    @staticmethod
    def list(workspace: WorkspaceHandle) -> builtins.list[ComputeTarget]:
        """Return every compute target of ``workspace`` (``Workspace.compute_targets`` by name)."""
        return [ComputeTarget._from_record(workspace, record) for record in workspace._client.list_compute()]

    def wait_for_completion(
        self,
        show_output: bool = False,
        min_node_count: int | None = None,
        timeout_in_minutes: int = 20,
        is_delete_operation: bool = False,
    ) -> None:
        """Return at once: durableml targets are usable as soon as they are created."""
        if show_output:
            print(f'Provisioning operation finished, operation "{self.provisioning_state}"')

    def get_status(self) -> Any:
        """Return the target's status (see ``status``)."""
        return self.status

    @property
    def status(self) -> Any:
        """The target's status as recorded by the service."""
        return dict(self._record.get("status") or {"provisioningState": self.provisioning_state})

    def serialize(self) -> dict[str, Any]:
        """Return the target's record."""
        return dict(self._record)

    def delete(self) -> None:
        """Delete the target from the workspace."""
        self.workspace._client.delete_compute(self.name)

    def detach(self) -> None:
        """Detach an attached target from the workspace."""
        self.workspace._client.delete_compute(self.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ComputeTarget) and (self.workspace, self.name) == (other.workspace, other.name)

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workspace={self.workspace.name!r}, name={self.name!r}, type={self.type!r})"
