"""The loopback Key Vault (:mod:`tests.keyvault_fake`) against azure-keyvault-secrets' real ``SecretClient``, with
tokens from the loopback managed identity endpoint: the challenge flow, set / get / delete / recover / purge, and
what it refuses (bodies the SDK's models do not describe, bad names, tokens for another audience, expired ones)."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.identity_storage import IdentityEndpoint, jwt_for
from tests.keyvault_fake import VAULT_AUDIENCE, KeyVaultFake, model_problems

CLIENT_ID = "5d1c7a0e-2b7f-4f7e-8a3c-9f0e1d2c3b4a"


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[KeyVaultFake, IdentityEndpoint]]:
    with IdentityEndpoint(CLIENT_ID) as endpoint, KeyVaultFake(tmp_path, app_id=CLIENT_ID) as fake:
        for key, value in {**fake.env(), **endpoint.env}.items():
            monkeypatch.setenv(key, value)
        yield fake, endpoint


def _client(fake: KeyVaultFake) -> Any:
    from azure.identity import ManagedIdentityCredential
    from azure.keyvault.secrets import SecretClient

    return SecretClient(fake.uri, credential=ManagedIdentityCredential(client_id=CLIENT_ID))


def _raw(fake: KeyVaultFake, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    """One request through the proxy tunnel, as a client would send it."""
    context = ssl.create_default_context(cafile=str(fake.cert))
    conn = http.client.HTTPSConnection("127.0.0.1", int(fake.proxy.rsplit(":", 1)[1]), context=context, timeout=10)
    conn.set_tunnel(fake.host, 443)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, (json.loads(data) if data else None) | ({"_headers": dict(response.getheaders())})


def test_the_sdk_sets_gets_deletes_and_recovers(vault: tuple[KeyVaultFake, IdentityEndpoint]) -> None:
    fake, endpoint = vault
    with _client(fake) as client:
        _round_trip(fake, client)
    # the challenge came first (an unauthenticated request), then tokens for the vault's audience only
    assert fake.log[0][2] == 401
    assert endpoint.issued == {VAULT_AUDIENCE: 1}, endpoint.issued
    assert not fake.refused, fake.refused  # the SDK never sent what the vault refuses


def _round_trip(fake: KeyVaultFake, client: Any) -> None:
    client.set_secret("dml-datastore-a-1", '{"k": "v1"}', content_type="application/json")
    client.set_secret("dml-datastore-a-1", '{"k": "v2"}', content_type="application/json")
    got = client.get_secret("dml-datastore-a-1")
    assert got.value == '{"k": "v2"}' and got.properties.content_type == "application/json"
    assert len(fake.secrets["dml-datastore-a-1"]) == 2
    first = fake.secrets["dml-datastore-a-1"][0]["version"]
    assert client.get_secret("dml-datastore-a-1", first).value == '{"k": "v1"}'

    client.begin_delete_secret("dml-datastore-a-1").wait()
    assert "dml-datastore-a-1" not in fake.secrets and "dml-datastore-a-1" in fake.deleted
    from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

    with pytest.raises(ResourceNotFoundError):
        client.get_secret("dml-datastore-a-1")
    with pytest.raises(ResourceExistsError, match="deleted but recoverable"):
        client.set_secret("dml-datastore-a-1", "again")
    client.begin_recover_deleted_secret("dml-datastore-a-1").wait()
    assert client.get_secret("dml-datastore-a-1").value == '{"k": "v2"}'
    client.begin_delete_secret("dml-datastore-a-1").wait()
    client.purge_deleted_secret("dml-datastore-a-1")
    assert not fake.deleted and not fake.secrets


def test_a_deletion_takes_a_while(vault: tuple[KeyVaultFake, IdentityEndpoint]) -> None:
    from azure.core.exceptions import ResourceExistsError

    fake, _ = vault
    with _client(fake) as client:
        client.set_secret("slow", "v")
        poller = client.begin_delete_secret("slow")
        with pytest.raises(ResourceExistsError, match="currently being deleted"):
            client.set_secret("slow", "again")  # what a client that does not wait for the deletion meets
        poller.wait()
        assert poller.done() and "slow" in fake.deleted
        with pytest.raises(ResourceExistsError, match="deleted but recoverable"):
            client.set_secret("slow", "again")


def test_what_the_vault_refuses(vault: tuple[KeyVaultFake, IdentityEndpoint]) -> None:
    fake, _ = vault
    token = jwt_for(VAULT_AUDIENCE, CLIENT_ID)
    version = "api-version=2026-04-01"
    status, body = _raw(fake, "PUT", f"/secrets/ok?{version}", {"value": "x"})
    assert status == 401 and 'resource="https://vault.azure.net"' in body["_headers"]["WWW-Authenticate"]
    assert _raw(fake, "PUT", f"/secrets/ok?{version}", {"value": "x"}, token)[0] == 200
    for bad_body, problem in [
        ({"value": "x", "secret": "y"}, "unknown property 'secret'"),
        ({"value": 5}, "'value' must be a string"),
        ({"contentType": "text/plain"}, "'value' is required"),
        ({"value": "x", "attributes": {"enabled": "yes"}}, "'attributes.enabled' must be a boolean"),
        ({"value": "x", "attributes": {"created": 5}}, "'attributes.created' is read-only"),
        ({"value": "x", "tags": {"a": 1}}, "'tags.a' must be a string"),
    ]:
        status, body = _raw(fake, "PUT", f"/secrets/ok?{version}", bad_body, token)
        assert status == 400 and body["error"]["code"] == "BadParameter", body
        assert problem in body["error"]["message"], body
    for name in ("under_score", "x" * 128, "dot.ted"):
        status, body = _raw(fake, "PUT", f"/secrets/{name}?{version}", {"value": "x"}, token)
        assert status == 400 and "invalid name" in body["error"]["message"], (name, body)
    assert _raw(fake, "PUT", f"/secrets/{'x' * 127}?{version}", {"value": "x"}, token)[0] == 200
    assert _raw(fake, "GET", "/secrets/ok?api-version=1.0", None, token)[0] == 400
    for wrong in (jwt_for("https://storage.azure.com", CLIENT_ID), jwt_for(VAULT_AUDIENCE, CLIENT_ID, lifetime=-120),
                  jwt_for(VAULT_AUDIENCE, "someone-else"), "not-a-jwt"):  # fmt: skip
        status, body = _raw(fake, "GET", f"/secrets/ok?{version}", None, wrong)
        assert status == 401 and body["error"]["code"] == "Unauthorized", body
    fake.forbid = True
    status, body = _raw(fake, "GET", f"/secrets/ok?{version}", None, token)
    assert status == 403 and body["error"]["innererror"]["code"] == "ForbiddenByRbac"
    assert fake.values() == ["x", "x"]


def test_the_models_are_the_sdks() -> None:
    from azure.keyvault.secrets._generated import models

    assert model_problems(models.SecretSetParameters, {"value": "v", "contentType": "a", "tags": {"t": "u"}}) == []
    assert model_problems(models.SecretUpdateParameters, {"attributes": {"enabled": False, "exp": 5}}) == []
    assert model_problems(models.SecretUpdateParameters, {"value": "v"}) == [
        "unknown property 'value' for SecretUpdateParameters"
    ]


def test_other_hosts_are_not_tunneled(vault: tuple[KeyVaultFake, IdentityEndpoint]) -> None:
    fake, _ = vault
    conn = http.client.HTTPConnection("127.0.0.1", int(fake.proxy.rsplit(":", 1)[1]), timeout=10)
    conn.set_tunnel("login.microsoftonline.com", 443)
    with pytest.raises(OSError, match="403"):
        conn.connect()
    conn.close()
    assert fake.refused["CONNECT login.microsoftonline.com:443"] == 1
