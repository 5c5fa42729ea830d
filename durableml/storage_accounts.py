"""Storage accounts other than the service's own: where an account is, and how a client reaches it.

Shared by the service (datastores: registration, upload, download, listing) and the step runner (staging
inputs and uploading outputs of datastores on other accounts). Standard library only at import time; the
Azure SDK is imported when a client is built.

**Where account X is.** Decided by the service's own storage (``AzureWebJobsStorage``):

* the service's storage is a local emulator (``UseDevelopmentStorage=true``, or a blob endpoint on a
  loopback host): every account is an account of that same Azurite, path-style:
  ``http://127.0.0.1:<blob port>/X`` (Azurite serves the accounts named by its ``AZURITE_ACCOUNTS``; funchost
  configures them from the ``AzuriteAccounts`` setting, ``durableml up --account X``);
* otherwise (Azure): ``<protocol, default https>://X.blob.<endpoint>``, where ``endpoint`` is the datastore's
  v1 ``endpoint`` argument (``core.chinacloudapi.cn``...), else the service connection's ``EndpointSuffix``,
  else ``core.windows.net``.

**Credentials** travel as a *connection* text: a storage connection string, with two additions for what
connection strings cannot say (``Anonymous=true``; ``TenantId``/``ClientId``/``ClientSecret`` for a service
principal; ``Identity=workspace`` for the service's own identity). :func:`blob_service` turns one into a
``BlobServiceClient``. A connection is a secret: it lives only in the service's sealed secret store, in the job
spec a compute node reads, and in memory; never in records, logs or a step's environment.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional

__all__ = [
    "AZURE_SUFFIX",
    "CredentialKind",
    "account_url",
    "blob_service",
    "connection",
    "local_blob_base",
    "parse",
]

AZURE_SUFFIX = "core.windows.net"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
_ENDPOINT = re.compile(r"^(\w+)://(\[[^\]]+\]|[^:/]+)(?::(\d+))?")


class CredentialKind:
    """How a datastore authenticates (v1's ``credential_type`` names where v1 has one)."""

    ACCOUNT_KEY = "AccountKey"
    SAS = "Sas"
    SERVICE_PRINCIPAL = "ServicePrincipal"
    IDENTITY = "WorkspaceIdentity"
    NONE = "None"  # anonymous: a public container, read-only


def parse(text: str) -> dict[str, str]:
    """``Key=Value;...`` as a dict with lower-cased keys (values may contain ``=``, as SAS tokens do)."""
    parts: dict[str, str] = {}
    for item in text.strip().strip(";").split(";"):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            parts[key.strip().lower()] = value.strip()
    return parts


def local_blob_base(service_connection: str) -> Optional[str]:
    """``scheme://host:port`` of the service's blob endpoint when it is a local emulator, else None."""
    parts = parse(service_connection)
    if parts.get("usedevelopmentstorage", "").lower() == "true":
        return "http://127.0.0.1:10000"
    match = _ENDPOINT.match(parts.get("blobendpoint", ""))
    if not match or match.group(2).lower() not in _LOOPBACK:
        return None
    port = f":{match.group(3)}" if match.group(3) else ""
    return f"{match.group(1)}://{match.group(2)}{port}"


def account_url(
    account: str, service_connection: str, protocol: Optional[str] = None, endpoint: Optional[str] = None
) -> str:
    """The blob endpoint of storage account ``account`` (see the module docstring)."""
    local = local_blob_base(service_connection)
    if local is not None:
        return f"{local}/{account}"
    suffix = endpoint or parse(service_connection).get("endpointsuffix") or AZURE_SUFFIX
    return f"{protocol or 'https'}://{account}.blob.{suffix}"


def connection(url: str, account: str, kind: str, secrets: Mapping[str, Any]) -> str:
    """The connection text for a datastore at blob endpoint ``url`` with credential ``kind``.

    ``secrets``: ``account_key``, ``sas_token``, or ``tenant_id``/``client_id``/``client_secret``
    (+ ``authority_url``) as registered.
    """
    if kind == CredentialKind.ACCOUNT_KEY:
        protocol = url.split("://", 1)[0]
        return (
            f"DefaultEndpointsProtocol={protocol};AccountName={account};AccountKey={secrets['account_key']};"
            f"BlobEndpoint={url};"
        )
    if kind == CredentialKind.SAS:
        return f"BlobEndpoint={url};SharedAccessSignature={str(secrets['sas_token']).lstrip('?')};"
    if kind == CredentialKind.SERVICE_PRINCIPAL:
        text = (
            f"BlobEndpoint={url};TenantId={secrets['tenant_id']};ClientId={secrets['client_id']};"
            f"ClientSecret={secrets['client_secret']};"
        )
        return text + (f"AuthorityHost={secrets['authority_url']};" if secrets.get("authority_url") else "")
    if kind == CredentialKind.IDENTITY:
        return f"BlobEndpoint={url};Identity=workspace;"
    return f"BlobEndpoint={url};Anonymous=true;"


def blob_service(text: str) -> Any:
    """A ``BlobServiceClient`` for a connection text (a plain storage connection string works too)."""
    from azure.storage.blob import BlobServiceClient

    parts = parse(text)
    url = parts.get("blobendpoint", "")
    if parts.get("anonymous", "").lower() == "true":
        return BlobServiceClient(url)
    if parts.get("clientsecret"):
        from azure.identity import ClientSecretCredential

        extra = {"authority": parts["authorityhost"]} if parts.get("authorityhost") else {}
        credential = ClientSecretCredential(parts["tenantid"], parts["clientid"], parts["clientsecret"], **extra)
        return BlobServiceClient(url, credential=credential)
    if parts.get("identity"):
        from azure.identity import DefaultAzureCredential

        return BlobServiceClient(url, credential=DefaultAzureCredential(exclude_interactive_browser_credential=True))
    return BlobServiceClient.from_connection_string(text)
