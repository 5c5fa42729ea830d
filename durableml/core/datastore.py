"""Datastore: a named storage location (a blob container, a file share, a database) in a workspace.

The default datastore is ``workspaceblobstore``. Registration, upload and download go through the
workspace's service client; secrets passed to ``register_*`` are sent to the service and never
kept on the object or shown in its repr. Service records carry ``name``, ``type`` and, for blob
stores, ``accountName`` and ``containerName``.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from durableml._http_errors import v1_lookup_error
from durableml._names import check_identifier
from durableml.data.data_reference import DataReference
from durableml.exceptions import DatastoreNotFoundError, ValidationError

if TYPE_CHECKING:
    from durableml._handles import WorkspaceHandle

__all__ = ["Datastore", "DBFSDatastore", "AzureDataLakeDatastore", "DEFAULT_DATASTORE_NAME"]

DEFAULT_DATASTORE_NAME = "workspaceblobstore"


class Datastore:
    """A datastore of a workspace (v1 ``Datastore(workspace, name=None)``; None means the default).

    A missing datastore raises ``DatastoreNotFoundError``, a ``UserErrorException`` as in v1 (``Could not find
    datastore: <name>``), and also msrest's ``HttpOperationError`` once v1 code has imported msrest.
    """

    def __new__(cls, workspace: WorkspaceHandle | None = None, name: str | None = None) -> Datastore:
        if cls is not Datastore or workspace is None:  # a subclass, or copy / pickle making an empty one
            return super().__new__(cls)
        record = _lookup(workspace, name)
        datastore = super().__new__(_class_for(record))  # v1 answers the typed class (DBFSDatastore ...)
        datastore._load(workspace, record)
        return datastore

    def __init__(self, workspace: WorkspaceHandle, name: str | None = None) -> None:
        if getattr(self, "_record", None) is not None:  # loaded by __new__
            return
        self._load(workspace, _lookup(workspace, name))

    def _load(self, workspace: WorkspaceHandle, record: Mapping[str, Any]) -> None:
        self.workspace = workspace
        self.name: str = str(record["name"])
        self.datastore_type: str = str(record.get("type", "AzureBlob"))
        self.account_name: str | None = record.get("accountName")
        self.container_name: str | None = record.get("containerName")
        # SQL datastores (v1's AzureSqlDatabaseDatastore, AzurePostgreSqlDatastore, AzureMySqlDatastore)
        self.server_name: str | None = record.get("serverName")
        self.database_name: str | None = record.get("databaseName")
        self.user_id: str | None = record.get("userId") or record.get("username")
        self.port_number: str | None = None if record.get("portNumber") is None else str(record["portNumber"])
        self._record = dict(record)

    @classmethod
    def _from_record(cls, workspace: WorkspaceHandle, record: Mapping[str, Any]) -> Datastore:
        datastore = object.__new__(_class_for(record) if cls is Datastore else cls)
        datastore._load(workspace, record)
        return datastore

    @staticmethod
    def get(workspace: WorkspaceHandle, datastore_name: str) -> Datastore:
        """Return the datastore ``datastore_name`` of ``workspace``."""
        return Datastore(workspace, datastore_name)

    @staticmethod
    def get_default(workspace: WorkspaceHandle) -> Datastore:
        """Return the default datastore of ``workspace``."""
        return Datastore(workspace)

    @staticmethod
    def _register(
        workspace: WorkspaceHandle, kind: str, datastore_name: str, overwrite: bool, settings: Mapping[str, Any]
    ) -> Datastore:
        spec = {
            "name": check_identifier(datastore_name, "Datastore"),
            "type": kind,
            **{key: value for key, value in settings.items() if value is not None},
        }
        return Datastore._from_record(workspace, workspace._client.register_datastore(spec, bool(overwrite)))

    @staticmethod
    def register_azure_blob_container(
        workspace: WorkspaceHandle,
        datastore_name: str,
        container_name: str,
        account_name: str,
        sas_token: str | None = None,
        account_key: str | None = None,
        protocol: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        create_if_not_exists: bool = False,
        skip_validation: bool = False,
        blob_cache_timeout: int | None = None,
        grant_workspace_access: bool = False,
        subscription_id: str | None = None,
        resource_group: str | None = None,
    ) -> Datastore:
        """Register a blob container of any storage account: with ``account_key`` or ``sas_token``, or neither (an
        anonymous public container, read-only; a private one is read with the service's identity, or locally with
        the emulator account's key). The service checks access unless ``skip_validation``."""
        return Datastore._register(
            workspace,
            "AzureBlob",
            datastore_name,
            overwrite,
            {
                "container_name": container_name,
                "account_name": account_name,
                "sas_token": sas_token,
                "account_key": account_key,
                "protocol": protocol,
                "endpoint": endpoint,
                "create_if_not_exists": create_if_not_exists,
                "skip_validation": skip_validation,
                "grant_workspace_access": grant_workspace_access or None,  # sent only when asked
            },
        )

    @staticmethod
    def register_azure_file_share(
        workspace: WorkspaceHandle,
        datastore_name: str,
        file_share_name: str,
        account_name: str,
        sas_token: str | None = None,
        account_key: str | None = None,
        protocol: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        create_if_not_exists: bool = False,
        skip_validation: bool = False,
    ) -> Datastore:
        """Register an Azure file share (locally, a blob container of that name on the Azurite account stands in)."""
        return Datastore._register(
            workspace,
            "AzureFile",
            datastore_name,
            overwrite,
            {
                "file_share_name": file_share_name,
                "account_name": account_name,
                "sas_token": sas_token,
                "account_key": account_key,
                "protocol": protocol,
                "endpoint": endpoint,
                "create_if_not_exists": create_if_not_exists,
                "skip_validation": skip_validation,
            },
        )

    @staticmethod
    def register_azure_data_lake(
        workspace: WorkspaceHandle,
        datastore_name: str,
        store_name: str,
        tenant_id: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        resource_url: str | None = None,
        authority_url: str | None = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        overwrite: bool = False,
        grant_workspace_access: bool = False,
    ) -> Datastore:
        """Register an Azure Data Lake Storage Gen1 store (an ``AzureDataLakeDatastore``), with v1's checks: the
        service principal's tenant_id, client_id and client_secret together (the secret is sealed by the service),
        subscription_id and resource_group with ``grant_workspace_access``.

        Gen1 was retired on 2024-02-29: the datastore can be registered and read back (steps such as AdlaStep
        name it), but reading or writing its files raises NotSupportedError."""
        return Datastore._register(
            workspace,
            "AzureDataLake",
            datastore_name,
            overwrite,
            {
                "store_name": store_name,
                "tenant_id": tenant_id,
                "client_id": client_id,
                "client_secret": client_secret,
                "resource_url": resource_url,
                "authority_url": authority_url,
                "subscription_id": subscription_id,
                "resource_group": resource_group,
                "grant_workspace_access": grant_workspace_access or None,
            },
        )

    @staticmethod
    def register_azure_data_lake_gen2(
        workspace: WorkspaceHandle,
        datastore_name: str,
        filesystem: str,
        account_name: str,
        tenant_id: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        resource_url: str | None = None,
        authority_url: str | None = None,
        protocol: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        grant_workspace_access: bool = False,
    ) -> Datastore:
        """Register an Azure Data Lake Storage Gen2 file system (service principal: tenant_id, client_id,
        client_secret; none: the service's identity)."""
        return Datastore._register(
            workspace,
            "AzureDataLakeGen2",
            datastore_name,
            overwrite,
            {
                "filesystem": filesystem,
                "account_name": account_name,
                "tenant_id": tenant_id,
                "client_id": client_id,
                "client_secret": client_secret,
                "authority_url": authority_url,
                "protocol": protocol,
                "endpoint": endpoint,
                "grant_workspace_access": grant_workspace_access or None,  # sent only when asked
            },
        )

    @staticmethod
    def register_azure_sql_database(
        workspace: WorkspaceHandle,
        datastore_name: str,
        server_name: str,
        database_name: str,
        tenant_id: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        resource_url: str | None = None,
        authority_url: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        username: str | None = None,
        password: str | None = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        grant_workspace_access: bool = False,
        **kwargs: Any,
    ) -> Datastore:
        """Register an Azure SQL database: SQL authentication (``username``, ``password``) or a service principal
        (``tenant_id``, ``client_id``, ``client_secret``). ``server_name`` is the server's short name (``sample``
        for sample.database.windows.net). The password or secret is kept sealed by the service."""
        return Datastore._register(
            workspace,
            "AzureSqlDatabase",
            datastore_name,
            overwrite,
            {
                "server_name": server_name,
                "database_name": database_name,
                "tenant_id": tenant_id,
                "client_id": client_id,
                "client_secret": client_secret,
                "resource_url": resource_url,
                "authority_url": authority_url,
                "endpoint": endpoint,
                "username": username,
                "password": password,
                "subscription_id": subscription_id,
                "resource_group": resource_group,
                "grant_workspace_access": grant_workspace_access or None,
                "skip_validation": kwargs.get("skip_validation"),
            },
        )

    @staticmethod
    def register_azure_postgre_sql(
        workspace: WorkspaceHandle,
        datastore_name: str,
        server_name: str,
        database_name: str,
        user_id: str,
        user_password: str,
        port_number: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        enforce_ssl: bool = True,
        **kwargs: Any,
    ) -> Datastore:
        """Register an Azure Database for PostgreSQL (``server_name``: the short name, or a host such as
        ``localhost`` for a local server; ``enforce_ssl``: TLS, except on a loopback address)."""
        _require_sql("PostreSQL", user_id, user_password, server_name, database_name)  # v1's spelling
        return Datastore._register(
            workspace,
            "AzurePostgreSql",
            datastore_name,
            overwrite,
            {
                "server_name": server_name,
                "database_name": database_name,
                "user_id": user_id,
                "user_password": user_password,
                "port_number": port_number,
                "endpoint": endpoint,
                "enforce_ssl": enforce_ssl,
                "skip_validation": kwargs.get("skip_validation"),  # v1 connects to the database unless True
            },
        )

    @staticmethod
    def register_azure_my_sql(
        workspace: WorkspaceHandle,
        datastore_name: str,
        server_name: str,
        database_name: str,
        user_id: str,
        user_password: str,
        port_number: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        **kwargs: Any,
    ) -> Datastore:
        """Register an Azure Database for MySQL (``server_name``: the short name, or a host for a local server)."""
        _require_sql("My SQL", user_id, user_password, server_name, database_name)
        return Datastore._register(
            workspace,
            "AzureMySql",
            datastore_name,
            overwrite,
            {
                "server_name": server_name,
                "database_name": database_name,
                "user_id": user_id,
                "user_password": user_password,
                "port_number": port_number,
                "endpoint": endpoint,
                "skip_validation": kwargs.get("skip_validation"),  # v1 connects to the database unless True
            },
        )

    @staticmethod
    def register_dbfs(workspace: WorkspaceHandle, datastore_name: str) -> Datastore:
        """Register the Databricks file system (a ``DBFSDatastore``: DataReference inputs and PipelineData outputs
        of a DatabricksStep); as in v1 an existing one of that name is replaced."""
        return Datastore._register(workspace, "DBFS", datastore_name, True, {})

    def set_as_default(self) -> None:
        """Make this datastore the workspace default."""
        self.workspace.set_default_datastore(self.name)

    def unregister(self) -> None:
        """Unregister the datastore (v1): the underlying storage is not deleted; the credentials the service kept
        for it are."""
        self.workspace._client.unregister_datastore(self.name)

    def upload_files(
        self,
        files: Iterable[str | os.PathLike[str]],
        relative_root: str | None = None,
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> DataReference:
        """Upload ``files``; each lands at ``target_path/<path relative to relative_root or its name>``."""
        pairs = []
        for file in files:
            local = os.fspath(file)
            if not os.path.isfile(local):
                raise ValidationError(f"upload_files: {local!r} is not a file (working directory {os.getcwd()!r}).")
            relative = os.path.relpath(local, relative_root) if relative_root else os.path.basename(local)
            pairs.append((local, _join(target_path, relative)))
        self.workspace._client.upload_files(self.name, pairs, bool(overwrite), bool(show_progress))
        return self.path(target_path)

    def upload(
        self,
        src_dir: str | os.PathLike[str],
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> DataReference:
        """Upload the directory ``src_dir`` recursively to ``target_path``."""
        source = os.fspath(src_dir)
        if not os.path.isdir(source):
            raise ValidationError(f"upload: {source!r} is not a directory (working directory {os.getcwd()!r}).")
        pairs = [
            (os.path.join(root, name), _join(target_path, os.path.relpath(os.path.join(root, name), source)))
            for root, _dirs, names in sorted(os.walk(source))
            for name in sorted(names)
        ]
        self.workspace._client.upload_files(self.name, pairs, bool(overwrite), bool(show_progress))
        return self.path(target_path)

    def download(
        self,
        target_path: str | os.PathLike[str],
        prefix: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> int:
        """Download blobs (under ``prefix``) to ``target_path/<blob path>``; return the file count."""
        return self.workspace._client.download_files(
            self.name, prefix, os.fspath(target_path), bool(overwrite), bool(show_progress)
        )

    def path(self, path: str | None = None, data_reference_name: str | None = None) -> DataReference:
        """Return a DataReference to ``path`` on this datastore (usable as a DataPath too)."""
        return DataReference(self, data_reference_name, path)

    def as_mount(self) -> DataReference:
        """Return a DataReference to the whole datastore, mounted."""
        return self.path().as_mount()

    def as_download(self, path_on_compute: str | None = None) -> DataReference:
        """Return a DataReference to the whole datastore, downloaded."""
        return self.path().as_download(path_on_compute)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Datastore) and (self.workspace, self.name) == (other.workspace, other.name)

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"Datastore(name={self.name!r}, type={self.datastore_type!r}, container_name={self.container_name!r})"


class DBFSDatastore(Datastore):
    """A Databricks File System datastore (v1 ``azureml.data.dbfs_datastore.DBFSDatastore``)."""


class AzureDataLakeDatastore(Datastore):
    """An Azure Data Lake Storage Gen1 datastore (v1 ``azureml.data.azure_data_lake_datastore``): ``store_name``,
    ``resource_url``, ``authority_url``, ``subscription_id``, ``resource_group``. The service principal's
    tenant_id, client_id and client_secret are sealed by the service and not returned (None here)."""

    def _load(self, workspace: WorkspaceHandle, record: Mapping[str, Any]) -> None:
        super()._load(workspace, record)
        self.store_name: str | None = record.get("storeName")
        self.resource_url: str | None = record.get("resourceUrl")
        self.authority_url: str | None = record.get("authorityUrl")
        self.subscription_id: str | None = record.get("subscriptionId")
        self.resource_group: str | None = record.get("resourceGroup")
        self.service_data_access_auth_identity: str | None = record.get("serviceDataAccessAuthIdentity")
        self.credential_type: str | None = record.get("credentialType")
        self.tenant_id: str | None = None
        self.client_id: str | None = None
        self.client_secret: str | None = None


_TYPED: dict[str, type[Datastore]] = {"DBFS": DBFSDatastore, "AzureDataLake": AzureDataLakeDatastore}


def _class_for(record: Mapping[str, Any]) -> type[Datastore]:
    return _TYPED.get(str(record.get("type") or ""), Datastore)


def _lookup(workspace: WorkspaceHandle, name: str | None) -> Mapping[str, Any]:
    try:
        return workspace._client.get_datastore(name)
    except DatastoreNotFoundError as exc:
        raise v1_lookup_error(exc, f"Could not find datastore: {name}", http_operation_error=True) from exc


def _require_sql(product: str, user_id: Any, user_password: Any, server_name: Any, database_name: Any) -> None:
    """v1's argument checks of register_azure_postgre_sql / register_azure_my_sql, with v1's messages."""
    for value, what in ((user_id, "User id"), (user_password, "User password"), (server_name, "Server name"),
                        (database_name, "Database name")):  # fmt: skip
        if value is None:
            raise ValidationError(f"{what} is required for {product}.")


def _join(prefix: str | None, relative: str) -> str:
    return posixpath.join((prefix or "").strip("/"), relative.replace(os.sep, "/")).lstrip("/")
