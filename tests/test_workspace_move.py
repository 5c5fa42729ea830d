"""The parts of ``durableml export``/``import`` that need no service: secrets, datastore specs, start times."""

from __future__ import annotations

import pytest

from durableml.workspace_move import (
    MissingSecrets,
    _datastore_spec,
    _wall_clock,
    gather_secrets,
    import_workspace,
    secret_env_name,
)

EXPORTED = {
    "datastores": [
        {"name": "lake", "secrets": ["account_key"]},
        {"name": "my-sas.store", "secrets": ["sas_token"]},
        {"name": "public", "secrets": []},
    ]
}


def test_every_missing_secret_is_named_with_its_variable() -> None:
    with pytest.raises(MissingSecrets) as refused:
        gather_secrets(EXPORTED, environ={})
    assert "DURABLEML_IMPORT_LAKE_ACCOUNT_KEY" in str(refused.value)
    assert "DURABLEML_IMPORT_MY_SAS_STORE_SAS_TOKEN" in str(refused.value)
    assert secret_env_name("my-sas.store", "sas_token") == "DURABLEML_IMPORT_MY_SAS_STORE_SAS_TOKEN"


def test_secrets_come_from_the_environment_or_the_prompt() -> None:
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return "typed-sas"

    found = gather_secrets(EXPORTED, environ={"DURABLEML_IMPORT_LAKE_ACCOUNT_KEY": "k"}, ask=ask)
    assert found == {"lake": {"account_key": "k"}, "my-sas.store": {"sas_token": "typed-sas"}}
    assert asked == ["sas_token of datastore my-sas.store: "]  # the prompt names no value


def test_a_datastore_of_the_service_account_becomes_one_of_the_target_account() -> None:
    own = {"name": "landing", "type": "AzureBlob", "containerName": "c", "accountName": "devstoreaccount1",
           "protocol": "http", "endpoint": "core.windows.net", "ownAccount": True, "secrets": []}  # fmt: skip
    assert _datastore_spec(own, {}) == {"name": "landing", "type": "AzureBlob", "container_name": "c"}
    other = {**own, "ownAccount": False, "accountName": "lake", "credentialType": "AccountKey"}
    spec = _datastore_spec(other, {"account_key": "k"})
    assert spec["account_name"] == "lake" and spec["account_key"] == "k" and "credential_type" not in spec


def test_a_recurrence_without_start_time_keeps_its_anchor() -> None:
    assert _wall_clock("2026-03-01T10:15:30.123Z", None) == "2026-03-01T10:15:30"
    assert _wall_clock("2026-03-01T10:15:30Z", "Pacific Standard Time") == "2026-03-01T02:15:30"


def test_only_an_export_file_is_imported() -> None:
    with pytest.raises(Exception, match="durableml-export"):
        import_workspace(None, {"format": "other"}, {})  # type: ignore[arg-type]
