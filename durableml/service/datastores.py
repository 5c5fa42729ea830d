"""Datastores: named blob containers. ``workspaceblobstore`` (the default) always exists and lives in the
service's own storage account; others are registered containers of that account.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Optional

from durableml.exceptions import DatastoreNotFoundError, NotFoundError, NotSupportedError, ValidationError

from durableml.service.records import blob_container, records, storage_connection


class FileNotFoundInDatastoreError(NotFoundError):
    """A path that holds no file in an existing datastore."""

    code = "DatastoreFileNotFound"


TABLE, PARTITION = "dmlDatastores", "datastore"
DEFAULT_NAME = "workspaceblobstore"
FILE_STORE = "workspacefilestore"  # Azure Files in v1; a container of the service account here
_SETTINGS = ("dmlWorkspace", "workspace", "settings")
_SECRETS = ("account_key", "sas_token", "client_secret", "password")  # never stored with the record


def _builtin(name: str = DEFAULT_NAME) -> dict[str, Any]:
    kind = "AzureFile" if name == FILE_STORE else "AzureBlob"
    return {
        "name": name,
        "type": kind,
        "container_name": name,
        "account_name": _account_name(),
        "protocol": "http",
        "endpoint": "core.windows.net",
    }


def _account_name() -> str:
    for part in storage_connection().split(";"):
        if part.lower().startswith("accountname="):
            return part.split("=", 1)[1]
    return "devstoreaccount1"


def get_datastore(name: Optional[str]) -> dict[str, Any]:
    """A datastore record by name (``None`` = the workspace default)."""
    wanted = name or default_name()
    if wanted in (DEFAULT_NAME, FILE_STORE):
        return _builtin(wanted)
    found = records().get(TABLE, PARTITION, wanted)
    if found is None:
        raise DatastoreNotFoundError(
            f"no datastore named '{wanted}' in this workspace; register it with "
            "Datastore.register_azure_blob_container(...) or use 'workspaceblobstore'"
        )
    return found


def list_datastores() -> list[dict[str, Any]]:
    return [_builtin(), _builtin(FILE_STORE), *records().query(TABLE, PARTITION)]


def register_datastore(spec: Mapping[str, Any], overwrite: bool = False) -> dict[str, Any]:
    name = str(spec.get("name") or "")
    # an ADLS Gen2 file system is a container of the account to the blob API (multi-protocol access)
    container = str(spec.get("container_name") or spec.get("filesystem") or "")
    if not name or not container:
        raise ValidationError(
            "a datastore needs 'name' and 'container_name' (a blob container, or for ADLS Gen2 the 'filesystem')"
        )
    if name in (DEFAULT_NAME, FILE_STORE):
        raise ValidationError(f"'{name}' is a built-in datastore; choose another name")
    account = spec.get("account_name")
    if account and account != _account_name():
        raise NotSupportedError(
            f"datastore '{name}' is in storage account '{account}': durableml reaches only its "
            f"own account ('{_account_name()}') for now; copy the data into a container there"
        )
    if not overwrite and records().get(TABLE, PARTITION, name) is not None:
        return get_datastore(name)
    record = {
        **_builtin(),
        **{k: v for k, v in spec.items() if k not in _SECRETS},
        "name": name,
        "container_name": container,
    }
    records().put(TABLE, PARTITION, name, record)
    return record


def default_name() -> str:
    settings = records().get(*_SETTINGS) or {}
    return str(settings.get("default_datastore") or DEFAULT_NAME)


def set_default_datastore(name: str) -> None:
    get_datastore(name)
    records().put(*_SETTINGS, {"default_datastore": name})


def container(name: Optional[str]) -> Any:
    """The ContainerClient behind a datastore (created if missing)."""
    return blob_container(get_datastore(name)["container_name"])


def list_files(name: Optional[str], prefix: str = "") -> Iterator[str]:
    for blob in container(name).list_blobs(name_starts_with=prefix.lstrip("/")):
        yield str(blob.name)


def upload(name: Optional[str], path: str, data: bytes, overwrite: bool) -> dict[str, Any]:
    """Write one file to a datastore; an existing file is kept unless ``overwrite``."""
    from azure.core.exceptions import ResourceExistsError

    if not path or path.endswith("/") or ".." in path.split("/"):
        raise ValidationError(f"invalid datastore path {path!r}: give a file path like 'folder/file.csv'")
    try:
        container(name).upload_blob(path, data, overwrite=overwrite)
    except ResourceExistsError:
        return {"datastore": get_datastore(name)["name"], "path": path, "size": None, "skipped": True}
    return {"datastore": get_datastore(name)["name"], "path": path, "size": len(data), "skipped": False}


def download(name: Optional[str], path: str) -> bytes:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return bytes(container(name).download_blob(path).readall())
    except ResourceNotFoundError as exc:
        raise FileNotFoundInDatastoreError(
            f"no file '{path}' in datastore '{get_datastore(name)['name']}'; list "
            "the datastore's files to see what is there"
        ) from exc
