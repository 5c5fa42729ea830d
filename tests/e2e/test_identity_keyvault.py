"""Secrets in Key Vault with identity-based storage (issue 15): durableml under funchost with only the
identity-based ``AzureWebJobsStorage__*`` settings and ``DURABLEML_KEY_VAULT_URI``, on Azurite over HTTPS with
``--oauth basic`` (plus a second account, ``otheracct``), tokens from the loopback managed identity endpoint, and
the loopback Key Vault of :mod:`tests.keyvault_fake` (reached through its HTTPS proxy tunnel, as
``https://dmltest.vault.azure.net``; it checks every request against azure-keyvault-secrets' own models and every
token's audience and lifetime).

v1 code registers datastores with an account key, a SAS token and a SQL password, attaches Databricks with a
token, and runs a step on the first two. Each credential is one vault secret named by
:func:`durableml.service.secrets.vault_secret_name`; the service's ``dmlSecrets`` table holds only that name; no
value is in a record, a log or a file at rest except the step's own job spec (as with sealed secrets,
tests/e2e/test_other_accounts.py). Unregistering a datastore (v1's ``Datastore.unregister``), retargeting one to
the service's own account, and detaching the compute delete the vault secret; a vault that refuses the app's
identity (403) gives an error naming the vault and the role.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from durableml.compat import enable
from durableml.launcher import LocalDurableml, write_config
from durableml.service.secrets import TABLE, vault_secret_name
from funchost.azurite import account_key, start_azurite
from tests.identity_storage import STORAGE_AUDIENCE, IdentityEndpoint, identity_settings, jwt_for, self_signed_cert
from tests.keyvault_fake import VAULT_AUDIENCE, KeyVaultFake

enable()

from azureml.core import ComputeTarget, Datastore, Experiment, Workspace  # noqa: E402
from azureml.core.compute import DatabricksCompute  # noqa: E402
from azureml.exceptions import UserErrorException  # noqa: E402
from azureml.pipeline.core import Pipeline, PipelineData  # noqa: E402
from azureml.pipeline.steps import PythonScriptStep  # noqa: E402

from ._helpers import ensure_compute, step_summary  # noqa: E402

PROJECT = Path(__file__).resolve().parent / "projects" / "other_accounts"
CLIENT_ID = "3c9a8f1e-6b2d-4e7f-9a0c-1d2e3f4a5b6c"
OTHER = "otheracct"
FILES = {"data/a.csv": "x,y\n1,2\n", "data/sub/b.csv": "x,y\n3,4\n"}
SQL_PASSWORD = "sql-" + os.urandom(12).hex()
DBX_TOKEN = "dapi" + os.urandom(16).hex()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("identity-keyvault")
    cert, key = self_signed_cert(work / "tls")
    azurite = start_azurite(
        work / "azurite", accounts=(OTHER,), extra_args=["--oauth", "basic", "--cert", str(cert), "--key", str(key)]
    )
    try:
        _upload(azurite, cert)
        with IdentityEndpoint(CLIENT_ID) as endpoint, KeyVaultFake(work / "vault", app_id=CLIENT_ID) as vault:
            settings = {
                **identity_settings(azurite, CLIENT_ID),
                **endpoint.env,
                **vault.env(cert),
                "DURABLEML_KEY_VAULT_URI": vault.uri,
            }
            saved = os.environ.pop("AzureWebJobsStorage", None)
            launched = LocalDurableml(work / "svc", env=settings, ready_timeout=60, accounts=(OTHER,))
            try:
                launched.start()
                write_config(work / "project", launched.base_url, launched.function_key, "durableml-keyvault")
                ws = Workspace.from_config(path=str(work / "project" / "config.json"))
                yield {"launched": launched, "endpoint": endpoint, "vault": vault, "azurite": azurite, "ca": cert,
                       "ws": ws, "work": work}  # fmt: skip
            finally:
                launched.stop()
                if saved is not None:
                    os.environ["AzureWebJobsStorage"] = saved
    finally:
        azurite.stop()


def _upload(azurite: Any, ca: Path) -> None:
    from azure.storage.blob import BlobServiceClient

    other = BlobServiceClient.from_connection_string(
        _https(azurite.account_connection_string(OTHER)), connection_verify=str(ca)
    )
    client = other.create_container("training")
    for name, text in FILES.items():
        client.upload_blob(name, text.encode())


def _sas() -> str:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    return generate_container_sas(
        OTHER,
        "training",
        account_key=account_key(OTHER),
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=2),
    )


def _https(connection: str) -> str:
    """An Azurite connection string for its HTTPS endpoints (it serves HTTPS only here)."""
    return connection.replace("=http://", "=https://").replace(
        "DefaultEndpointsProtocol=http;", "DefaultEndpointsProtocol=https;"
    )


def _tables(env: dict[str, Any]) -> Any:
    """The service's tables, read by the test with a bearer token for Storage (as the service reads them)."""
    from azure.core.credentials import AccessToken
    from azure.data.tables import TableServiceClient

    class Token:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            return AccessToken(jwt_for(STORAGE_AUDIENCE, CLIENT_ID), int(time.time()) + 3000)

    url = f"https://127.0.0.1:{env['azurite'].table_port}/devstoreaccount1"
    return TableServiceClient(url, credential=Token(), connection_verify=str(env["ca"]))


def _rows(env: dict[str, Any]) -> list[dict[str, Any]]:
    """Every entity of every table of the service's account."""
    tables = _tables(env)
    return [dict(e) for t in tables.list_tables() for e in tables.get_table_client(t.name).list_entities()]


def _secret_rows(env: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    tables = _tables(env)
    if TABLE not in {t.name for t in tables.list_tables()}:
        return {}
    return {(e["PartitionKey"], e["RowKey"]): dict(e) for e in tables.get_table_client(TABLE).list_entities()}


def _vault_value(vault: KeyVaultFake, name: str) -> dict[str, Any]:
    (latest,) = vault.secrets[name][-1:]
    assert latest["contentType"] == "application/json"
    return dict(json.loads(latest["value"]))


def test_credentials_live_in_the_vault_and_a_step_uses_them(env: dict[str, Any], tmp_path: Path) -> None:
    ws, vault, svc = env["ws"], env["vault"], env["launched"]
    sas = _sas()
    keyed = Datastore.register_azure_blob_container(ws, "keyed", "training", account_name=OTHER,
                                                    account_key=account_key(OTHER))  # fmt: skip
    by_sas = Datastore.register_azure_blob_container(ws, "bysas", "training", account_name=OTHER, sas_token=sas)
    Datastore.register_azure_sql_database(ws, "sales", "salesserver", "salesdb", username="reader",
                                          password=SQL_PASSWORD, skip_validation=True)  # fmt: skip
    config = DatabricksCompute.attach_configuration(
        resource_group="analytics", workspace_name="sales", access_token=DBX_TOKEN, workspace_url="https://127.0.0.1:9"
    )
    ComputeTarget.attach(ws, "dbx", config).wait_for_completion()

    # one vault secret per credential owner, named by vault_secret_name, holding the credential
    expected = {
        ("datastore", "keyed"): {"account_key": account_key(OTHER)},
        ("datastore", "bysas"): {"sas_token": sas},
        ("datastore", "sales"): {"password": SQL_PASSWORD},
        ("compute", "dbx"): {"access_token": DBX_TOKEN},
    }
    for (kind, name), secret in expected.items():
        held = _vault_value(vault, vault_secret_name(kind, name))
        assert {k: held.get(k) for k in secret} == secret, (kind, name, sorted(held))
    assert set(vault.secrets) == {vault_secret_name(kind, name) for kind, name in expected}
    assert all(len(versions) == 1 for versions in vault.secrets.values())
    # the table keeps only the name
    rows = _secret_rows(env)
    assert set(rows) == set(expected)
    for (kind, name), row in rows.items():
        assert set(row) == {"PartitionKey", "RowKey", "doc"}, row  # the records' form: one JSON document
        assert json.loads(row["doc"]) == {"vault_secret": vault_secret_name(kind, name)}, row

    # a step reads the other account through both datastores (the service loads the credentials from the vault)
    mounted, downloaded = keyed.path("data").as_mount(), by_sas.path("data").as_download()
    summary = PipelineData("summary", datastore=Datastore(ws))
    step = PythonScriptStep(
        script_name="read_both.py", name="read both", arguments=["--private", mounted, "--public", downloaded,
        "--out", summary], inputs=[mounted, downloaded], outputs=[summary], compute_target=ensure_compute(ws),
        source_directory=str(PROJECT), allow_reuse=False,
    )  # fmt: skip
    run: Any = Experiment(ws, "identity-keyvault").submit(Pipeline(ws, [step]))
    run.wait_for_completion(show_output=False, timeout_seconds=180)
    assert run.get_status() == "Finished", step_summary(run)
    step_run = run.find_step_run("read both")[0]
    target = tmp_path / "got"
    step_run.get_output_data("summary").download(str(target))
    (got,) = [p for p in target.rglob("summary.json")]
    inside = {k.removeprefix("data/"): v for k, v in FILES.items()}
    assert json.loads(got.read_text()) == {"private": inside, "public": inside}

    # every vault request went with a token for the vault's audience, and the vault refused nothing
    assert env["endpoint"].issued[VAULT_AUDIENCE] >= 1 and env["endpoint"].refused == 0
    assert not vault.refused, vault.refused
    assert any(status == 401 for _m, _p, status in vault.log)  # the challenge was asked for

    # no credential in a record, the host's log, the step's log or at rest, but the step's own job spec
    values = {"account key": account_key(OTHER), "sas signature": sas.split("sig=")[-1].split("&")[0],
              "sql password": SQL_PASSWORD, "databricks token": DBX_TOKEN}  # fmt: skip
    texts = {
        "records": json.dumps(_rows(env), default=str),
        "funchost output": svc.host.output(),
        "step log": step_run.get_job_log(),
        "environment": (got.parent / "environment.json").read_text(),
    }
    assert [(what, where) for what, v in values.items() for where, t in texts.items() if v in t] == []
    roots = (svc.state_dir, env["azurite"].data_dir)
    at_rest = {
        what: sorted(str(p) for root in roots for p in Path(root).rglob("*") if p.is_file() and v.encode() in
                     p.read_bytes())
        for what, v in values.items()
    }  # fmt: skip
    for what, paths in at_rest.items():
        allowed = what in ("account key", "sas signature")  # the step's job spec carries its bindings' credentials
        assert all(allowed and p.endswith(f"{step_run.id}/spec.json") for p in paths), (what, paths)


def test_unregistering_deletes_the_vault_secret(env: dict[str, Any]) -> None:
    ws, vault = env["ws"], env["vault"]
    gone = Datastore.register_azure_blob_container(
        ws, "gone", "training", account_name=OTHER, account_key=account_key(OTHER)
    )
    sql = Datastore.register_azure_sql_database(
        ws, "gonesql", "salesserver", "salesdb", username="reader", password=SQL_PASSWORD, skip_validation=True
    )
    names = {store.name: vault_secret_name("datastore", store.name) for store in (gone, sql)}
    assert set(names.values()) <= set(vault.secrets)
    for store in (gone, sql):
        store.unregister()  # v1: the datastore goes, its storage stays
        assert names[store.name] not in vault.secrets and names[store.name] in vault.deleted
        assert ("datastore", store.name) not in _secret_rows(env)
        with pytest.raises(UserErrorException, match=f"no datastore named '{store.name}'"):
            Datastore.get(ws, store.name)
    with pytest.raises(UserErrorException, match="built-in datastore; it cannot be unregistered"):
        Datastore(ws, "workspaceblobstore").unregister()
    default = Datastore.register_azure_blob_container(ws, "mydefault", "azureml", account_name="devstoreaccount1")
    default.set_as_default()
    try:
        with pytest.raises(UserErrorException, match="is the workspace's default datastore"):
            default.unregister()
    finally:
        Datastore(ws, "workspaceblobstore").set_as_default()
    default.unregister()
    sas = _sas()
    Datastore.register_azure_blob_container(ws, "gone", "training", account_name=OTHER, sas_token=sas)
    assert _vault_value(vault, names["gone"]) == {"sas_token": sas}  # the soft-deleted secret, recovered and set anew
    assert len(vault.secrets[names["gone"]]) == 2

    Datastore.register_azure_blob_container(ws, "moving", "training", account_name=OTHER,
                                            account_key=account_key(OTHER))  # fmt: skip
    moving = vault_secret_name("datastore", "moving")
    assert moving in vault.secrets
    # the name now points at a container of the service's own account: its credential goes
    Datastore.register_azure_blob_container(ws, "moving", "azureml", account_name="devstoreaccount1", overwrite=True)
    assert moving not in vault.secrets and moving in vault.deleted
    assert ("datastore", "moving") not in _secret_rows(env)
    # back on the other account: the soft-deleted secret is recovered and gets the new credential as a new version
    sas = _sas()
    store = Datastore.register_azure_blob_container(ws, "moving", "training", account_name=OTHER, sas_token=sas,
                                                    overwrite=True)  # fmt: skip
    assert moving in vault.secrets and moving not in vault.deleted
    assert _vault_value(vault, moving) == {"sas_token": sas} and len(vault.secrets[moving]) == 2
    assert store.account_name == OTHER

    config = DatabricksCompute.attach_configuration(
        resource_group="analytics", workspace_name="etl", access_token=DBX_TOKEN, workspace_url="https://127.0.0.1:9"
    )
    ComputeTarget.attach(ws, "dbx-detach", config).wait_for_completion()
    token = vault_secret_name("compute", "dbx-detach")
    assert _vault_value(vault, token) == {"access_token": DBX_TOKEN}
    ComputeTarget(ws, "dbx-detach").detach()
    assert token not in vault.secrets and token in vault.deleted
    assert ("compute", "dbx-detach") not in _secret_rows(env)
    assert not vault.refused, vault.refused


def test_a_vault_that_refuses_the_identity_names_the_vault_and_the_role(env: dict[str, Any], tmp_path: Path) -> None:
    ws, vault = env["ws"], env["vault"]
    keyed = Datastore.register_azure_blob_container(ws, "keyed2", "training", account_name=OTHER,
                                                    account_key=account_key(OTHER))  # fmt: skip
    vault.forbid = True
    try:
        pattern = rf"Key Vault {vault.uri}.*refused to set.*403.*Key Vault Secrets Officer"
        with pytest.raises(UserErrorException, match=pattern):
            Datastore.register_azure_blob_container(ws, "refused", "training", account_name=OTHER,
                                                    account_key=account_key(OTHER))  # fmt: skip
        with pytest.raises(UserErrorException, match=rf"Key Vault {vault.uri}.*refused to get.*Secrets Officer"):
            keyed.download(str(tmp_path / "nope"), prefix="data", show_progress=False)
    finally:
        vault.forbid = False
    with pytest.raises(UserErrorException):
        Datastore.get(ws, "refused")  # nothing was registered
    assert vault_secret_name("datastore", "refused") not in vault.secrets
