"""Identity-based storage settings as a connection text, and what holds no key (issue 15)."""

from __future__ import annotations

import pytest

from durableml.exceptions import ConfigurationError
from durableml.runner.context import script_base_environment
from durableml.service import secrets
from durableml.storage_accounts import identity_connection, is_identity, parse

BICEP = {
    "AzureWebJobsStorage__blobServiceUri": "https://stabc.blob.core.windows.net/",
    "AzureWebJobsStorage__queueServiceUri": "https://stabc.queue.core.windows.net/",
    "AzureWebJobsStorage__tableServiceUri": "https://stabc.table.core.windows.net/",
    "AzureWebJobsStorage__credential": "managedidentity",
    "AzureWebJobsStorage__clientId": "cid-1",
}


def test_the_bicep_settings_make_a_connection_text_without_a_secret() -> None:
    text = identity_connection(BICEP)
    assert text is not None and is_identity(text)
    parts = parse(text)
    assert parts["blobendpoint"] == "https://stabc.blob.core.windows.net"
    assert parts["tableendpoint"] == "https://stabc.table.core.windows.net"
    assert parts["accountname"] == "stabc" and parts["clientid"] == "cid-1"
    assert parts["credential"] == "managedidentity" and "accountkey" not in parts


def test_blob_uri_alone_and_emulator_urls() -> None:
    text = identity_connection({"AzureWebJobsStorage__blobServiceUri": "https://127.0.0.1:1234/devstoreaccount1"})
    parts = parse(str(text))
    assert parts["accountname"] == "devstoreaccount1" and parts["credential"] == "default"
    only_blob = parse(
        str(identity_connection({"AzureWebJobsStorage__blobServiceUri": "https://x.blob.core.windows.net"}))
    )
    assert only_blob["queueendpoint"] == "https://x.queue.core.windows.net"
    assert identity_connection({}) is None
    assert not is_identity("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k;")


def test_secrets_with_identity_storage_need_the_key_vault(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AzureWebJobsStorage", raising=False)
    monkeypatch.delenv("DURABLEML_STORAGE", raising=False)
    monkeypatch.delenv(secrets.VAULT_SETTING, raising=False)
    for key, value in BICEP.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigurationError, match="DURABLEML_KEY_VAULT_URI"):
        secrets._vault()


def test_vault_secret_names_follow_key_vault_rules() -> None:
    import re

    names = {secrets.vault_secret_name("datastore", n) for n in ("my_store", "my-store", "x" * 300, "ü")}
    assert len(names) == 4
    assert all(re.fullmatch(r"[0-9a-zA-Z-]{1,127}", n) for n in names), names


def test_a_step_never_sees_the_identity_endpoint() -> None:
    base = {"IDENTITY_ENDPOINT": "http://x", "IDENTITY_HEADER": "h", "MSI_ENDPOINT": "m", "MSI_SECRET": "s",
            "AZURE_CLIENT_ID": "cid", "PATH": "/bin"}  # fmt: skip
    env = script_base_environment(base)
    assert not {"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET"} & set(env)
    assert env["PATH"] == "/bin"
