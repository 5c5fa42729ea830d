"""Authentication of the published-pipeline routes and the v1 auth classes' headers.

* key mode (funchost's default): covered by the service fixture's host; here the auth classes' headers
  are used against it exactly as the seeds use them;
* entra mode: a second funchost with ``DURABLEML_AUTH=entra``. Azure's App Service authentication cannot
  run here, so the test sends what it forwards after validating a token (the ``X-MS-CLIENT-PRINCIPAL-ID``
  header, which App Service strips from client requests) and checks the app's side of the contract;
* the classes' Entra tokens come from azure-identity credentials: the test checks which credential each
  class builds and the header shape, with a stand-in for the token service (Entra itself is not here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from durableml.core.authentication import (
    AzureCliAuthentication,
    InteractiveLoginAuthentication,
    MsiAuthentication,
    ServicePrincipalAuthentication,
)
from durableml.exceptions import AuthenticationException
from durableml.pipeline.core import Pipeline, PipelineData

from .conftest import REPO_ROOT
from ._helpers import ensure_compute, step


@pytest.fixture(scope="module")
def published(service: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    ws = service.workspace()
    journal = tmp_path_factory.mktemp("auth") / "journal.txt"
    out = PipelineData("auth_out", datastore=ws.get_default_datastore())
    pipeline = Pipeline(workspace=ws, steps=[step("auth", journal, ensure_compute(ws), output=out)])
    return pipeline.publish(name="auth", description="", version="1")


@pytest.fixture(scope="module")
def entra_host(service: Any, funchost_process: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    state = tmp_path_factory.mktemp("entra")
    host = funchost_process(
        REPO_ROOT,
        env={
            "AzureWebJobsStorage": service.azurite.connection_string,
            "DURABLEML_STATE_DIR": str(state),
            "DURABLEML_AUTH": "entra",
            "DURABLEML_ALLOWED_PRINCIPALS": "caller-1,caller-2",
        },
        ready_timeout=60,
    )
    yield host
    host.stop()


def test_auth_class_headers_work_against_funchost(
    published: Any, service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(service.project)
    monkeypatch.delenv("DURABLEML_AUTH_SCOPE", raising=False)
    for login in (InteractiveLoginAuthentication(), AzureCliAuthentication(), MsiAuthentication()):
        headers = login.get_authentication_header()
        assert headers == {"x-functions-key": service.key}
        answer = requests.post(published.endpoint, headers=headers, json={"ExperimentName": "auth"}, timeout=30)
        assert answer.status_code == 200, answer.text


def test_entra_mode_needs_the_principal_app_service_forwards(published: Any, entra_host: Any, service: Any) -> None:
    url = entra_host.base_url + urlsplit(published.endpoint).path
    body = {"ExperimentName": "auth-entra"}
    no_token = requests.post(url, json=body, timeout=30)
    assert no_token.status_code == 401 and "Bearer" in no_token.json()["error"]["message"]
    key_only = requests.post(url, json=body, headers={"x-functions-key": entra_host.function_key}, timeout=30)
    assert key_only.status_code == 401  # in entra mode the run routes take tokens, not keys
    other = requests.post(url, json=body, headers={"X-MS-CLIENT-PRINCIPAL-ID": "stranger"}, timeout=30)
    assert other.status_code == 403 and "stranger" in other.json()["error"]["message"]
    accepted = requests.post(url, json=body, headers={"X-MS-CLIENT-PRINCIPAL-ID": "caller-1"}, timeout=30)
    assert accepted.status_code == 200, accepted.text
    assert service.api("GET", f"/api/runs/{accepted.json()['Id']}").json()["experimentName"] == "auth-entra"
    management = entra_host.base_url + "/api/published-pipelines"
    assert requests.get(management, headers={"X-MS-CLIENT-PRINCIPAL-ID": "caller-1"}, timeout=30).status_code == 401
    assert requests.get(management, headers={"x-functions-key": entra_host.function_key}, timeout=30).status_code == 200


class _TokenService:
    """Stands in for Entra's token endpoint: records the scopes asked for, answers a fixed token."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token(self, scope: str) -> Any:
        self.scopes.append(scope)
        return type("AccessToken", (), {"token": "token-123"})()


@pytest.mark.parametrize(
    ("login", "credential"),
    [
        (lambda: InteractiveLoginAuthentication(tenant_id="t"), "InteractiveBrowserCredential"),
        (AzureCliAuthentication, "AzureCliCredential"),
        (lambda: ServicePrincipalAuthentication("t", "app-id", "s3cret"), "ClientSecretCredential"),
        (lambda: MsiAuthentication(identity_config={"client_id": "c"}), "ManagedIdentityCredential"),
    ],
)
def test_entra_headers_come_from_the_matching_azure_identity_credential(
    login: Any, credential: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = login()
    assert type(auth._credential()).__name__ == credential  # built offline; no token is requested here
    tokens = _TokenService()
    monkeypatch.setattr(type(auth), "_credential", lambda self: tokens)
    monkeypatch.setenv("DURABLEML_AUTH_SCOPE", "api://durableml-app/.default")
    assert auth.get_authentication_header() == {"Authorization": "Bearer token-123"}
    assert tokens.scopes == ["api://durableml-app/.default"]
    assert "s3cret" not in repr(auth)


def test_entra_failure_is_an_authentication_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class Refusing:
        def get_token(self, scope: str) -> Any:
            raise RuntimeError("AADSTS700016: application not found")

    monkeypatch.setattr(AzureCliAuthentication, "_credential", lambda self: Refusing())
    monkeypatch.setenv("DURABLEML_AUTH_SCOPE", "api://missing/.default")
    with pytest.raises(AuthenticationException, match="api://missing/.default"):
        AzureCliAuthentication().get_authentication_header()
