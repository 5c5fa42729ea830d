"""The v1 authentication classes, returning headers that work against the durableml service.

``get_authentication_header()`` returns ``{"x-functions-key": key}`` when a function key is
configured (config.json ``key`` or ``DURABLEML_KEY``), else an empty dict (a local funchost with
anonymous routes). Entra ID bearer tokens for deployments in Azure come with the publishing work.
"""

from __future__ import annotations

from typing import Any

from durableml.config import load_config

__all__ = [
    "AbstractAuthentication",
    "InteractiveLoginAuthentication",
    "AzureCliAuthentication",
    "ServicePrincipalAuthentication",
    "MsiAuthentication",
]


class AbstractAuthentication:
    """Base of the authentication classes."""

    def __init__(self, key: str | None = None) -> None:
        self._key = key

    def get_authentication_header(self) -> dict[str, str]:
        """Return the HTTP headers that authenticate a request to the durableml service."""
        key = self._key if self._key is not None else load_config().key
        return {"x-functions-key": key} if key else {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class InteractiveLoginAuthentication(AbstractAuthentication):
    """v1 interactive login; uses the configured function key."""

    def __init__(self, force: bool = False, tenant_id: str | None = None, cloud: str | None = None) -> None:
        super().__init__()
        self.tenant_id = tenant_id


class AzureCliAuthentication(AbstractAuthentication):
    """v1 Azure CLI login; uses the configured function key."""

    def __init__(self, cloud: str | None = None) -> None:
        super().__init__()


class ServicePrincipalAuthentication(AbstractAuthentication):
    """v1 service principal login; the secret is kept out of repr."""

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


class MsiAuthentication(AbstractAuthentication):
    """v1 managed identity login; uses the configured function key."""

    def __init__(self, cloud: str | None = None, **kwargs: Any) -> None:
        super().__init__()
