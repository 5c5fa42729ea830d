"""funchost's HTTP front door: HTTP-triggered functions, auth levels, and the host's admin routes."""

from __future__ import annotations

import json
import logging
import traceback
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Optional

import azure.functions as func
from aiohttp import web

from funchost.config import max_request_bytes
from funchost.functions import FunctionInfo
from funchost.invoke import Invoker
from funchost.keys import Keys
from funchost.routes import RouteTemplate, compile_route

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
DEFAULT_METHODS = ["GET", "POST"]


@dataclass
class HttpFunction:
    """An HTTP-triggered function with its compiled route, methods and auth level."""

    info: FunctionInfo
    route: RouteTemplate
    methods: list[str]
    auth_level: str

    @classmethod
    def from_info(cls, info: FunctionInfo) -> "HttpFunction":
        trig = info.trigger
        methods = [m.upper() for m in (trig.get("methods") or DEFAULT_METHODS)]
        return cls(
            info,
            compile_route(trig.get("route") or info.name),
            methods,
            str(trig.get("authLevel") or "FUNCTION").upper(),
        )


def presented_key(request: web.Request) -> Optional[str]:
    return request.headers.get("x-functions-key") or request.query.get("code")


def unauthorized() -> web.Response:
    return web.Response(
        status=401,
        text=json.dumps(
            {
                "error": {
                    "code": "Unauthorized",
                    "message": "a valid function key is required: send it as the x-functions-key header or the "
                    "code query parameter",
                }
            }
        ),
        content_type="application/json",
    )


def authorized(keys: Keys, level: str, key: Optional[str]) -> bool:
    """Does ``key`` satisfy auth ``level`` (ANONYMOUS, FUNCTION, ADMIN or SYSTEM)?"""
    checks: dict[str, Callable[[Optional[str]], bool]] = {
        "ANONYMOUS": lambda k: True,
        "FUNCTION": keys.function_ok,
        "ADMIN": keys.admin_ok,
        "SYSTEM": keys.system_ok,
    }
    return checks[level](key)


def require(keys: Keys, level: str) -> Callable[[Handler], Handler]:
    """Decorator for aiohttp handlers: enforce an auth level (anonymous, function, admin, system)."""

    def wrap(handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if authorized(keys, level, presented_key(request)):
                return await handler(request)
            return unauthorized()

        return guarded

    return wrap


class HttpTriggers:
    """Routes requests under the route prefix to HTTP-triggered functions."""

    def __init__(
        self,
        functions: list[FunctionInfo],
        invoker: Invoker,
        keys: Keys,
        route_prefix: str,
        log: logging.Logger,
        storage_unavailable: Optional[Callable[[], Optional[str]]] = None,
    ) -> None:
        self.functions = sorted((HttpFunction.from_info(f) for f in functions), key=lambda f: f.route.precedence)
        self.invoker = invoker
        self.keys = keys
        self.prefix = route_prefix.strip("/")
        self.log = log
        self.storage_unavailable = storage_unavailable

    def add_routes(self, app: web.Application) -> None:
        path = f"/{self.prefix}/{{tail:.*}}" if self.prefix else "/{tail:.*}"
        app.router.add_route("*", path, self.dispatch)

    def urls(self, base_url: str) -> list[tuple[str, list[str], str]]:
        base = f"{base_url}/{self.prefix}" if self.prefix else base_url
        return [(f.info.name, f.methods, f"{base}/{f.route.template.strip('/')}") for f in self.functions]

    def _find(self, path: str, method: str) -> tuple[Optional[HttpFunction], dict[str, str], bool]:
        path_matched = False
        for fn in self.functions:
            params = fn.route.match(path)
            if params is None:
                continue
            path_matched = True
            if method in fn.methods:
                return fn, params, True
        return None, {}, path_matched

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        fn, params, path_matched = self._find(request.match_info["tail"], request.method.upper())
        if fn is None:
            return web.Response(status=405 if path_matched else 404)
        if not authorized(self.keys, fn.auth_level, presented_key(request)):
            return unauthorized()
        down = self.storage_unavailable() if self.storage_unavailable is not None else None
        if down is not None:  # at once, rather than a 500 after the storage SDK's retries against a dead Azurite
            return storage_unavailable(down)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            return too_large(exc)
        req = func.HttpRequest(
            method=request.method.upper(),
            url=str(request.url),
            headers=dict(request.headers),
            params=dict(request.query),
            route_params=params,
            body=body,
        )
        try:
            result = await self.invoker.call(fn.info, req, {**params, "Query": dict(request.query)})
        except Exception as exc:  # user code failed: 500, like the Functions host
            self.log.error("Executed 'Functions.%s' (Failed): %s\n%s", fn.info.name, exc, traceback.format_exc())
            return web.Response(status=500)
        return to_aiohttp(result)


STORAGE_RETRY_AFTER = 2
"""Seconds a 503 for a restarting Azurite asks the caller to wait (its Retry-After)."""


def storage_unavailable(message: str) -> web.Response:
    """503 ``StorageUnavailable`` with a Retry-After: the storage emulator funchost supervises is down."""
    return web.Response(
        status=503,
        text=json.dumps({"error": {"code": "StorageUnavailable", "message": message}}),
        content_type="application/json",
        headers={"Retry-After": str(STORAGE_RETRY_AFTER)},
    )


def too_large(exc: web.HTTPRequestEntityTooLarge) -> web.Response:
    """413 with a body that says what the limit is and how to change it."""
    message = (
        f"the request body is larger than this host accepts ({max_request_bytes()} bytes); send less data "
        "per request, "
        "or raise the limit with FUNCHOST_MAX_REQUEST_BYTES (the Azure Functions host allows 100 MB)"
    )
    return web.Response(
        status=413,
        text=json.dumps({"error": {"code": "RequestTooLarge", "message": message}}),
        content_type="application/json",
    )


def to_aiohttp(result: Any) -> web.StreamResponse:
    """Map a function's return value to a response: HttpResponse, str/bytes (200), None (204)."""
    if isinstance(result, func.HttpResponse):
        headers = {k: v for k, v in result.headers.items() if k.lower() != "content-length"}
        resp = web.Response(status=result.status_code, body=result.get_body(), headers=headers)
        if "content-type" not in {k.lower() for k in headers}:
            mimetype = result.mimetype or "text/plain"
            resp.content_type = mimetype
            if result.charset and (mimetype.startswith("text/") or mimetype == "application/json"):
                resp.charset = result.charset
        return resp
    if result is None:
        return web.Response(status=204)
    if isinstance(result, (bytes, bytearray)):
        return web.Response(status=200, body=bytes(result))
    return web.Response(status=200, text=str(result))
