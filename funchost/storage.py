"""Storage connections, resolved from app settings the way the Functions host does.

A binding's ``connection`` property names a setting (default ``AzureWebJobsStorage``; a name ``X`` also
matches a setting ``AzureWebJobsX``). The setting is either

* a connection string: ``UseDevelopmentStorage=true`` (Azurite's well-known ``devstoreaccount1`` account
  on 127.0.0.1 ports 10000/10001/10002) or a full string with ``AccountName``/``AccountKey`` and
  optionally ``BlobEndpoint=``/``QueueEndpoint=``; or
* identity-based settings ``<name>__blobServiceUri`` / ``<name>__queueServiceUri`` / ``<name>__serviceUri``
  / ``<name>__accountName`` (optionally ``<name>__clientId``), authenticated with
  ``azure.identity.DefaultAzureCredential``.

Also here: :func:`host_id` (the id that scopes the host's blobs in ``azure-webjobs-hosts``) and
:class:`BlobLease`, the blob lease used for singletons and blob receipts.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.storage.blob import BlobLeaseClient, BlobServiceClient, ContainerClient
from azure.storage.queue import QueueServiceClient

from funchost.config import HostConfig, parse_connection_string
from funchost.errors import ConfigError, StorageError

DEFAULT_CONNECTION = "AzureWebJobsStorage"
HOSTS_CONTAINER = "azure-webjobs-hosts"
DEVSTORE_ACCOUNT = "devstoreaccount1"
# Azurite's published, well-known development key (not a secret).
DEVSTORE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
DEV_PORTS = {"blob": 10000, "queue": 10001, "table": 10002}
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _dev_endpoint(service: str) -> str:
    return f"http://127.0.0.1:{DEV_PORTS[service]}/{DEVSTORE_ACCOUNT}"


def _endpoint(parts: dict[str, str], service: str) -> str | None:
    """The service endpoint a parsed connection string points at."""
    if parts.get("usedevelopmentstorage", "").lower() == "true":
        return _dev_endpoint(service)
    explicit = parts.get(f"{service}endpoint")
    if explicit:
        return explicit.rstrip("/")
    account = parts.get("accountname")
    if not account:
        return None
    protocol = parts.get("defaultendpointsprotocol", "https")
    suffix = parts.get("endpointsuffix", "core.windows.net")
    return f"{protocol}://{account}.{service}.{suffix}"


def host_id(config: HostConfig) -> str:
    """The host id scoping this app's blobs in ``azure-webjobs-hosts`` (locks, timers, receipts).

    First of: setting ``AzureFunctionsWebHost__hostid``, host.json ``id``, ``WEBSITE_SITE_NAME``, the
    app folder's name. Sanitized like the Functions host: lowercase, only ``a-z0-9-``, at most 32
    characters, no leading or trailing '-'.
    """
    raw = (
        os.environ.get("AzureFunctionsWebHost__hostid")
        or str(config.host_json.get("id") or "")
        or os.environ.get("WEBSITE_SITE_NAME")
        or config.app_dir.resolve().name
    )
    cleaned = re.sub(r"[^a-z0-9-]", "-", raw.lower())[:32].strip("-")
    return cleaned or "funchost"


class Connections:
    """Storage service clients per connection name, created on first use and cached.

    ``settings`` defaults to ``os.environ`` (read live, so local.settings.json values applied
    later are seen).
    """

    def __init__(self, settings: Mapping[str, str] | None = None) -> None:
        self._settings: Mapping[str, str] = settings if settings is not None else os.environ
        self._lock = threading.Lock()
        self._blob: dict[str, BlobServiceClient] = {}
        self._queue: dict[str, QueueServiceClient] = {}
        self._credential: Any = None

    def blob_service(self, name: str | None = None) -> BlobServiceClient:
        """The BlobServiceClient of connection ``name`` (default AzureWebJobsStorage)."""
        key = name or DEFAULT_CONNECTION
        with self._lock:
            if key not in self._blob:
                self._blob[key] = self._make(key, "blob", BlobServiceClient)
            return self._blob[key]

    def queue_service(self, name: str | None = None) -> QueueServiceClient:
        """The QueueServiceClient of connection ``name`` (messages sent and read as plain text)."""
        key = name or DEFAULT_CONNECTION
        with self._lock:
            if key not in self._queue:
                self._queue[key] = self._make(key, "queue", QueueServiceClient)
            return self._queue[key]

    def setting_value(self, name: str | None = None) -> str | None:
        """The connection-string setting behind ``name`` (``X`` or ``AzureWebJobsX``), if any."""
        key = name or DEFAULT_CONNECTION
        for candidate in (key, f"AzureWebJobs{key}"):
            value = self._settings.get(candidate)
            if value:
                return value
        return None

    def describe(self, name: str | None = None, service: str = "blob") -> str:
        """A log-safe description of where connection ``name`` points (an endpoint, never a key)."""
        try:
            endpoint = self._endpoint_and_credential(name or DEFAULT_CONNECTION, service)[0]
            return f"{name or DEFAULT_CONNECTION} -> {endpoint.split('?', 1)[0]}"
        except ConfigError as exc:
            return f"{name or DEFAULT_CONNECTION} -> unresolved ({exc})"

    def close(self) -> None:
        """Close every client created so far (their HTTP sessions)."""
        with self._lock:
            clients: list[Any] = [*self._blob.values(), *self._queue.values()]
            self._blob.clear()
            self._queue.clear()
        for client in clients:
            client.close()

    def _make(self, name: str, service: str, cls: Any) -> Any:
        endpoint, credential = self._endpoint_and_credential(name, service)
        return cls(account_url=endpoint, credential=credential)

    def _endpoint_and_credential(self, name: str, service: str) -> tuple[str, Any]:
        value = self.setting_value(name)
        if value:
            parts = parse_connection_string(value)
            endpoint = _endpoint(parts, service)
            if endpoint is None:
                raise ConfigError(
                    f"connection setting '{name}' has no AccountName or {service.title()}Endpoint; "
                    "use a full storage connection string or 'UseDevelopmentStorage=true'"
                )
            return endpoint, self._key_credential(parts)
        endpoint = self._identity_endpoint(name, service)
        if endpoint is None:
            raise ConfigError(
                f"storage connection '{name}' is not configured: set app setting '{name}' to a connection "
                f"string ('UseDevelopmentStorage=true' for Azurite) or set '{name}__{service}ServiceUri' / "
                f"'{name}__accountName' for an identity-based connection (local.settings.json Values)"
            )
        return endpoint, self._identity_credential(name)

    @staticmethod
    def _key_credential(parts: dict[str, str]) -> Any:
        if parts.get("usedevelopmentstorage", "").lower() == "true":
            return {"account_name": DEVSTORE_ACCOUNT, "account_key": DEVSTORE_KEY}
        if parts.get("accountkey"):
            return {"account_name": parts.get("accountname", ""), "account_key": parts["accountkey"]}
        if parts.get("sharedaccesssignature"):
            return parts["sharedaccesssignature"]
        return None

    def _identity_endpoint(self, name: str, service: str) -> str | None:
        for prefix in (name, f"AzureWebJobs{name}"):
            direct = self._settings.get(f"{prefix}__{service}ServiceUri")
            if direct:
                return direct.rstrip("/")
            generic = self._settings.get(f"{prefix}__serviceUri")
            if generic:
                return generic.rstrip("/").replace(".blob.", f".{service}.")
            account = self._settings.get(f"{prefix}__accountName")
            if account:
                return f"https://{account}.{service}.core.windows.net"
        return None

    def _identity_credential(self, name: str) -> Any:
        """``<name>__credential`` = ``managedidentity``: the managed identity (``<name>__clientId``), as the
        Functions host does; otherwise DefaultAzureCredential (a developer's environment or az login)."""
        if self._credential is None:
            client_id = self._settings.get(f"{name}__clientId") or None
            if (self._settings.get(f"{name}__credential") or "").lower() == "managedidentity":
                from azure.identity import ManagedIdentityCredential  # lazily: only identity connections need it

                self._credential = ManagedIdentityCredential(client_id=client_id)
            else:
                from azure.identity import DefaultAzureCredential

                self._credential = DefaultAzureCredential(managed_identity_client_id=client_id)
        return self._credential


def ensure_container(container: ContainerClient) -> None:
    """Create ``container`` if it does not exist yet."""
    try:
        container.create_container()
    except ResourceExistsError:
        pass


class BlobLease:
    """A renewable lease on a blob (created empty if missing), for singletons and receipts."""

    def __init__(
        self,
        container: ContainerClient,
        blob_name: str,
        duration: int = 15,
        create_metadata: dict[str, str] | None = None,
    ) -> None:
        self.blob = container.get_blob_client(blob_name)
        self.container = container
        self.duration = duration
        self.create_metadata = create_metadata
        self.client: BlobLeaseClient | None = None

    def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; False when another owner holds it."""
        self._ensure_exists()
        lease = BlobLeaseClient(self.blob)
        try:
            lease.acquire(lease_duration=self.duration)
        except HttpResponseError as exc:
            if exc.status_code == 409:
                return False
            raise StorageError(f"leasing blob {self.blob.blob_name} failed: {exc.reason}") from exc
        self.client = lease
        return True

    def renew(self) -> bool:
        """Renew the lease; False if it was lost (expired and taken by someone else)."""
        if self.client is None:
            return False
        try:
            self.client.renew()
            return True
        except HttpResponseError:
            self.client = None
            return False

    def release(self) -> None:
        """Release the lease if held (errors are ignored: the lease expires anyway)."""
        if self.client is not None:
            try:
                self.client.release()
            except HttpResponseError:
                pass
            self.client = None

    def _ensure_exists(self) -> None:
        if self.blob.exists():
            return
        ensure_container(self.container)
        try:
            self.blob.upload_blob(b"", overwrite=False, metadata=self.create_metadata)
        except (ResourceExistsError, HttpResponseError) as exc:
            if isinstance(exc, ResourceExistsError) or exc.status_code in (409, 412):
                return
            raise StorageError(f"creating blob {self.blob.blob_name} failed: {exc.reason}") from exc
