"""Who may call the published-pipeline routes: function keys, or Entra ID tokens checked by App Service.

``DURABLEML_AUTH`` (an app setting) picks one of two modes for a deployment:

* ``key`` (default; always under funchost): the routes have the app's ``function`` auth level, so the
  Functions host (funchost locally, the Azure Functions host in Azure) refuses a request without a
  valid function key (``x-functions-key`` header or ``?code=``) with 401 before the app sees it.
* ``entra`` (Azure): App Service authentication (Easy Auth) validates ``Authorization: Bearer`` tokens
  from Entra ID in front of the app. The Functions host cannot accept an Entra identity in place of a
  key (an authenticated Easy Auth request still needs a key for ``function`` routes; see
  Azure/azure-functions-host#11394), so in this mode the routes are ``anonymous`` at the host and the app
  requires the principal App Service injects (``X-MS-CLIENT-PRINCIPAL-ID``; App Service strips these
  headers from incoming requests, so only it can set them). ``DURABLEML_ALLOWED_PRINCIPALS`` (comma-
  separated object ids) narrows who may call; others get 403.

The SDK's own calls to the management API (``/api/...`` in triggers/api.py) always use function keys.
"""

from __future__ import annotations

import os
from typing import Mapping, Optional

from durableml.exceptions import AuthenticationException, ConfigurationError

MODES = ("key", "entra")
PRINCIPAL_HEADER = "x-ms-client-principal-id"


def mode() -> str:
    """The deployment's mode (``key`` unless ``DURABLEML_AUTH`` says ``entra``)."""
    value = (os.environ.get("DURABLEML_AUTH") or "key").strip().lower()
    if value not in MODES:
        raise ConfigurationError(
            f"DURABLEML_AUTH is {value!r}; set 'key' (function keys) or 'entra' (App Service "
            "authentication validates Entra ID tokens)"
        )
    return value


def principal(headers: Mapping[str, str]) -> Optional[str]:
    """The caller App Service authenticated, in ``entra`` mode; None in ``key`` mode (the host checked the key).

    Raises AuthenticationException (401 without a principal, 403 for one not allowed).
    """
    if mode() == "key":
        return None
    found = {k.lower(): v for k, v in headers.items()}.get(PRINCIPAL_HEADER)
    if not found:
        raise AuthenticationException(
            "this endpoint needs an Entra ID token: send 'Authorization: Bearer <token>' for the app's audience "
            "(App Service authentication validates it). Enable App Service authentication on the Function App if "
            "valid tokens are refused too.",
            details={"status": 401},
        )
    allowed = [p.strip() for p in (os.environ.get("DURABLEML_ALLOWED_PRINCIPALS") or "").split(",") if p.strip()]
    if allowed and found not in allowed:
        raise AuthenticationException(
            f"principal {found} may not call this endpoint (DURABLEML_ALLOWED_PRINCIPALS)", details={"status": 403}
        )
    return found
