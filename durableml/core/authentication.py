"""The v1 authentication classes, returning headers that work against the configured durableml service.

``get_authentication_header()`` answers for the deployment it talks to:

* a Function App with Entra ID (``DURABLEML_AUTH=entra`` on the app, App Service authentication in front):
  set ``DURABLEML_AUTH_SCOPE`` (the app's scope, e.g. ``api://<app client id>/.default``) where the SDK
  runs, and each class gets a token with the matching azure-identity credential and returns
  ``{"Authorization": "Bearer <token>"}``: InteractiveLoginAuthentication → InteractiveBrowserCredential,
  AzureCliAuthentication → AzureCliCredential, ServicePrincipalAuthentication → ClientSecretCredential,
  MsiAuthentication → ManagedIdentityCredential;
* otherwise (funchost, or a Function App using function keys): ``{"x-functions-key": key}`` with the key of
  config.json (``key``) or ``DURABLEML_KEY``, or ``{}`` when none is configured.

Secrets (keys, tokens, client secrets) never appear in a repr or a log line.
"""

from __future__ import annotations

import os
from typing import Any

from durableml.config import load_config
from durableml.exceptions import AuthenticationException

__all__ = [
    "AbstractAuthentication",
    "InteractiveLoginAuthentication",
    "AzureCliAuthentication",
    "ServicePrincipalAuthentication",
    "MsiAuthentication",
    "entra_scope",
]

SCOPE_ENV = "DURABLEML_AUTH_SCOPE"


def entra_scope() -> str | None:
    """The Entra ID scope of the service's app registration, when the service validates Entra tokens."""
    return (os.environ.get(SCOPE_ENV) or "").strip() or None


class AbstractAuthentication:
    """Base of the authentication classes: a function key, or an Entra ID token from ``_credential()``."""

    def __init__(self, key: str | None = None) -> None:
        self._key = key
        self._cached: Any = None

    def _credential(self) -> Any:
        """The azure-identity credential of this login (built on first use)."""
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()

    def get_token(self, scope: str) -> str:
        """An Entra ID access token for ``scope`` from this login's credential."""
        if self._cached is None:
            self._cached = self._credential()
        try:
            return str(self._cached.get_token(scope).token)
        except Exception as exc:  # azure-identity raises ClientAuthenticationError and friends
            raise AuthenticationException(
                f"{type(self).__name__} could not get an Entra ID token for {scope!r}: {type(exc).__name__}: {exc}. "
                f"Check the login (az login, the service principal, the managed identity) and {SCOPE_ENV}."
            ) from exc

    def get_authentication_header(self) -> dict[str, str]:
        """Return the HTTP headers that authenticate a request to the durableml service."""
        scope = entra_scope()
        if scope:
            return {"Authorization": f"Bearer {self.get_token(scope)}"}
        key = self._key if self._key is not None else load_config().key
        return {"x-functions-key": key} if key else {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class InteractiveLoginAuthentication(AbstractAuthentication):
    """v1 interactive login: a browser sign-in (Entra deployments), else the configured function key."""

    def __init__(self, force: bool = False, tenant_id: str | None = None, cloud: str | None = None) -> None:
        super().__init__()
        self.tenant_id = tenant_id

    def _credential(self) -> Any:
        from azure.identity import InteractiveBrowserCredential

        return (
            InteractiveBrowserCredential(tenant_id=self.tenant_id) if self.tenant_id else InteractiveBrowserCredential()
        )


class AzureCliAuthentication(AbstractAuthentication):
    """v1 Azure CLI login: the ``az login`` account (Entra deployments), else the configured function key."""

    def __init__(self, cloud: str | None = None) -> None:
        super().__init__()

    def _credential(self) -> Any:
        from azure.identity import AzureCliCredential

        return AzureCliCredential()


class ServicePrincipalAuthentication(AbstractAuthentication):
    """v1 service principal login (client secret); the secret is kept out of repr."""

    def __init__(
        self,
        tenant_id: str,
        service_principal_id: str,
        service_principal_password: str,
        cloud: str = "AzureCloud",
        _enable_caching: bool = True,
    ) -> None:
        super().__init__()
        self.tenant_id = tenant_id
        self.service_principal_id = service_principal_id
        self._secret = service_principal_password

    def _credential(self) -> Any:
        from azure.identity import ClientSecretCredential

        return ClientSecretCredential(self.tenant_id, self.service_principal_id, self._secret)

    def __repr__(self) -> str:
        return f"ServicePrincipalAuthentication(tenant_id={self.tenant_id!r}, id={self.service_principal_id!r})"


class MsiAuthentication(AbstractAuthentication):
    """v1 managed identity login (``identity_config={"client_id": ...}`` for a user-assigned identity)."""

    def __init__(self, cloud: str | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.client_id = (kwargs.get("identity_config") or {}).get("client_id") or kwargs.get("client_id")

    def _credential(self) -> Any:
        from azure.identity import ManagedIdentityCredential

        return ManagedIdentityCredential(client_id=self.client_id) if self.client_id else ManagedIdentityCredential()
