"""Workspace: the named place datastores, compute targets, experiments and runs live in.

A workspace is identified like an Azure ML one (subscription id, resource group, name) and talks
to its durableml service through one :class:`~durableml.client.ServiceClient`. Nothing is
contacted when a Workspace is created; properties that need the service fetch on use.

The objects a workspace lists (datastores, compute targets, experiments, datasets) hold it back as a
:class:`~durableml._handles.WorkspaceHandle`, so this module imports theirs and none imports it.
"""

from __future__ import annotations

import os
from typing import Any

from durableml.client import ServiceClient, create_client
from durableml.config import DEFAULT_LOCATION, WorkspaceConfig, load_config
from durableml.core.compute.compute import ComputeTarget
from durableml.core.dataset import Dataset
from durableml.core.datastore import Datastore
from durableml.core.experiment import Experiment
from durableml.data.abstract_dataset import AbstractDataset

__all__ = ["Workspace"]


class Workspace:
    """A durableml workspace (v1 constructor: subscription id, resource group, name).

    ``client=`` (durableml only) supplies the service client directly, for tests and embedding;
    otherwise the factory installed with ``durableml.client.set_client_factory`` builds one.
    """

    def __init__(
        self,
        subscription_id: str,
        resource_group: str,
        workspace_name: str,
        auth: Any = None,
        _location: str | None = None,
        _disable_service_check: bool = False,
        _workspace_id: str | None = None,
        sku: str = "basic",
        tags: dict[str, str] | None = None,
        _cloud: str = "AzureCloud",
        *,
        client: ServiceClient | None = None,
        config: WorkspaceConfig | None = None,
    ) -> None:
        base = config or WorkspaceConfig().with_environment()
        self._config = WorkspaceConfig(
            subscription_id,
            resource_group,
            workspace_name,
            _location or base.location,
            base.endpoint,
            base.key,
            base.source,
        )
        self._auth = auth
        self._tags = dict(tags or {})
        self._client: ServiceClient = client if client is not None else create_client(self._config)

    @staticmethod
    def from_config(
        path: str | os.PathLike[str] | None = None,
        auth: Any = None,
        _logger: Any = None,
        _file_name: str | None = None,
        *,
        client: ServiceClient | None = None,
    ) -> Workspace:
        """Load the workspace named by config.json (searched in ``path`` or cwd and its parents).

        Without a config file the local durableml workspace is used (see ``durableml.config``).
        """
        config = load_config(path, _file_name)
        return Workspace(
            config.subscription_id,
            config.resource_group,
            config.workspace_name,
            auth,
            _location=config.location,
            client=client,
            config=config,
        )

    @staticmethod
    def get(
        name: str,
        auth: Any = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        location: str | None = None,
        cloud: str = "AzureCloud",
        id: str | None = None,
        *,
        client: ServiceClient | None = None,
    ) -> Workspace:
        """Return the workspace ``name``; missing ids come from config.json or the defaults."""
        config = load_config()
        return Workspace(
            subscription_id or config.subscription_id,
            resource_group or config.resource_group,
            name,
            auth,
            _location=location or config.location,
            client=client,
            config=config,
        )

    @property
    def name(self) -> str:
        """The workspace name."""
        return self._config.workspace_name

    @property
    def subscription_id(self) -> str:
        """The subscription id (from config.json, or a placeholder locally)."""
        return self._config.subscription_id

    @property
    def resource_group(self) -> str:
        """The resource group (from config.json, or a placeholder locally)."""
        return self._config.resource_group

    @property
    def location(self) -> str:
        """The location (from config.json, or ``"local"``)."""
        return self._config.location or DEFAULT_LOCATION

    @property
    def service_endpoint(self) -> str:
        """The base URL of the durableml service this workspace talks to."""
        return self._config.endpoint

    @property
    def config(self) -> WorkspaceConfig:
        """The settings this workspace was created from."""
        return self._config

    @property
    def tags(self) -> dict[str, str]:
        """The workspace tags."""
        return dict(self._tags)

    def get_details(self) -> dict[str, Any]:
        """Return the workspace's identity as v1 names it (no service call)."""
        return {
            "id": f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self.name}",
            "name": self.name,
            "location": self.location,
            "subscriptionId": self.subscription_id,
            "resourceGroup": self.resource_group,
            "endpoint": self.service_endpoint,
        }

    def get_default_datastore(self) -> Datastore:
        """Return the workspace's default datastore (``workspaceblobstore`` unless changed)."""
        return Datastore._from_record(self, self._client.get_datastore(None))

    def set_default_datastore(self, name: str) -> None:
        """Make the datastore ``name`` the workspace default."""
        self._client.set_default_datastore(name)

    @property
    def datastores(self) -> dict[str, Datastore]:
        """All datastores of the workspace, by name."""
        return {record["name"]: Datastore._from_record(self, record) for record in self._client.list_datastores()}

    @property
    def compute_targets(self) -> dict[str, ComputeTarget]:
        """All compute targets of the workspace, by name, each of its exact class (``AmlCompute``...)."""
        return {target.name: target for target in ComputeTarget.list(self)}

    @property
    def experiments(self) -> dict[str, Experiment]:
        """All experiments of the workspace, by name (runs submitted over REST included)."""
        return {record["name"]: Experiment(self, record["name"]) for record in self._client.list_experiments()}

    @property
    def datasets(self) -> dict[str, AbstractDataset]:
        """All registered datasets (latest versions), by name."""
        return Dataset.get_all(self)

    def write_config(self, path: str | os.PathLike[str] | None = None, file_name: str | None = None) -> str:
        """Write this workspace's config.json (in ``path``/.azureml by default); return its path."""
        import json

        folder = os.path.join(os.fspath(path) if path is not None else ".", ".azureml")
        os.makedirs(folder, exist_ok=True)
        target = os.path.join(folder, file_name or "config.json")
        data = {
            "subscription_id": self.subscription_id,
            "resource_group": self.resource_group,
            "workspace_name": self.name,
            "endpoint": self.service_endpoint,
        }
        with open(target, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
        return target

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workspace) and (self.subscription_id, self.resource_group, self.name) == (
            other.subscription_id,
            other.resource_group,
            other.name,
        )

    def __hash__(self) -> int:
        return hash((self.subscription_id, self.resource_group, self.name))

    def __repr__(self) -> str:
        return (
            f"Workspace.create(name='{self.name}', subscription_id='{self.subscription_id}', "
            f"resource_group='{self.resource_group}')"
        )
