"""Datastores: named blob containers. ``workspaceblobstore`` (the default) always exists and lives in the
service's own storage account; others are registered containers of that account or of any other account.

A datastore on another account (``account_name`` not the service's) is reached at the endpoint
:mod:`durableml.storage_accounts` resolves (locally: the same Azurite, path-style; in Azure: the real
``https://<account>.blob.<endpoint>``) with the credential it was registered with: account key, SAS token,
service principal (``tenant_id``/``client_id``/``client_secret``), the service's identity, or none (an
anonymous public container, read-only). The record says which (``credential_type``); the credential itself is
sealed in :mod:`durableml.service.secrets`, never in the record. Locally, Azurite cannot check Entra ID tokens:
a service principal or identity datastore on an Azurite account is reached with that account's key
(``funchost.azurite.account_key``), as if the identity had been granted access.
"""

from __future__ import annotations

import threading
from typing import Any, Iterator, Mapping, Optional

from durableml._names import (
    check_account_name,
    check_blob_name,
    check_blob_prefix,
    check_container_name,
    check_datastore_name,
    check_lookup_name,
)
from durableml.exceptions import DatastoreNotFoundError, NotFoundError, NotSupportedError, ValidationError
from durableml.service import secrets
from durableml.service.records import blob_container, records, storage_connection
from durableml import sql_sources
from durableml.storage_accounts import CredentialKind, account_url, blob_service, connection, local_blob_base


class FileNotFoundInDatastoreError(NotFoundError):
    """A path that holds no file in an existing datastore."""

    code = "DatastoreFileNotFound"


TABLE, PARTITION = "dmlDatastores", "datastore"
DEFAULT_NAME = "workspaceblobstore"
FILE_STORE = "workspacefilestore"  # Azure Files in v1; a container of the service account here
_SETTINGS = ("dmlWorkspace", "workspace", "settings")
_SECRETS = ("account_key", "sas_token", "client_secret", "password")  # never stored with the record
_ACCESS = ("tenant_id", "client_id", "authority_url")  # with a client secret: sealed too (they form the credential)
_SECRET_KIND = "datastore"
_BLOB_KINDS = ("AzureBlob", "AzureDataLakeGen2", "AzureFile")
# name -> whether the datastore is on another account, as get_datastore last saw it (saves a read per binding)
_OTHER_ACCOUNT: dict[str, bool] = {}
_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


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
    """A datastore record by name (``None`` = the workspace default); 400 for a name no datastore can have."""
    wanted = check_lookup_name(name, "datastore") if name else default_name()
    if wanted in (DEFAULT_NAME, FILE_STORE):
        return _builtin(wanted)
    found = records().get(TABLE, PARTITION, wanted)
    if found is None:
        raise DatastoreNotFoundError(
            f"no datastore named '{wanted}' in this workspace; register it with "
            "Datastore.register_azure_blob_container(...) or use 'workspaceblobstore'"
        )
    if found.get("type") not in _ELSEWHERE:  # those are checked at each use (binding_connection refuses them)
        _OTHER_ACCOUNT[wanted] = _other_account(found)
    return found


def _other_account(record: Mapping[str, Any]) -> bool:
    if record.get("type") in sql_sources.KINDS or record.get("type") in _ELSEWHERE:
        return False
    return bool(record.get("credential_type")) and record.get("account_name") != _account_name()


def list_datastores() -> list[dict[str, Any]]:
    return [_builtin(), _builtin(FILE_STORE), *records().query(TABLE, PARTITION)]


def register_datastore(spec: Mapping[str, Any], overwrite: bool = False) -> dict[str, Any]:
    """Register (or with ``overwrite`` replace) the datastore ``spec`` describes; its name follows v1's rules
    (letters, digits, '_'), a container's name Azure's (:mod:`durableml._names`)."""
    name = str(spec.get("name") or "")
    if name:
        check_datastore_name(name)
    if str(spec.get("type") or "") in sql_sources.KINDS:
        return _register_sql(name, spec, overwrite)
    if str(spec.get("type") or "") in _ELSEWHERE:
        return _register_elsewhere(name, spec, overwrite)
    # an ADLS Gen2 file system is a container of the account to the blob API (multi-protocol access)
    container = str(spec.get("container_name") or spec.get("filesystem") or spec.get("file_share_name") or "")
    if not name or not container:
        raise ValidationError(
            "a datastore needs 'name' and 'container_name' (a blob container, or for ADLS Gen2 the 'filesystem')"
        )
    if name in (DEFAULT_NAME, FILE_STORE):
        raise ValidationError(f"'{name}' is a built-in datastore; choose another name")
    check_container_name(container, "container name" if "container_name" in spec else "file system / share name")
    if not overwrite and records().get(TABLE, PARTITION, name) is not None:
        return get_datastore(name)
    account = spec.get("account_name")
    if account:
        check_account_name(account)
    if account and account != _account_name():
        return _register_other_account(name, container, str(account), spec)
    record = {
        **_builtin(),
        **{k: v for k, v in spec.items() if k not in _SECRETS},
        "name": name,
        "container_name": container,
    }
    records().put(TABLE, PARTITION, name, record)
    secrets.delete(_SECRET_KIND, name)  # it may have been on another account before
    _OTHER_ACCOUNT[name] = False
    return record


_SQL_SECRETS = ("user_password", "password", "client_secret", "tenant_id", "client_id")
_SQL_REQUIRED = {
    "AzurePostgreSql": ("PostreSQL", ("user_id", "user_password", "server_name", "database_name")),  # v1's spelling
    "AzureMySql": ("My SQL", ("user_id", "user_password", "server_name", "database_name")),
}
_SQL_WORDS = {"user_id": "User id", "user_password": "User password", "server_name": "Server name",
              "database_name": "Database name"}  # fmt: skip


def check_sql_spec(kind: str, spec: Mapping[str, Any]) -> None:
    """v1's checks of a SQL datastore's arguments, with v1's messages (ValidationError, a UserErrorException)."""
    if kind in _SQL_REQUIRED:
        product, required = _SQL_REQUIRED[kind]
        for key in required:
            if spec.get(key) is None or spec.get(key) == "":
                raise ValidationError(f"{_SQL_WORDS[key]} is required for {product}.")
        return
    for key in ("server_name", "database_name"):
        if not spec.get(key):
            raise ValidationError(f"{_SQL_WORDS[key]} is required for Azure SQL Database.")
    sql_user = spec.get("username") or spec.get("password")
    principal = [k for k in ("tenant_id", "client_id", "client_secret") if spec.get(k)]
    if sql_user and principal:
        raise ValidationError(
            "Either SQL authentication (username and password) or service principal authentication "
            "(tenant_id, client_id and client_secret) can be used for Azure SQL Database, not both."
        )
    if sql_user and not (spec.get("username") and spec.get("password")):
        raise ValidationError("Both username and password are required for SQL authentication to Azure SQL Database.")
    if principal and len(principal) < 3:
        missing = [k for k in ("tenant_id", "client_id", "client_secret") if k not in principal]
        raise ValidationError(
            f"tenant_id, client_id and client_secret are required for service principal authentication to Azure "
            f"SQL Database; {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing."
        )


def _register_sql(name: str, spec: Mapping[str, Any], overwrite: bool) -> dict[str, Any]:
    """An Azure SQL / PostgreSQL / MySQL datastore: its record without the password or client secret (sealed
    in :mod:`durableml.service.secrets`)."""
    kind = str(spec["type"])
    if not name:
        raise ValidationError("a datastore needs a 'name'")
    check_sql_spec(kind, spec)
    if not overwrite and records().get(TABLE, PARTITION, name) is not None:
        return get_datastore(name)
    given = {k: str(spec[k]) for k in _SQL_SECRETS if spec.get(k)}
    kept = ("server_name", "database_name", "port_number", "endpoint", "user_id", "username", "resource_url",
            "authority_url", "enforce_ssl", "subscription_id", "resource_group", "grant_workspace_access")  # fmt: skip
    record: dict[str, Any] = {k: spec[k] for k in kept if spec.get(k) is not None}
    engine = sql_sources.KINDS[kind]
    record.update(
        name=name,
        type=kind,
        container_name="",
        account_name="",
        protocol=engine,
        endpoint=str(spec.get("endpoint") or sql_sources.ENDPOINTS[engine]),
        credential_type="ServicePrincipal" if spec.get("client_secret") else ("SqlAuthentication" if given else "None"),
    )
    if kind == "AzurePostgreSql":
        record["enforce_ssl"] = bool(spec.get("enforce_ssl", True))
    if not spec.get("skip_validation"):  # v1 connects to the database unless skip_validation=True
        sql_sources.check_connection(sql_sources.connection_text(record, given))
    secrets.save(_SECRET_KIND, name, given)
    records().put(TABLE, PARTITION, name, record)
    _OTHER_ACCOUNT[name] = False
    return record


# Datastores whose data durableml cannot read itself: their records are kept (v1 code registers and gets them,
# and the step kinds that use them read their settings), but staging or reading their files is refused.
_ELSEWHERE = {
    "DBFS": "the Databricks file system (DBFS) of a Databricks workspace: only a DatabricksStep on that workspace "
    "reads or writes it (v1 too); durableml reads no DBFS paths itself",
    "AzureDataLake": "Azure Data Lake Storage Gen1, which Microsoft retired on 2024-02-29: no Gen1 endpoint "
    "exists any more, and there is no local equivalent. Move the data to ADLS Gen2 or a blob container and "
    "register it with Datastore.register_azure_data_lake_gen2 / register_azure_blob_container",
}
_ADLS_RESOURCE = "https://datalake.azure.net/"
_AUTHORITY = "https://login.microsoftonline.com"


def check_elsewhere_spec(kind: str, spec: Mapping[str, Any]) -> None:
    """v1's checks of register_azure_data_lake (Gen1), with v1's messages; register_dbfs takes only a name."""
    if kind != "AzureDataLake":
        return
    if not spec.get("store_name"):
        raise ValidationError("store_name is required for an Azure Data Lake (Gen1) datastore: the ADLS store name.")
    principal = [k for k in ("tenant_id", "client_id", "client_secret") if spec.get(k)]
    if principal and len(principal) < 3:
        raise ValidationError("Tenant id, client id and client secret have to be defined together.")
    if spec.get("grant_workspace_access"):
        for key, what in (("subscription_id", "subscription ID"), ("resource_group", "resource group")):
            if not spec.get(key):
                raise ValidationError(
                    f"Storage Account's {what} is needed in order to grant the Workspace Managed Identity access "
                    "to the Storage Account."
                )


def _register_elsewhere(name: str, spec: Mapping[str, Any], overwrite: bool) -> dict[str, Any]:
    """A DBFS or ADLS Gen1 datastore: its record (a Gen1 service principal's tenant, client and secret sealed)."""
    kind = str(spec["type"])
    if not name:
        raise ValidationError("a datastore needs a 'name'")
    if name in (DEFAULT_NAME, FILE_STORE):
        raise ValidationError(f"'{name}' is a built-in datastore; choose another name")
    check_elsewhere_spec(kind, spec)
    if not overwrite and kind != "DBFS" and records().get(TABLE, PARTITION, name) is not None:
        return get_datastore(name)  # v1's register_dbfs always overwrites
    record: dict[str, Any] = {"name": name, "type": kind, "container_name": "", "account_name": ""}
    given: dict[str, str] = {}
    if kind == "AzureDataLake":
        given = {k: str(spec[k]) for k in ("tenant_id", "client_id", "client_secret") if spec.get(k)}
        record.update(
            store_name=str(spec["store_name"]),
            resource_url=str(spec.get("resource_url") or _ADLS_RESOURCE),
            authority_url=str(spec.get("authority_url") or _AUTHORITY),
            credential_type=CredentialKind.SERVICE_PRINCIPAL if given else CredentialKind.NONE,
            service_data_access_auth_identity="WorkspaceSystemAssignedIdentity"
            if spec.get("grant_workspace_access")
            else "None",
        )
        record.update({k: str(spec[k]) for k in ("subscription_id", "resource_group") if spec.get(k)})
    secrets.save(_SECRET_KIND, name, given)
    records().put(TABLE, PARTITION, name, record)
    _OTHER_ACCOUNT.pop(name, None)
    return record


def _refuse_elsewhere(record: Mapping[str, Any], what: str) -> None:
    kind = str(record.get("type") or "")
    if kind in _ELSEWHERE:
        raise NotSupportedError(f"{what} datastore '{record['name']}' ({kind})", f"It is {_ELSEWHERE[kind]}.")


def sql_connection(name: str) -> str:
    """The connection text of SQL datastore ``name`` (with its password: for a job's input binding only)."""
    record = get_datastore(name)
    if record.get("type") not in sql_sources.KINDS:
        raise ValidationError(
            f"datastore '{record['name']}' is a {record.get('type')} datastore, not a SQL database; a "
            "SqlDataReference or Dataset.Tabular.from_sql_query needs one registered with "
            "register_azure_sql_database, register_azure_postgre_sql or register_azure_my_sql"
        )
    return sql_sources.connection_text(record, secrets.load(_SECRET_KIND, record["name"]))


def _register_other_account(name: str, container: str, account: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """A datastore on storage account ``account``: its credential sealed, its record without it; checked (the
    container exists, or is created with ``create_if_not_exists``; the credential can list it) unless
    ``skip_validation``."""
    kind = str(spec.get("type") or "AzureBlob")
    if kind not in _BLOB_KINDS:
        raise NotSupportedError(f"a {kind} datastore on storage account '{account}'")
    service_conn = storage_connection()
    local = local_blob_base(service_conn) is not None
    if kind == "AzureFile" and not local:
        raise NotSupportedError(
            f"Azure file share '{container}' of storage account '{account}' (datastore '{name}')",
            "Blob containers and ADLS Gen2 file systems of other accounts are supported; copy the share's "
            "files into a container, or register them there.",
        )
    url = account_url(account, service_conn, spec.get("protocol"), spec.get("endpoint"))
    given = {k: spec[k] for k in (*_SECRETS, *_ACCESS) if spec.get(k)}
    credential = _credential_kind(name, given, spec)
    record = {
        **{k: v for k, v in spec.items() if k not in _SECRETS and k not in ("tenant_id", "client_id")},
        "name": name,
        "type": kind,
        "container_name": container,
        "account_name": account,
        "protocol": spec.get("protocol") or url.split("://", 1)[0],
        "endpoint": spec.get("endpoint") or "core.windows.net",
        "credential_type": credential,
    }
    if kind == "AzureDataLakeGen2":
        record["filesystem"] = container
    if kind == "AzureFile":
        record["file_share_name"] = container
    if not spec.get("skip_validation"):
        if credential == CredentialKind.NONE and not _anonymous_reads(url, container):
            credential = record["credential_type"] = CredentialKind.IDENTITY  # no credential: v1's identity access
        _check_access(record, _connection(record, given, service_conn), bool(spec.get("create_if_not_exists")))
    secrets.save(_SECRET_KIND, name, given if credential not in (CredentialKind.NONE, CredentialKind.IDENTITY) else {})
    records().put(TABLE, PARTITION, name, record)
    _OTHER_ACCOUNT[name] = True
    return record


def _credential_kind(name: str, given: Mapping[str, Any], spec: Mapping[str, Any]) -> str:
    if given.get("account_key"):
        return CredentialKind.ACCOUNT_KEY
    if given.get("sas_token"):
        return CredentialKind.SAS
    if given.get("client_secret") or given.get("client_id"):
        missing = [k for k in ("tenant_id", "client_id", "client_secret") if not given.get(k)]
        if missing:
            raise ValidationError(
                f"datastore '{name}': a service principal needs tenant_id, client_id and client_secret; "
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing"
            )
        return CredentialKind.SERVICE_PRINCIPAL
    if spec.get("grant_workspace_access"):
        return CredentialKind.IDENTITY
    return CredentialKind.NONE


def _anonymous_reads(url: str, container: str) -> bool:
    """Whether the container's blobs can be listed with no credential (public access "container")."""
    from azure.core.exceptions import HttpResponseError

    try:
        next(iter(blob_service(connection(url, "", CredentialKind.NONE, {})).get_container_client(container)
                  .list_blobs(results_per_page=1).by_page()), None)  # fmt: skip
    except HttpResponseError:
        return False
    return True


def _check_access(record: Mapping[str, Any], conn: str, create: bool) -> None:
    from azure.core.exceptions import HttpResponseError, ResourceExistsError, ServiceRequestError

    name, account, container = record["name"], record["account_name"], record["container_name"]
    client = _client(conn).get_container_client(container)
    try:
        next(iter(client.list_blobs(results_per_page=1).by_page()), None)
        return
    except ServiceRequestError as exc:
        raise ValidationError(
            f"datastore '{name}': storage account '{account}' cannot be reached at {client.primary_endpoint} ({exc})"
        ) from None
    except HttpResponseError as exc:
        code = str(getattr(exc, "error_code", "") or "")
        if exc.status_code == 404 and code == "ContainerNotFound" and create:
            try:
                client.create_container()
            except ResourceExistsError:
                pass
            return
        raise ValidationError(_access_problem(name, account, container, exc.status_code, code)) from None


def _access_problem(name: str, account: str, container: str, status: Optional[int], code: str) -> str:
    local = local_blob_base(storage_connection()) is not None
    if status == 404 and code == "ContainerNotFound":
        return (
            f"datastore '{name}': container '{container}' does not exist in storage account '{account}'; "
            "create it, or register with create_if_not_exists=True"
        )
    if status == 404 and local:
        return (
            f"datastore '{name}': the local storage emulator (Azurite) does not serve an account '{account}'; "
            f"start durableml with it (durableml up --account {account}, or the AzuriteAccounts setting in "
            "local.settings.json)"
        )
    if status in (401, 403):
        return (
            f"datastore '{name}': storage account '{account}' refused the credential for container '{container}' "
            f"(HTTP {status} {code}); check the account key, SAS token (its permissions and expiry) or the "
            "identity's role on the account"
        )
    return f"datastore '{name}': storage account '{account}' answered HTTP {status} {code} for container '{container}'"


def _connection(record: Mapping[str, Any], given: Mapping[str, Any], service_conn: str) -> str:
    """The connection text for a datastore on another account (see durableml.storage_accounts)."""
    account = str(record["account_name"])
    url = account_url(account, service_conn, record.get("protocol"), record.get("endpoint"))
    kind = str(record.get("credential_type") or CredentialKind.NONE)
    if kind in (CredentialKind.SERVICE_PRINCIPAL, CredentialKind.IDENTITY) and local_blob_base(service_conn):
        from funchost.azurite import account_key  # Azurite checks no Entra ID token: its account key stands in

        return connection(url, account, CredentialKind.ACCOUNT_KEY, {"account_key": account_key(account)})
    return connection(url, account, kind, given)


def binding_connection(name: str, write: bool = False) -> Optional[str]:
    """The connection a job needs for datastore ``name`` (None: the service's own account, the job's default).

    ``write``: the job writes there; a datastore registered without a credential (anonymous) refuses."""
    if _OTHER_ACCOUNT.get(name) is False:
        return None
    record = get_datastore(name)
    _refuse_elsewhere(record, "Writing to" if write else "Reading from")
    if not _other_account(record):
        return None
    if write and record.get("credential_type") == CredentialKind.NONE:
        raise ValidationError(_read_only(record))
    return _connection(record, secrets.load(_SECRET_KIND, name), storage_connection())


def add_connections(
    inputs: Mapping[str, dict[str, Any]], outputs: Mapping[str, dict[str, Any]], resolved: Mapping[str, Any]
) -> None:
    """Give each of a job's input and output bindings on a datastore of another account its
    ``connection_string`` (``resolved``: the step's resolved inputs and outputs, naming each one's datastore)."""
    for name, binding in inputs.items():
        if binding.get("sql"):  # a SQL source: the connection text of its database
            binding["connection_string"] = sql_connection(resolved["inputs"][name]["datastore"])
            continue
        conn = binding_connection(resolved["inputs"][name]["datastore"])
        if conn:
            binding["connection_string"] = conn
    for name, binding in outputs.items():
        conn = binding_connection(resolved["outputs"][name]["datastore"], write=True)
        if conn:
            binding["connection_string"] = conn


def _read_only(record: Mapping[str, Any]) -> str:
    return (
        f"datastore '{record['name']}' is read-only: it was registered without a credential and reads the public "
        f"container '{record['container_name']}' of storage account '{record['account_name']}' anonymously; "
        "register it with account_key= or sas_token= to write to it"
    )


def _client(conn: str) -> Any:
    with _clients_lock:
        client = _clients.get(conn)
        if client is None:
            client = _clients[conn] = blob_service(conn)
        return client


def default_name() -> str:
    settings = records().get(*_SETTINGS) or {}
    return str(settings.get("default_datastore") or DEFAULT_NAME)


def unregister_datastore(name: str) -> None:
    """Remove the datastore ``name`` (v1's ``Datastore.unregister``: the storage itself is left as it is) and the
    credentials kept for it. The built-in datastores and the workspace default cannot be removed."""
    record = get_datastore(check_lookup_name(name, "datastore"))
    if name in (DEFAULT_NAME, FILE_STORE):
        raise ValidationError(f"'{name}' is a built-in datastore; it cannot be unregistered")
    if name == default_name():
        raise ValidationError(
            f"'{name}' is the workspace's default datastore; make another one the default (set_as_default) "
            "before unregistering it"
        )
    secrets.delete(_SECRET_KIND, str(record["name"]))
    records().delete(TABLE, PARTITION, name)
    _OTHER_ACCOUNT.pop(name, None)


def set_default_datastore(name: str) -> None:
    get_datastore(name)
    records().put(*_SETTINGS, {"default_datastore": name})


def container(name: Optional[str]) -> Any:
    """The ContainerClient behind a datastore (created if missing, on the service's own account)."""
    record = get_datastore(name)
    _refuse_elsewhere(record, "Reading or writing files of")
    if not _other_account(record):
        return blob_container(record["container_name"])
    conn = _connection(record, secrets.load(_SECRET_KIND, record["name"]), storage_connection())
    return _client(conn).get_container_client(record["container_name"])


def _storage_problem(name: Optional[str], exc: Any) -> Exception:
    """A clear error for a refused or failed request to a datastore's account."""
    record = get_datastore(name)
    code = str(getattr(exc, "error_code", "") or "")
    status = getattr(exc, "status_code", None)
    if status in (401, 403) and record.get("credential_type") == CredentialKind.NONE:
        return ValidationError(
            f"datastore '{record['name']}' reads container '{record['container_name']}' of storage account "
            f"'{record['account_name']}' anonymously, and the account refused (HTTP {status}): the container is "
            "not public (any more); register the datastore with a credential"
        )
    return ValidationError(
        _access_problem(record["name"], record["account_name"], record["container_name"], status, code)
    )


def list_files(name: Optional[str], prefix: str = "") -> Iterator[str]:
    from azure.core.exceptions import HttpResponseError

    check_blob_prefix(prefix, "datastore path")
    try:
        for blob in container(name).list_blobs(name_starts_with=prefix.lstrip("/")):
            yield str(blob.name)
    except HttpResponseError as exc:
        if not _OTHER_ACCOUNT.get(get_datastore(name)["name"]):
            raise
        raise _storage_problem(name, exc) from None


def upload(name: Optional[str], path: str, data: bytes, overwrite: bool) -> dict[str, Any]:
    """Write one file to a datastore; an existing file is kept unless ``overwrite``."""
    from azure.core.exceptions import ResourceExistsError

    check_blob_name(path, "datastore file path")
    record = get_datastore(name)
    if _other_account(record) and record.get("credential_type") == CredentialKind.NONE:
        raise ValidationError(_read_only(record))
    try:
        container(name).upload_blob(path, data, overwrite=overwrite)
    except ResourceExistsError:
        return {"datastore": get_datastore(name)["name"], "path": path, "size": None, "skipped": True}
    return {"datastore": get_datastore(name)["name"], "path": path, "size": len(data), "skipped": False}


def download(name: Optional[str], path: str) -> bytes:
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    check_blob_name(path, "datastore file path")
    try:
        return bytes(container(name).download_blob(path).readall())
    except ResourceNotFoundError as exc:
        other = _other_account(get_datastore(name))
        if not other or str(getattr(exc, "error_code", "") or "") in ("", "BlobNotFound"):
            raise FileNotFoundInDatastoreError(
                f"no file '{path}' in datastore '{get_datastore(name)['name']}'; list "
                "the datastore's files to see what is there"
            ) from exc
        raise _storage_problem(name, exc) from None
    except HttpResponseError as exc:
        if not _other_account(get_datastore(name)):
            raise
        raise _storage_problem(name, exc) from None
