"""Who may use the studio (the web page under ``/api/studio``): sessions from one-time login codes, or Entra ID.

The studio's routes are ``anonymous`` at the Functions host (a browser has no function key to send), so the app
authorises every request itself, as ``durableml.service.access`` does for the published run routes:

* ``key`` mode (default; always under funchost): a caller holding a function key (``durableml studio``, which
  reads it from the state dir or config.json) asks ``POST /api/studio/login-codes`` (function auth level: the
  host checks the key) for a one-time login code, valid for :data:`CODE_TTL_S` seconds. The CLI opens the
  browser on ``/api/studio#login=<code>``: a URL fragment is never sent to the server, so the code is in no
  request line, access log or Referer. The page posts it to ``/api/studio/session``, which redeems it (once) for
  a session: a random token in an ``HttpOnly; SameSite=Strict`` cookie scoped to ``Path=/api/studio``, so no
  script and no other site can read it, and no other route of the app receives it. The function key never
  reaches the browser. Only a SHA-256 of each code and token is stored (table ``dmlStudioSessions``).
* ``entra`` mode (Azure): App Service authentication signs the user in with Entra ID and injects
  ``X-MS-CLIENT-PRINCIPAL-ID``; :func:`durableml.service.access.principal` checks it (and
  ``DURABLEML_ALLOWED_PRINCIPALS``). No cookie of ours is involved.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.cookies import CookieError, SimpleCookie
from typing import Any, Mapping, Optional

from durableml.exceptions import AuthenticationException
from durableml.service import access
from durableml.service.records import records

TABLE = "dmlStudioSessions"
COOKIE = "durableml_studio"
COOKIE_PATH = "/api/studio"
CODE_TTL_S = 120
SESSION_TTL_S = 12 * 3600
_CODE, _SESSION = "code", "session"


@dataclass(frozen=True)
class LoginCode:
    """A one-time login code (shown once to its creator; only its hash is stored) and when it expires."""

    code: str
    expires: datetime


@dataclass(frozen=True)
class Session:
    """A studio session: the cookie's token (only its hash is stored) and when it expires."""

    token: str
    expires: datetime


@dataclass(frozen=True)
class Caller:
    """Who a studio request comes from: ``via`` is ``session`` (key mode) or ``entra``; ``principal`` its id."""

    via: str
    principal: Optional[str]


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def purge_expired() -> int:
    """Forget expired login codes and sessions; returns how many (each new login code does it first)."""
    now, gone = _now(), 0
    for partition in (_CODE, _SESSION):
        for doc in records().query(TABLE, partition):
            if datetime.fromisoformat(doc["expires"]) < now:
                records().delete(TABLE, partition, doc["hash"])
                gone += 1
    return gone


def new_login_code() -> LoginCode:
    """A fresh one-time login code (its creator proved a function key: the route's auth level)."""
    purge_expired()
    code = secrets.token_urlsafe(32)
    expires = _now() + timedelta(seconds=CODE_TTL_S)
    records().put(TABLE, _CODE, _hash(code), {"hash": _hash(code), "expires": expires.isoformat(), "used": False})
    return LoginCode(code, expires)


def redeem(code: str) -> Session:
    """Exchange a login code for a session, once; raises AuthenticationException (401) for an unknown, used or
    expired code."""
    refused = AuthenticationException(
        "this studio login link is not valid (unknown, already used or expired); run `durableml studio` again",
        details={"status": 401},
    )
    if not code or len(code) > 200:
        raise refused
    key = _hash(code)

    def use(doc: dict[str, Any]) -> None:
        if doc.get("used") or datetime.fromisoformat(doc["expires"]) < _now():
            raise refused
        doc["used"] = True

    try:  # ETag-checked: of two concurrent redemptions only one sees it unused
        records().update(TABLE, _CODE, key, use)
    except LookupError:
        raise refused from None
    records().delete(TABLE, _CODE, key)
    token = secrets.token_urlsafe(32)
    expires = _now() + timedelta(seconds=SESSION_TTL_S)
    records().put(TABLE, _SESSION, _hash(token), {"hash": _hash(token), "expires": expires.isoformat()})
    return Session(token, expires)


def end(headers: Mapping[str, str]) -> None:
    """Forget the session the request's cookie names (signing out); nothing when there is none."""
    token = _cookie(headers)
    if token:
        try:
            records().delete(TABLE, _SESSION, _hash(token))
        except Exception as exc:  # already gone: signed out all the same
            if type(exc).__name__ != "ResourceNotFoundError":
                raise


def cookie_header(session: Optional[Session], secure: bool) -> str:
    """The ``Set-Cookie`` value carrying ``session`` (None: one that clears the cookie)."""
    value, age = (session.token, SESSION_TTL_S) if session else ("", 0)
    flags = f"Path={COOKIE_PATH}; HttpOnly; SameSite=Strict; Max-Age={age}"
    return f"{COOKIE}={value}; {flags}" + ("; Secure" if secure else "")


def _cookie(headers: Mapping[str, str]) -> Optional[str]:
    raw = {k.lower(): v for k, v in headers.items()}.get("cookie")
    if not raw:
        return None
    try:
        jar = SimpleCookie(raw)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def authorise(headers: Mapping[str, str]) -> Caller:
    """Who sends a studio request; raises AuthenticationException (401 not signed in, 403 not allowed).

    ``entra`` mode: App Service's principal (durableml.service.access). ``key`` mode: a live session cookie."""
    if access.mode() == "entra":
        return Caller("entra", access.principal(headers))
    token = _cookie(headers)
    doc = records().get(TABLE, _SESSION, _hash(token)) if token else None
    if doc is None or datetime.fromisoformat(doc["expires"]) < _now():
        raise AuthenticationException(
            "not signed in to the studio (or the session expired): run `durableml studio` to open it signed in",
            details={"status": 401},
        )
    return Caller("session", None)
