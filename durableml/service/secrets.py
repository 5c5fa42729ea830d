"""Credentials the service keeps for later (datastores' account keys, SAS tokens, client secrets), sealed.

They are stored apart from the records the API answers with: table ``dmlSecrets`` of the service's storage
account (partition = what they belong to, ``datastore``; row key = its name), each as one Fernet token
(AES-128-CBC + HMAC-SHA256) in the record ``{"sealed": token}``. No route reads this table; only the service's
own code opens a token (:func:`load`), when it builds a storage client or a job's per-binding connection.

The sealing key is derived (SHA-256) from the account key in the service's storage connection
(``AzureWebJobsStorage``): whoever can read the table can already read the service's account, and nobody who
reads Azurite's data files, a backup of the table or a log finds a credential in plain text. Locally that key is
Azurite's well-known one, so there the sealing keeps credentials out of plain text rather than from the machine's
user. A connection with a SAS seals with a key derived from the whole connection text.

**Identity-based storage (Azure).** With an identity-based ``AzureWebJobsStorage`` there is no account key to
derive a sealing key from (and a key derived from endpoints would be no secret): the secrets go to the Key Vault
``DURABLEML_KEY_VAULT_URI`` (azure-keyvault-secrets, with the app's managed identity), one secret per
``kind``/``name`` named ``dml-<kind>-<name's safe characters>-<hash>``, and the table keeps only that name
(``{"vault_secret": name}``). Without the setting, registering a secret fails with a ConfigurationError that says
so; nothing is ever stored unsealed. A vault that refuses the identity (403, or 401 to its token) gives a
ConfigurationError naming the vault, the operation and the role to grant (Key Vault Secrets Officer), and an
unreachable vault one naming the vault. Deleting waits for Key Vault's soft delete to finish (until then the name
can be neither set again nor recovered); setting a name that is soft-deleted recovers it and sets a new version.
Tested offline against tests/keyvault_fake.py (the SDK's requests checked against its own models).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
from typing import Any, Callable, Mapping, Optional, TypeVar

from durableml.exceptions import ConfigurationError
from durableml.service.records import records, storage_connection
from durableml.storage_accounts import identity_credential, is_identity, parse

__all__ = ["TABLE", "VAULT_SETTING", "delete", "load", "save", "vault_secret_name"]

TABLE = "dmlSecrets"
VAULT_SETTING = "DURABLEML_KEY_VAULT_URI"
_vaults: dict[str, Any] = {}
_vaults_lock = threading.Lock()
_T = TypeVar("_T")


def _in_vault() -> bool:
    return is_identity(storage_connection())


def vault_secret_name(kind: str, name: str) -> str:
    """The Key Vault secret name for ``kind``/``name`` (Key Vault allows ``0-9a-zA-Z-``, 127 characters): the
    name's safe characters for a reader, and a hash of the exact pair, so that two names never share one."""
    digest = hashlib.sha256(f"{kind}/{name}".encode()).hexdigest()[:16]
    readable = re.sub(r"[^0-9a-zA-Z-]+", "-", name).strip("-")[:80]
    return "-".join(part for part in ("dml", re.sub(r"[^0-9a-zA-Z]", "", kind)[:16], readable, digest) if part)


def _vault() -> Any:
    """The SecretClient of the Key Vault the service keeps secrets in (identity-based storage only)."""
    uri = os.environ.get(VAULT_SETTING, "").strip()
    if not uri:
        raise ConfigurationError(
            f"the service's storage is identity-based (no account key to seal secrets with), so secrets go to a "
            f"Key Vault: set the app setting {VAULT_SETTING} to the vault's URI (the Bicep in infra/ does) and give "
            "the app's identity the Key Vault Secrets Officer role on it"
        )
    with _vaults_lock:
        client = _vaults.get(uri)
        if client is None:
            from azure.keyvault.secrets import SecretClient

            client = _vaults[uri] = SecretClient(uri, credential=identity_credential(storage_connection()))
        return client


_ROLE = "Key Vault Secrets Officer"


def _vault_call(what: str, secret_name: str, call: Callable[[], _T]) -> _T:
    """``call()`` on the vault, its refusals as ConfigurationErrors naming the vault, what was refused and the role
    the app's identity needs (Key Vault's own messages name no secret value)."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

    uri = os.environ.get(VAULT_SETTING, "").strip()
    try:
        return call()
    except ClientAuthenticationError as exc:
        if exc.status_code is None:  # no token: the identity itself is missing or refused
            raise ConfigurationError(
                f"the Key Vault {uri} ({VAULT_SETTING}) could not be asked to {what} the secret '{secret_name}': "
                f"the app's identity got no token for it ({str(exc).splitlines()[0][:300]})"
            ) from None
        raise _refused(uri, what, secret_name, exc) from None
    except HttpResponseError as exc:
        if exc.status_code == 403:
            raise _refused(uri, what, secret_name, exc) from None
        raise
    except ServiceRequestError as exc:
        raise ConfigurationError(
            f"the Key Vault {uri} ({VAULT_SETTING}) cannot be reached to {what} the secret '{secret_name}': "
            f"{str(exc).splitlines()[0][:300]}"
        ) from None


def _refused(uri: str, what: str, secret_name: str, exc: Any) -> ConfigurationError:
    code = getattr(getattr(exc, "error", None), "code", None) or exc.reason or ""
    return ConfigurationError(
        f"the Key Vault {uri} ({VAULT_SETTING}) refused to {what} the secret '{secret_name}' "
        f"(HTTP {exc.status_code} {code}): give the app's identity the {_ROLE} role on the vault (or, on a vault "
        "with access policies, the secret permissions get, set, delete and recover)"
    )


def _vault_set(secret_name: str, value: str) -> None:
    from azure.core.exceptions import ResourceExistsError

    client = _vault()

    def put() -> None:
        client.set_secret(secret_name, value, content_type="application/json")

    try:
        _vault_call("set", secret_name, put)
    except ResourceExistsError:  # deleted earlier and still soft-deleted: recover it, then set a new version
        _vault_call("recover", secret_name, lambda: client.begin_recover_deleted_secret(secret_name).wait())
        _vault_call("set", secret_name, put)


def _fernet() -> Any:
    from cryptography.fernet import Fernet

    conn = storage_connection()
    material = parse(conn).get("accountkey") or conn
    key = hashlib.sha256(b"durableml sealed secrets\0" + material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def save(kind: str, name: str, secrets: Mapping[str, Any]) -> None:
    """Seal and store ``secrets`` (a JSON-ready mapping) for ``kind``/``name``; an empty mapping removes them."""
    if not secrets:
        delete(kind, name)
        return
    if _in_vault():
        secret_name = vault_secret_name(kind, name)
        _vault_set(secret_name, json.dumps(dict(secrets), sort_keys=True))
        records().put(TABLE, kind, name, {"vault_secret": secret_name})
        return
    token = _fernet().encrypt(json.dumps(dict(secrets), sort_keys=True).encode()).decode()
    records().put(TABLE, kind, name, {"sealed": token})


def load(kind: str, name: str) -> dict[str, Any]:
    """The secrets stored for ``kind``/``name`` ({} when there are none)."""
    found: Optional[dict[str, Any]] = records().get(TABLE, kind, name)
    if found and found.get("vault_secret"):
        secret_name = str(found["vault_secret"])
        from azure.core.exceptions import ResourceNotFoundError

        try:
            secret = _vault_call("get", secret_name, lambda: _vault().get_secret(secret_name))
        except ResourceNotFoundError:
            raise ConfigurationError(
                f"the credentials of {kind} '{name}' are not in the Key Vault {os.environ.get(VAULT_SETTING, '')} "
                f"(secret '{secret_name}' not found: deleted from the vault?); register the {kind} again "
                "(overwrite=True)"
            ) from None
        return dict(json.loads(secret.value or "{}"))
    if not found or not found.get("sealed"):
        return {}
    from cryptography.fernet import InvalidToken

    try:
        return dict(json.loads(_fernet().decrypt(str(found["sealed"]).encode())))
    except InvalidToken:
        raise ConfigurationError(
            f"the credentials stored for {kind} '{name}' cannot be opened: the service's storage account key "
            "changed since they were registered; register the datastore again (overwrite=True)"
        ) from None


def delete(kind: str, name: str) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    found = records().get(TABLE, kind, name)
    if found and found.get("vault_secret"):
        secret_name = str(found["vault_secret"])
        try:  # waits until the deletion is done: until then the name can be neither set nor recovered (409)
            _vault_call("delete", secret_name, lambda: _vault().begin_delete_secret(secret_name).wait(60))
        except ResourceNotFoundError:
            pass
    try:
        records().delete(TABLE, kind, name)
    except ResourceNotFoundError:
        pass
