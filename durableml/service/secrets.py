"""Credentials the service keeps for later (datastores' account keys, SAS tokens, client secrets), sealed.

They are stored apart from the records the API answers with: table ``dmlSecrets`` of the service's storage
account (partition = what they belong to, ``datastore``; row key = its name), each as one Fernet token
(AES-128-CBC + HMAC-SHA256) in the record ``{"sealed": token}``. No route reads this table; only the service's
own code opens a token (:func:`load`), when it builds a storage client or a job's per-binding connection.

The sealing key is derived (SHA-256) from the account key in the service's storage connection
(``AzureWebJobsStorage``): whoever can read the table can already read the service's account, and nobody who
reads Azurite's data files, a backup of the table or a log finds a credential in plain text. Locally that key is
Azurite's well-known one, so there the sealing keeps credentials out of plain text rather than from the machine's
user. A connection without an account key (a SAS or identity-based one) seals with a key derived from the whole
connection text.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Mapping, Optional

from durableml.service.records import records, storage_connection
from durableml.storage_accounts import parse

__all__ = ["TABLE", "delete", "load", "save"]

TABLE = "dmlSecrets"


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
    token = _fernet().encrypt(json.dumps(dict(secrets), sort_keys=True).encode()).decode()
    records().put(TABLE, kind, name, {"sealed": token})


def load(kind: str, name: str) -> dict[str, Any]:
    """The secrets stored for ``kind``/``name`` ({} when there are none)."""
    found: Optional[dict[str, Any]] = records().get(TABLE, kind, name)
    if not found or not found.get("sealed"):
        return {}
    from cryptography.fernet import InvalidToken

    try:
        return dict(json.loads(_fernet().decrypt(str(found["sealed"]).encode())))
    except InvalidToken:
        from durableml.exceptions import ConfigurationError

        raise ConfigurationError(
            f"the credentials stored for {kind} '{name}' cannot be opened: the service's storage account key "
            "changed since they were registered; register the datastore again (overwrite=True)"
        ) from None


def delete(kind: str, name: str) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        records().delete(TABLE, kind, name)
    except ResourceNotFoundError:
        pass
