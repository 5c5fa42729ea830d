"""Identity-based storage for tests: Azurite over HTTPS with OAuth, and a managed identity endpoint on loopback.

* :func:`self_signed_cert`: a certificate + key for 127.0.0.1 (the ``cryptography`` package), which Azurite
  serves HTTPS with and which clients trust through ``REQUESTS_CA_BUNDLE``.
* :func:`start_oauth_azurite`: Azurite with ``--oauth basic`` over HTTPS: it accepts a bearer token whose
  audience is Storage's and whose issuer is an Entra ID one, checks its time window, and does not check its
  signature (Azurite's documented "basic" OAuth: no way to check Entra ID's signing keys offline).
* :class:`IdentityEndpoint`: the managed identity endpoint App Service, Functions and Container Apps give an app
  (``IDENTITY_ENDPOINT`` + ``IDENTITY_HEADER``; protocol ``api-version=2019-08-01``), so azure-identity's real
  ``ManagedIdentityCredential`` is what asks for tokens. It issues unsigned JWTs for Storage, only to a caller
  that sends the header secret and asks for a client id it knows, and counts what it issued.

The account key never reaches the code under test: the settings it gets are the identity-based
``AzureWebJobsStorage__*`` ones the Bicep sets (:func:`identity_settings`).
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import secrets
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from funchost.azurite import AzuriteHandle, start_azurite

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
STORAGE_AUDIENCE = "https://storage.azure.com"


def self_signed_cert(
    directory: Path, names: tuple[str, ...] = ("127.0.0.1", "localhost"), stem: str = ""
) -> tuple[Path, Path]:
    """``(<stem>cert.pem, <stem>key.pem)``: a self-signed certificate for ``names`` (IP addresses or DNS names, the
    first one its common name), valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    def alternative(name: str) -> x509.GeneralName:
        try:
            return x509.IPAddress(ipaddress.ip_address(name))
        except ValueError:
            return x509.DNSName(name)

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([alternative(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{stem}cert.pem", directory / f"{stem}key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def start_oauth_azurite(directory: Path) -> tuple[AzuriteHandle, Path]:
    """Azurite over HTTPS with basic OAuth, its data under ``directory``; returns it and the CA (cert) file."""
    cert, key = self_signed_cert(directory / "tls")
    handle = start_azurite(
        directory / "azurite", extra_args=["--oauth", "basic", "--cert", str(cert), "--key", str(key)]
    )
    return handle, cert


def identity_settings(azurite: AzuriteHandle, client_id: str) -> dict[str, str]:
    """The identity-based ``AzureWebJobsStorage__*`` settings for ``azurite`` (as infra/modules/functionapp.bicep
    sets them), the account ``devstoreaccount1`` path-style."""
    return {
        "AzureWebJobsStorage__blobServiceUri": f"https://127.0.0.1:{azurite.blob_port}/devstoreaccount1",
        "AzureWebJobsStorage__queueServiceUri": f"https://127.0.0.1:{azurite.queue_port}/devstoreaccount1",
        "AzureWebJobsStorage__tableServiceUri": f"https://127.0.0.1:{azurite.table_port}/devstoreaccount1",
        "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": client_id,
        "AZURE_CLIENT_ID": client_id,
    }


def jwt_for(audience: str, client_id: str, lifetime: int = 3600) -> str:
    """An unsigned (``alg: none``) Entra ID-shaped access token: what Azurite's basic OAuth looks at."""
    now = int(time.time())
    claims = {
        "aud": audience,
        "iss": f"https://sts.windows.net/{TENANT}/",
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + lifetime,
        "appid": client_id,
        "oid": client_id,
        "tid": TENANT,
        "sub": client_id,
        "ver": "1.0",
    }

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'typ': 'JWT', 'alg': 'none'})}.{part(claims)}.{part({'sig': secrets.token_hex(8)})}"


class IdentityEndpoint:
    """A managed identity endpoint on 127.0.0.1 for one client id (see the module docstring).

    ``env``: the ``IDENTITY_ENDPOINT`` / ``IDENTITY_HEADER`` a process needs to ask it; ``issued``: tokens
    issued per resource; ``refused``: requests refused (wrong header, unknown client id)."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self.header = secrets.token_hex(16)
        self.issued: Counter[str] = Counter()
        self.refused = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                query = parse_qs(urlparse(self.path).query)
                resource = (query.get("resource") or [""])[0]
                asked = (query.get("client_id") or [""])[0]
                if self.headers.get("X-IDENTITY-HEADER") != endpoint.header or asked != endpoint.client_id:
                    endpoint.refused += 1
                    self._answer(400, {"error": "invalid_request", "error_description": "unknown identity"})
                    return
                endpoint.issued[resource] += 1
                token = jwt_for(resource.rstrip("/") if resource.endswith("/") else resource, asked)
                self._answer(
                    200,
                    {
                        "access_token": token,
                        "expires_on": str(int(time.time()) + 3600),
                        "resource": resource,
                        "token_type": "Bearer",
                        "client_id": asked,
                    },
                )

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> IdentityEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def env(self) -> dict[str, str]:
        return {
            "IDENTITY_ENDPOINT": f"http://127.0.0.1:{self._server.server_address[1]}/msi/token",
            "IDENTITY_HEADER": self.header,
        }
