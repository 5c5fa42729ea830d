"""A Key Vault (secrets) on loopback for the tests: the REST API azure-keyvault-secrets' ``SecretClient`` speaks,
checked against the SDK's own generated models, behind Key Vault's challenge-based authentication.

Key Vault cannot run offline, and its client refuses a vault whose host is not under the domain of the challenge's
resource (``https://vault.azure.net``: ``verify_challenge_resource``), so the vault is reached the way a client
behind a proxy reaches the real one: its URI is ``https://<name>.vault.azure.net``, and the process that talks to it
gets ``HTTPS_PROXY`` = this server (with ``NO_PROXY`` = loopback, so Azurite and the identity endpoint are reached
directly). The server answers ``CONNECT <name>.vault.azure.net:443`` only (any other host is refused and counted in
``refused``: nothing leaves the machine), then speaks TLS itself with a certificate for ``*.vault.azure.net`` that
the client trusts through ``REQUESTS_CA_BUNDLE`` (:meth:`KeyVaultFake.ca_bundle` appends it to another CA file).

What it checks, answering as Key Vault does (``{"error": {"code", "message", "innererror"}}``):

* authentication: a request without ``Authorization`` gets 401 with ``WWW-Authenticate: Bearer
  authorization="https://login.microsoftonline.com/<tenant>", resource="https://vault.azure.net"``; a bearer token
  must be a JWT whose audience is ``https://vault.azure.net``, within its time window, from the tenant and (when
  given) for the app id expected. Refused tokens are 401 too, and counted.
* ``api-version``: one of the versions the SDK knows (:class:`azure.keyvault.secrets.ApiVersion`).
* secret names: 1-127 characters of ``0-9a-zA-Z-``; versions: 32 hex digits.
* request bodies: JSON that the SDK's generated model (``SecretSetParameters``, ``SecretUpdateParameters``) has a
  field for, each of the field's type (nested models too), required fields present, no read-only field; the
  answers are built through the SDK's response models (``SecretBundle``, ``DeletedSecretBundle``).

Operations: set (``PUT /secrets/{name}``), get (``GET /secrets/{name}[/{version}]``), update (``PATCH``), delete
(``DELETE /secrets/{name}``: soft delete, recoverable), get / purge / recover a deleted secret
(``/deletedsecrets/{name}``); a soft-deleted name cannot be set again (409 ``ObjectIsDeletedButRecoverable``), as
in a vault with soft delete (the default). As in Key Vault, a deletion takes a while (``deletion_seconds``, 1 s):
until then the deleted secret is not found, and setting, recovering or purging it answers 409
``ObjectIsBeingDeleted``. ``forbid`` makes every authenticated request answer 403 as a vault whose
RBAC does not grant the caller does. ``log`` records every request (method, path, status), never a value.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import threading
import time
import typing
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, urlparse

from tests.identity_storage import TENANT
from tests.tls_tunnel import LoopbackServer, TunnelHandler, server_tls

VAULT_AUDIENCE = "https://vault.azure.net"
VAULT_SUFFIX = "vault.azure.net"
_SECRET_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
_VERSION = re.compile(r"^[0-9a-f]{32}$")
_ROUTE = re.compile(r"^/(secrets|deletedsecrets)/([^/]*)(?:/([^/]*))?/?$")
_ACTIONS = {
    ("PUT", "secrets"): "setSecret/action",
    ("GET", "secrets"): "getSecret/action",
    ("PATCH", "secrets"): "setSecret/action",
    ("DELETE", "secrets"): "delete",
    ("GET", "deletedsecrets"): "readDeletedSecret/action",
    ("DELETE", "deletedsecrets"): "purge/action",
    ("POST", "deletedsecrets"): "recover/action",
}


class KeyVaultError(Exception):
    """An answer other than 2xx, in Key Vault's error shape."""

    def __init__(self, status: int, code: str, message: str, inner: str = "", headers: Optional[dict[str, str]] = None):
        super().__init__(message)
        self.status, self.code, self.message, self.inner = status, code, message, inner
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.inner:
            error["innererror"] = {"code": self.inner}
        return {"error": error}


def vault_cert(directory: Path, host: str) -> tuple[Path, Path]:
    """``(cert.pem, key.pem)``: a self-signed certificate for ``host`` and ``*.vault.azure.net``, valid a day."""
    from tests.identity_storage import self_signed_cert

    return self_signed_cert(directory, (host, f"*.{VAULT_SUFFIX}"), stem="vault-")


# ---- request bodies against the SDK's generated models


def _model_fields(model: type) -> dict[str, tuple[Any, Any]]:
    """The model's fields by their JSON name: ``{rest name: (type hint, rest field)}``."""
    typing.cast(Any, model).__new__(model)  # the SDK computes ``_attr_to_rest_field`` when a model is first created
    from azure.keyvault.secrets._generated import models

    hints = typing.get_type_hints(model, localns={"_models": models})  # the module imports them for type checking
    fields: dict[str, Any] = model._attr_to_rest_field  # type: ignore[attr-defined]
    return {rf._rest_name: (hints[attr], rf) for attr, rf in fields.items()}


def _is_model(hint: Any) -> bool:
    return isinstance(hint, type) and bool(getattr(hint, "_is_model", False))


def _type_problems(hint: Any, value: Any, fmt: Optional[str], where: str) -> list[str]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union:
        if value is None and type(None) in args:
            return []
        options = [a for a in args if a is not type(None)]
        found = [_type_problems(a, value, fmt, where) for a in options]
        return [] if any(not f for f in found) else found[0]
    if value is None:
        return [f"'{where}' must not be null"]
    if _is_model(hint):
        return model_problems(hint, value, where + ".")
    if origin is dict:
        if not isinstance(value, dict):
            return [f"'{where}' must be an object"]
        return [p for k, v in value.items() for p in _type_problems(args[1], v, None, f"{where}.{k}")]
    if origin is list:
        if not isinstance(value, list):
            return [f"'{where}' must be an array"]
        return [p for i, v in enumerate(value) for p in _type_problems(args[0], v, None, f"{where}[{i}]")]
    if hint is datetime.datetime:
        ok = (
            isinstance(value, int) and not isinstance(value, bool)
            if fmt == "unix-timestamp"
            else isinstance(value, str)
        )
        return [] if ok else [f"'{where}' must be a {fmt or 'date-time'}"]
    if hint is bool:
        return [] if isinstance(value, bool) else [f"'{where}' must be a boolean"]
    if hint is int:
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"'{where}' must be an integer"]
    if hint is str or (isinstance(hint, type) and issubclass(hint, str)):
        return [] if isinstance(value, str) else [f"'{where}' must be a string"]
    return [f"'{where}': the fake vault cannot check values of type {hint!r}"]


def model_problems(model: type, body: Any, where: str = "") -> list[str]:
    """What is wrong with ``body`` as a request body for the generated ``model`` ([] if nothing)."""
    if not isinstance(body, dict):
        return [f"'{where.rstrip('.') or 'body'}' must be a JSON object"]
    fields = _model_fields(model)
    problems = []
    for key, value in body.items():
        if key not in fields:
            problems.append(f"unknown property '{where}{key}' for {model.__name__}")
            continue
        hint, rf = fields[key]
        if list(rf._visibility or []) == ["read"]:
            problems.append(f"property '{where}{key}' is read-only")
            continue
        problems += _type_problems(hint, value, rf._format, where + key)
    for key, (hint, _rf) in fields.items():
        required = type(None) not in typing.get_args(hint)
        if required and key not in body:
            problems.append(f"property '{where}{key}' is required")
    return problems


def _jwt_claims(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    claims = json.loads(base64.urlsafe_b64decode(payload))
    if not isinstance(claims, dict):
        raise ValueError("claims are not an object")
    return claims


class KeyVaultFake:
    """The vault ``https://<name>.vault.azure.net`` on 127.0.0.1 (see the module docstring).

    ``uri``: the vault's URI; ``env``: what a client process needs to reach it (the proxy settings and
    ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE`` = :meth:`ca_bundle`); ``secrets``: name → versions (oldest first;
    each a dict with ``value``, ``contentType``, ``version``...); ``deleted``: soft-deleted secrets by name;
    ``log``: ``(method, path, status)`` of every request; ``refused``: why requests were refused, counted (bad
    requests, refused tokens and tunnels, the fake's own failures; not 403/404/409, which are answers);
    ``forbid``: answer every authenticated request with 403."""

    def __init__(self, directory: Path, name: str = "dmltest", app_id: Optional[str] = None) -> None:
        self.name = name
        self.host = f"{name}.{VAULT_SUFFIX}"
        self.uri = f"https://{self.host}/"
        self.app_id = app_id
        self.cert, key = vault_cert(directory, self.host)
        self.directory = directory
        self.secrets: dict[str, list[dict[str, Any]]] = {}
        self.deleted: dict[str, dict[str, Any]] = {}
        self.log: list[tuple[str, str, int]] = []
        self.refused: Counter[str] = Counter()
        self.forbid = False
        self.deletion_seconds = 1.0
        self._lock = threading.Lock()
        self._tls = server_tls(self.cert, key)
        self._server = LoopbackServer(self._handler())

    # ---- running
    def __enter__(self) -> KeyVaultFake:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    def ca_bundle(self, *others: Path) -> Path:
        """A CA file trusting this vault's certificate and the ``others`` (e.g. Azurite's)."""
        bundle = self.directory / "ca-bundle.pem"
        bundle.write_text("".join(Path(p).read_text() for p in (*others, self.cert)))
        return bundle

    def env(self, *other_cas: Path) -> dict[str, str]:
        bundle = str(self.ca_bundle(*other_cas))
        loopback = "127.0.0.1,localhost,::1"
        return {
            "HTTPS_PROXY": self.proxy,
            "https_proxy": self.proxy,
            "NO_PROXY": loopback,
            "no_proxy": loopback,
            "REQUESTS_CA_BUNDLE": bundle,
            "SSL_CERT_FILE": bundle,
        }

    def values(self) -> list[str]:
        """Every value ever set in the vault (all versions, deleted ones too)."""
        with self._lock:
            kept = [v["value"] for versions in self.secrets.values() for v in versions]
            return kept + [v["value"] for d in self.deleted.values() for v in d["versions"]]

    def _refuse(self, reason: str) -> None:
        with self._lock:
            self.refused[reason] += 1

    # ---- the HTTP side
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        vault = self

        class Handler(TunnelHandler):
            tls = vault._tls

            def allows(self, target: str) -> bool:
                return target == f"{vault.host}:443"

            def refused(self, reason: str) -> None:
                vault._refuse(reason)

            def do_GET(self) -> None:  # noqa: N802
                self._serve()

            def do_PUT(self) -> None:  # noqa: N802
                self._serve()

            def do_PATCH(self) -> None:  # noqa: N802
                self._serve()

            def do_DELETE(self) -> None:  # noqa: N802
                self._serve()

            def do_POST(self) -> None:  # noqa: N802
                self._serve()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlparse(self.path)
                try:
                    if not self.tunneled:
                        raise KeyVaultError(400, "BadRequest", "plain HTTP: Key Vault is HTTPS only")
                    if (self.headers.get("Host") or "").split(":")[0].lower() != vault.host:
                        raise KeyVaultError(400, "BadRequest", f"wrong Host header {self.headers.get('Host')!r}")
                    status, answer = vault._answer(self.command, url.path, parse_qs(url.query), self.headers, body)
                    data = json.dumps(answer).encode() if answer is not None else b""
                    headers = {"Content-Type": "application/json; charset=utf-8"} if data else {}
                except KeyVaultError as exc:
                    status, data = exc.status, json.dumps(exc.body()).encode()
                    headers = {"Content-Type": "application/json; charset=utf-8", **exc.headers}
                    if status in (400, 405, 415) or (status == 401 and self.headers.get("Authorization")):
                        vault._refuse(f"{status} {exc.code}: {exc.message.splitlines()[0]}")
                except Exception as exc:  # a bug of the fake: answered, and counted so that the test sees it
                    vault._refuse(f"500 {type(exc).__name__}: {exc}")
                    status, data = 500, json.dumps({"error": {"code": "InternalError", "message": str(exc)}}).encode()
                    headers = {"Content-Type": "application/json; charset=utf-8"}
                with vault._lock:
                    vault.log.append((self.command, url.path, status))
                self._send(status, data, headers)

            def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("x-ms-request-id", str(uuid.uuid4()))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    # ---- the vault
    def _authenticate(self, headers: Any) -> None:
        challenge = {
            "WWW-Authenticate": (
                f'Bearer authorization="https://login.microsoftonline.com/{TENANT}", resource="{VAULT_AUDIENCE}"'
            )
        }
        auth = headers.get("Authorization") or ""
        if not auth:
            raise KeyVaultError(
                401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", "", challenge
            )
        scheme, _, token = auth.partition(" ")
        try:
            if scheme.lower() != "bearer":
                raise ValueError(f"scheme {scheme!r}")
            claims = _jwt_claims(token.strip())
            now = time.time()
            if str(claims.get("aud", "")).rstrip("/") != VAULT_AUDIENCE:
                raise ValueError(f"audience {claims.get('aud')!r} is not {VAULT_AUDIENCE}")
            if not float(claims.get("nbf", 0)) - 300 <= now < float(claims.get("exp", 0)):
                raise ValueError("the token is expired or not yet valid")
            if claims.get("tid") != TENANT or TENANT not in str(claims.get("iss", "")):
                raise ValueError(f"tenant {claims.get('tid')!r}")
            if self.app_id and claims.get("appid") != self.app_id:
                raise ValueError(f"app id {claims.get('appid')!r}")
        except ValueError as exc:
            message = f"AKV10032: Invalid issuer or token: {exc}"
            raise KeyVaultError(401, "Unauthorized", message, "", challenge) from None

    def _answer(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes
    ) -> tuple[int, Optional[dict[str, Any]]]:
        from azure.keyvault.secrets import ApiVersion

        self._authenticate(headers)
        version = (query.get("api-version") or [""])[0]
        known = [v.value for v in ApiVersion]
        if version not in known:
            raise KeyVaultError(
                400, "BadParameter", f"The specified version ({version}) is not recognized. Consider using {known[0]}."
            )
        route = _ROUTE.match(path)
        if not route:
            raise KeyVaultError(404, "NotFound", f"no such operation: {method} {path}")
        collection, name, rest = route.group(1), route.group(2), route.group(3)
        action = _ACTIONS.get((method, collection))
        if action is None or (rest == "recover") != (method == "POST"):
            raise KeyVaultError(405, "MethodNotAllowed", f"{method} is not allowed on {path}")
        if self.forbid:
            raise KeyVaultError(
                403,
                "Forbidden",
                "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments "
                f"or role definitions were changed recently, please observe propagation time.\r\nCaller: "
                f"appid={self.app_id}\r\nAction: 'Microsoft.KeyVault/vaults/secrets/{action}'\r\nResource: "
                f"'/subscriptions/0/resourcegroups/rg/providers/microsoft.keyvault/vaults/{self.name}/secrets/{name}'",
                "ForbiddenByRbac",
            )
        if not _SECRET_NAME.match(name):
            raise KeyVaultError(400, "BadParameter", f"The request URI contains an invalid name: {name}")
        with self._lock:
            if collection == "secrets":
                return self._secrets(method, name, rest, headers, body)
            return self._deleted(method, name, rest)

    def _json(self, headers: Any, body: bytes, model_name: str) -> dict[str, Any]:
        from azure.keyvault.secrets._generated import models

        if not (headers.get("Content-Type") or "").startswith("application/json"):
            raise KeyVaultError(415, "BadParameter", "Content-Type must be application/json")
        try:
            parsed = json.loads(body)
        except ValueError:
            raise KeyVaultError(400, "BadParameter", "The request body is not JSON.") from None
        model = getattr(models, model_name)
        problems = model_problems(model, parsed)
        if problems:
            raise KeyVaultError(400, "BadParameter", "; ".join(problems))
        model(parsed)  # the SDK's model takes it
        return dict(parsed)

    def _bundle(self, name: str, entry: dict[str, Any], with_value: bool = True) -> dict[str, Any]:
        from azure.keyvault.secrets._generated import models

        answer: dict[str, Any] = {
            "id": f"https://{self.host}/secrets/{name}/{entry['version']}",
            "attributes": {**entry["attributes"], "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90},
        }
        if with_value:
            answer["value"] = entry["value"]
        for key in ("contentType", "tags"):
            if entry.get(key) is not None:
                answer[key] = entry[key]
        models.SecretBundle(answer)
        return answer

    def _secrets(
        self, method: str, name: str, version: Optional[str], headers: Any, body: bytes
    ) -> tuple[int, Optional[dict[str, Any]]]:
        if version is not None and version != "" and not _VERSION.match(version):
            raise KeyVaultError(400, "BadParameter", f"The request URI contains an invalid version: {version}")
        if method == "PUT":
            if version:
                raise KeyVaultError(405, "MethodNotAllowed", "a version cannot be set")
            given = self._json(headers, body, "SecretSetParameters")
            self._not_being_deleted(name)
            if name in self.deleted:
                raise KeyVaultError(
                    409,
                    "Conflict",
                    f"Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; "
                    "in this state, the secret can only be recovered or purged.",
                    "ObjectIsDeletedButRecoverable",
                )
            now = int(time.time())
            attributes = {"enabled": True, **(given.get("attributes") or {}), "created": now, "updated": now}
            entry = {
                "version": uuid.uuid4().hex,
                "value": given["value"],
                "contentType": given.get("contentType"),
                "tags": given.get("tags"),
                "attributes": attributes,
            }
            self.secrets.setdefault(name, []).append(entry)
            return 200, self._bundle(name, entry)
        versions = self.secrets.get(name) or []
        found = [v for v in versions if v["version"] == version] if version else versions[-1:]
        if not found:
            raise KeyVaultError(
                404,
                "SecretNotFound",
                f"A secret with (name/id) {name}{'/' + version if version else ''} was not found in this key vault. "
                "If you recently deleted this secret you may be able to recover it using the correct recovery "
                "command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182",
            )
        if method == "GET":
            return 200, self._bundle(name, found[0])
        if method == "PATCH":
            given = self._json(headers, body, "SecretUpdateParameters")
            entry = found[0]
            for key in ("contentType", "tags"):
                if key in given:
                    entry[key] = given[key]
            entry["attributes"] = {
                **entry["attributes"],
                **(given.get("attributes") or {}),
                "updated": int(time.time()),
            }
            return 200, self._bundle(name, entry, with_value=False)
        # DELETE: soft delete, the whole secret (every version)
        if version:
            raise KeyVaultError(405, "MethodNotAllowed", "a version cannot be deleted")
        del self.secrets[name]
        now = int(time.time())
        self.deleted[name] = {"versions": versions, "deletedDate": now, "scheduledPurgeDate": now + 90 * 86400}
        self.deleted[name]["ready"] = time.monotonic() + self.deletion_seconds
        return 200, self._deleted_bundle(name)

    def _not_being_deleted(self, name: str) -> None:
        gone = self.deleted.get(name)
        if gone and time.monotonic() < gone["ready"]:
            raise KeyVaultError(409, "Conflict", f"Secret {name} is currently being deleted.", "ObjectIsBeingDeleted")

    def _deleted_bundle(self, name: str) -> dict[str, Any]:
        from azure.keyvault.secrets._generated import models

        gone = self.deleted[name]
        answer = {
            **self._bundle(name, gone["versions"][-1], with_value=False),
            "recoveryId": f"https://{self.host}/deletedsecrets/{name}",
            "deletedDate": gone["deletedDate"],
            "scheduledPurgeDate": gone["scheduledPurgeDate"],
        }
        models.DeletedSecretBundle(answer)
        return answer

    def _deleted(self, method: str, name: str, rest: Optional[str]) -> tuple[int, Optional[dict[str, Any]]]:
        if name not in self.deleted or (method == "GET" and time.monotonic() < self.deleted[name]["ready"]):
            raise KeyVaultError(404, "SecretNotFound", f"Deleted Secret not found: {name}")
        self._not_being_deleted(name)
        if method == "GET" and not rest:
            return 200, self._deleted_bundle(name)
        if method == "DELETE" and not rest:
            del self.deleted[name]
            return 204, None
        if method == "POST" and rest == "recover":
            if name in self.secrets:
                raise KeyVaultError(409, "Conflict", f"Secret {name} exists")
            self.secrets[name] = self.deleted.pop(name)["versions"]
            return 200, self._bundle(name, self.secrets[name][-1])
        raise KeyVaultError(405, "MethodNotAllowed", f"{method} is not allowed here")


__all__ = ["VAULT_AUDIENCE", "KeyVaultError", "KeyVaultFake", "model_problems", "vault_cert"]
