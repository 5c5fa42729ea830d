"""Other storage accounts (issue 12, item 1): where an account is, the credential forms, and that datastore
credentials are kept sealed and out of records (the service against the session's real Azurite)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from durableml.exceptions import ValidationError
from durableml.storage_accounts import CredentialKind, account_url, blob_service, connection, local_blob_base, parse
from funchost.azurite import (
    ACCOUNT_KEY,
    ACCOUNT_NAME,
    AzuriteHandle,
    account_key,
    account_names,
    azurite_accounts_env,
    connection_string,
)
from funchost.errors import ConfigError

AZURE = "DefaultEndpointsProtocol=https;AccountName=svc;AccountKey=a2V5;EndpointSuffix=core.windows.net"


def test_a_local_service_finds_every_account_in_its_azurite_path_style() -> None:
    local = connection_string(41000, 41001, 41002)
    assert local_blob_base(local) == "http://127.0.0.1:41000"
    assert account_url("otheracct", local) == "http://127.0.0.1:41000/otheracct"
    assert account_url("otheracct", local, protocol="https", endpoint="core.chinacloudapi.cn").endswith(
        "41000/otheracct"
    )  # the v1 endpoint arguments name Azure clouds, which a local service does not reach
    assert account_url("x1y", "UseDevelopmentStorage=true") == "http://127.0.0.1:10000/x1y"


def test_an_azure_service_reaches_the_real_endpoints() -> None:
    assert local_blob_base(AZURE) is None
    assert account_url("data", AZURE) == "https://data.blob.core.windows.net"
    assert account_url("data", AZURE, endpoint="core.chinacloudapi.cn") == "https://data.blob.core.chinacloudapi.cn"
    assert account_url("data", AZURE.replace("core.windows.net", "core.usgovcloudapi.net")) == (
        "https://data.blob.core.usgovcloudapi.net"
    )
    assert account_url("data", "BlobEndpoint=https://svc.blob.core.windows.net;SharedAccessSignature=sv=1") == (
        "https://data.blob.core.windows.net"
    )


def test_each_credential_form_builds_its_client() -> None:
    url = "https://data.blob.core.windows.net"
    keyed = connection(url, "data", CredentialKind.ACCOUNT_KEY, {"account_key": "a2V5"})
    assert parse(keyed)["accountkey"] == "a2V5" and blob_service(keyed).account_name == "data"
    sas = blob_service(connection(url, "data", CredentialKind.SAS, {"sas_token": "?sv=2024&sig=abc%3D"}))
    assert "sig=abc" in sas.url  # the SAS travels in the query string
    assert blob_service(connection(url, "data", CredentialKind.NONE, {})).credential is None
    principal = blob_service(
        connection(
            url,
            "data",
            CredentialKind.SERVICE_PRINCIPAL,
            {"tenant_id": str(uuid.uuid4()), "client_id": "c", "client_secret": "s"},
        )
    )
    assert type(principal.credential).__name__ == "ClientSecretCredential"
    identity = blob_service(connection(url, "data", CredentialKind.IDENTITY, {}))
    assert type(identity.credential).__name__ == "DefaultAzureCredential"


def test_azurite_accounts_keep_the_default_one_and_carry_no_keys_in_settings() -> None:
    assert account_key(ACCOUNT_NAME) == ACCOUNT_KEY
    assert account_key("otheracct") == account_key("otheracct") != account_key("other2")
    assert account_names("a1b, publicdata;a1b") == ["a1b", "publicdata"]
    env = azurite_accounts_env(["publicdata"])
    assert env.startswith(f"{ACCOUNT_NAME}:{ACCOUNT_KEY};publicdata:")
    with pytest.raises(ConfigError, match="account names only"):
        account_names("acct:c2VjcmV0")
    with pytest.raises(ConfigError, match="3-24 lowercase"):
        account_names(["Bad_Name"])


@pytest.fixture
def other_key() -> str:
    return "k" + uuid.uuid4().hex + "=="


def _register(spec: dict[str, Any]) -> dict[str, Any]:
    from durableml.service import datastores

    return datastores.register_datastore({"skip_validation": True, **spec}, overwrite=True)


def test_credentials_are_sealed_apart_from_the_record(
    service_storage: None, azurite: AzuriteHandle, other_key: str
) -> None:
    from durableml.service import datastores, secrets
    from durableml.service.records import records

    name = f"acct{uuid.uuid4().hex[:8]}"
    record = _register({"name": name, "container_name": "data", "account_name": "otheracct", "account_key": other_key})
    assert record["credential_type"] == CredentialKind.ACCOUNT_KEY and other_key not in str(record)
    assert other_key not in str(records().get(datastores.TABLE, datastores.PARTITION, name))
    assert other_key not in str(records().get(secrets.TABLE, "datastore", name))  # sealed
    assert secrets.load("datastore", name) == {"account_key": other_key}
    conn = datastores.binding_connection(name)
    assert conn is not None and f"AccountKey={other_key}" in conn
    assert f"BlobEndpoint=http://127.0.0.1:{azurite.blob_port}/otheracct" in conn
    assert datastores.binding_connection(datastores.DEFAULT_NAME) is None  # the service's own account: the job's

    # nothing in Azurite's files holds the key in plain text
    holders = [p for p in Path(azurite.data_dir).rglob("*") if p.is_file() and other_key.encode() in p.read_bytes()]
    assert holders == []

    # registered again on the service's own account: the sealed credential goes
    _register({"name": name, "container_name": "data"})
    assert secrets.load("datastore", name) == {}


def test_anonymous_datastores_are_read_only_and_principals_use_the_emulator_key(service_storage: None) -> None:
    from durableml.service import datastores

    name = f"pub{uuid.uuid4().hex[:8]}"
    _register({"name": name, "container_name": "open", "account_name": "publicdata"})
    binding: dict[str, Any] = {"container": "open", "path_on_datastore": "x"}
    assert "Anonymous=true" in str(datastores.binding_connection(name))
    with pytest.raises(ValidationError, match="read-only"):
        datastores.add_connections({}, {"out": binding}, {"outputs": {"out": {"datastore": name}}})
    with pytest.raises(ValidationError, match="read-only"):
        datastores.upload(name, "a.txt", b"x", overwrite=True)

    principal = f"sp{uuid.uuid4().hex[:8]}"
    _register(
        {
            "name": principal,
            "type": "AzureDataLakeGen2",
            "filesystem": "lake",
            "account_name": "otheracct",
            "tenant_id": "t",
            "client_id": "c",
            "client_secret": "s3cret",
        }
    )
    conn = str(datastores.binding_connection(principal))
    assert f"AccountKey={account_key('otheracct')}" in conn and "s3cret" not in conn  # Azurite checks no Entra token
    with pytest.raises(ValidationError, match="tenant_id, client_secret are missing"):
        _register({"name": "halfsp", "container_name": "c1x", "account_name": "otheracct", "client_id": "c"})
    with pytest.raises(ValidationError, match="Server name is required for Azure SQL Database"):  # a SQL datastore
        _register({"name": "sqlish", "type": "AzureSqlDatabase", "container_name": "x", "account_name": "otheracct"})


def test_durableml_up_takes_accounts_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from durableml import cli

    args = cli.parser().parse_args(["up", "--account", "partnerdata", "--account", "publicdata"])
    assert args.account == ["partnerdata", "publicdata"]
    assert cli.main(["up", "--account", "Bad_Name", "--config", str(tmp_path), "--state-dir", str(tmp_path)]) == 1
    assert "'Bad_Name' is not a valid storage account name" in capsys.readouterr().err


def test_clients_of_a_local_emulator_ignore_proxy_settings_and_others_keep_them(
    azurite: AzuriteHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from durableml.service.records import Records
    from durableml.storage_accounts import loopback_options

    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there: a request sent to it fails
    records = Records(azurite.connection_string)
    records.put("dmlProxyCheck", "p", "r", {"ok": True})
    assert records.get("dmlProxyCheck", "p", "r") == {"ok": True}
    blob = blob_service(azurite.connection_string)
    assert blob._pipeline._transport.session.trust_env is False
    assert loopback_options(azurite.connection_string.replace("http://", "https://"), "blob") == {}
    azure = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net"
    assert loopback_options(azure, "table") == {} and loopback_options(azure, "blob") == {}
