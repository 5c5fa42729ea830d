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
so; nothing is ever stored unsealed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
from typing import Any, Mapping, Optional

from durableml.exceptions import ConfigurationError
from durableml.service.records import records, storage_connection
from durableml.storage_accounts import identity_credential, is_identity, parse

__all__ = ["TABLE", "VAULT_SETTING", "delete", "load", "save", "vault_secret_name"]

TABLE = "dmlSecrets"
VAULT_SETTING = "DURABLEML_KEY_VAULT_URI"
_vaults: dict[str, Any] = {}
_vaults_lock = threading.Lock()


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


def _vault_set(secret_name: str, value: str) -> None:
    from azure.core.exceptions import ResourceExistsError

    client = _vault()
    try:
        client.set_secret(secret_name, value, content_type="application/json")
    except ResourceExistsError:  # deleted earlier and still soft-deleted: recover it, then set a new version
        client.begin_recover_deleted_secret(secret_name).wait()
        client.set_secret(secret_name, value, content_type="application/json")


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
        return dict(json.loads(_vault().get_secret(str(found["vault_secret"])).value or "{}"))
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
        try:
            _vault().begin_delete_secret(str(found["vault_secret"]))
        except ResourceNotFoundError:
            pass
    try:
        records().delete(TABLE, kind, name)
    except ResourceNotFoundError:
        pass
