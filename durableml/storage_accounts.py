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

**Identity-based service storage.** In Azure the Function App has no account key: its ``AzureWebJobsStorage``
is the identity-based settings ``AzureWebJobsStorage__blobServiceUri`` / ``__queueServiceUri`` /
``__tableServiceUri`` / ``__credential`` (``managedidentity``) / ``__clientId``. :func:`identity_connection`
writes them as a connection text, ``BlobEndpoint=...;QueueEndpoint=...;TableEndpoint=...;AccountName=...;
Credential=managedidentity;ClientId=<id>;``, which holds no secret (endpoints and a client id only) and is what
a job spec carries. Every client built from such a text (:func:`blob_service`, :func:`table_service`,
:func:`queue_service`) authenticates with :func:`identity_credential`: the managed identity of the machine the
client runs on (``AZURE_CLIENT_ID`` there, the node's own identity, else the text's client id), or
``DefaultAzureCredential`` when no ``Credential=managedidentity`` is given (a developer's ``az login``).
"""

from __future__ import annotations

import re
import threading
from typing import Any, Callable, Mapping, Optional

__all__ = [
    "AZURE_SUFFIX",
    "CredentialKind",
    "account_url",
    "blob_service",
    "connection",
    "identity_connection",
    "identity_credential",
    "is_identity",
    "local_blob_base",
    "loopback_options",
    "parse",
    "queue_service",
    "table_service",
]

IDENTITY_PREFIX = "AzureWebJobsStorage__"
_credentials: dict[tuple[bool, str], Any] = {}
_credentials_lock = threading.Lock()

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


def identity_connection(settings: Mapping[str, str], prefix: str = IDENTITY_PREFIX) -> Optional[str]:
    """The connection text of identity-based storage settings (``<prefix>blobServiceUri`` ...), None without them.

    Only endpoints, the account's name and the identity's client id: no secret."""
    blob = settings.get(f"{prefix}blobServiceUri") or ""
    account = settings.get(f"{prefix}accountName") or ""
    if not blob and not account:
        return None
    endpoints = {}
    for service in ("blob", "queue", "table"):
        uri = settings.get(f"{prefix}{service}ServiceUri") or ""
        if not uri and blob:
            uri = blob.replace(".blob.", f".{service}.")
        if not uri:
            uri = f"https://{account}.{service}.{AZURE_SUFFIX}"
        endpoints[service] = uri.rstrip("/")
    if not account:
        account = _account_of(endpoints["blob"])
    text = (
        f"BlobEndpoint={endpoints['blob']};QueueEndpoint={endpoints['queue']};TableEndpoint={endpoints['table']};"
        f"AccountName={account};"
    )
    if (settings.get(f"{prefix}credential") or "").lower() == "managedidentity":
        text += "Credential=managedidentity;"
    else:
        text += "Credential=default;"
    client_id = settings.get(f"{prefix}clientId") or ""
    return text + (f"ClientId={client_id};" if client_id else "")


def _account_of(blob_endpoint: str) -> str:
    """The account of a blob endpoint: its host's first label, or a path-style (emulator) URL's first segment."""
    match = _ENDPOINT.match(blob_endpoint)
    if match and match.group(2).lower() in _LOOPBACK:
        return blob_endpoint[match.end() :].strip("/").split("/", 1)[0]
    return match.group(2).split(".", 1)[0] if match else ""


def is_identity(text: str) -> bool:
    """Whether a connection text authenticates with an identity (service's own, or Entra ID) and holds no key."""
    parts = parse(text)
    return bool(parts.get("credential") or parts.get("identity")) and not parts.get("accountkey")


def identity_credential(text: str = "") -> Any:
    """The token credential for an identity connection text, one per (kind, client id) per process.

    ``Credential=managedidentity``: ``ManagedIdentityCredential`` of this machine's identity (``AZURE_CLIENT_ID``
    when set, the identity the node itself is told to use, else the text's ``ClientId``); otherwise
    ``DefaultAzureCredential`` (environment, workload identity, managed identity, az login...)."""
    import os

    parts = parse(text)
    managed = parts.get("credential", "").lower() == "managedidentity"
    client_id = os.environ.get("AZURE_CLIENT_ID") or parts.get("clientid") or ""
    with _credentials_lock:
        found = _credentials.get((managed, client_id))
        if found is None:
            if managed:
                from azure.identity import ManagedIdentityCredential

                found = ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
            else:
                from azure.identity import DefaultAzureCredential

                found = DefaultAzureCredential(
                    exclude_interactive_browser_credential=True, managed_identity_client_id=client_id or None
                )
            _credentials[(managed, client_id)] = found
        return found


def loopback_options(text: str, service: str) -> dict[str, Any]:
    """Client options for a ``service`` (blob, queue, table) endpoint over plain HTTP on loopback (a local emulator):
    a requests session that does not read proxy settings from the environment; none for any other endpoint.

    Why: with ``trust_env`` on, requests looks the proxy settings up in ``os.environ`` on every request: 17% of the
    py-spy samples of the host's table upserts in a 50-step chain (docs/benchmarks.md, "loopback sessions"). A
    proxy has no business with a loopback endpoint anyway: without ``NO_PROXY`` covering it, an ``HTTP_PROXY``
    would even take the emulator's requests away from it. HTTPS endpoints keep the default (the environment may
    name the CA bundle that trusts an emulator's certificate)."""
    match = _ENDPOINT.match(parse(text).get(f"{service}endpoint", ""))
    if match is None or match.group(1).lower() != "http" or match.group(2).lower() not in _LOOPBACK:
        return {}
    import requests
    from azure.core.pipeline.transport import RequestsTransport

    session = requests.Session()
    session.trust_env = False
    return {"transport": RequestsTransport(session=session, session_owner=True)}


def table_service(text: str) -> Any:
    """A ``TableServiceClient`` for a storage connection string or an identity connection text."""
    from azure.data.tables import TableServiceClient

    options = loopback_options(text, "table")
    if is_identity(text):
        return TableServiceClient(parse(text)["tableendpoint"], credential=identity_credential(text), **options)
    return TableServiceClient.from_connection_string(text, **options)


def queue_service(text: str) -> Any:
    """A ``QueueServiceClient`` for a storage connection string or an identity connection text."""
    from azure.storage.queue import QueueServiceClient

    options = loopback_options(text, "queue")
    if is_identity(text):
        return QueueServiceClient(parse(text)["queueendpoint"], credential=identity_credential(text), **options)
    return QueueServiceClient.from_connection_string(text, **options)


def blob_service(text: str, **options: Any) -> Any:
    """A ``BlobServiceClient`` for a connection text (a plain storage connection string works too); ``options`` go
    to the client (e.g. ``retry_policy``)."""
    from azure.storage.blob import BlobServiceClient

    parts = parse(text)
    url = parts.get("blobendpoint", "")
    options = {**loopback_options(text, "blob"), **options}
    if parts.get("credential"):
        return BlobServiceClient(url, credential=identity_credential(text), **options)
    if parts.get("anonymous", "").lower() == "true":
        return BlobServiceClient(url, **options)
    if parts.get("clientsecret"):
        from azure.identity import ClientSecretCredential

        extra = {"authority": parts["authorityhost"]} if parts.get("authorityhost") else {}
        credential = ClientSecretCredential(parts["tenantid"], parts["clientid"], parts["clientsecret"], **extra)
        return BlobServiceClient(url, credential=credential, **options)
    if parts.get("identity"):
        from azure.identity import DefaultAzureCredential

        default = DefaultAzureCredential(exclude_interactive_browser_credential=True)
        return BlobServiceClient(url, credential=default, **options)
    return BlobServiceClient.from_connection_string(text, **options)


OUTAGE_WINDOW_SETTING = "DURABLEML_STORAGE_OUTAGE_WINDOW_SECONDS"  # see durableml.service.outages
STEADY_RETRY_S = 1  # seconds (the SDK's LinearRetry takes whole seconds)
REPORT_EVERY = 10  # attempts between two progress lines


def steady_retry(window_s: float, report: Callable[[str], None]) -> Any:
    """The retry policy of a step's transfers with a storage emulator on loopback: every second, for ``window_s``.

    The storage SDK's default (15 s, then 18 s, 24 s... three times) suits Azure, where a refused connection is
    rare and backing off matters; a local emulator that restarts (funchost restarts a dead Azurite at once) is
    back within seconds, and a refused connection on loopback costs nothing. So a step's uploads go on a second
    after storage is back, not up to 24 s later, and they keep trying for the run's outage window instead of
    failing the step after three attempts. Each retry is reported (``report``: the step's log) now and then.
    """
    from azure.storage.blob import LinearRetry

    attempts = max(1, int(window_s / STEADY_RETRY_S))

    class _ReportingRetry(LinearRetry):
        def sleep(self, settings: Any, transport: Any) -> None:
            count = int(settings.get("count") or 0)
            if count == 1 or count % REPORT_EVERY == 0:
                report(
                    f"durableml: storage did not answer (attempt {count} of {attempts}); "
                    f"retrying every {STEADY_RETRY_S:g} s"
                )
            super().sleep(settings, transport)  # type: ignore[no-untyped-call]  # the SDK leaves it untyped

    return _ReportingRetry(
        backoff=int(STEADY_RETRY_S),
        random_jitter_range=0,
        retry_total=attempts,
        retry_connect=attempts,
        retry_read=attempts,
        retry_status=attempts,
    )
