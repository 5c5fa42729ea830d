"""The Durable HTTP API: the rpcBaseUrl API ``DurableOrchestrationClient`` calls, and the public
``/runtime/webhooks/durabletask`` API (durable-protocol.md §4). Both share these handlers.

Every response body is empty or JSON: the SDK reads bodies with ``response.json()``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Awaitable, Callable, Optional
from urllib.parse import quote

from aiohttp import web

from funchost.durable.client_ops import (
    ClientOpError,
    DurableClientOps,
    NotFound,
    friendly_history,
    http_status_for,
    status_json,
    validate_instance_id,
)
from funchost.durable.entities import client_input as entity_client_input
from funchost.durable.history import RuntimeStatus, parse_time
from funchost.server import too_large

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_PAGE = 100_000
"""The most instances one list request answers (``top``)."""


class DurableUrls:
    """URL shapes of the client binding and of check-status responses."""

    def __init__(self, public_base: str, rpc_base: str, hub: str, connection: str, system_key: str) -> None:
        self.public_base = public_base.rstrip("/") + "/runtime/webhooks/durabletask"
        self.rpc_base = rpc_base
        self.hub = hub
        self.connection = connection
        self.system_key = system_key

    def _query(self) -> str:
        return f"taskHub={quote(self.hub)}&connection={quote(self.connection)}&code={self.system_key}"

    def management(self, instance_id: str) -> dict[str, str]:
        b, q, i = self.public_base, self._query(), instance_id
        return {
            "id": i,
            "statusQueryGetUri": f"{b}/instances/{i}?{q}",
            "sendEventPostUri": f"{b}/instances/{i}/raiseEvent/{{eventName}}?{q}",
            "terminatePostUri": f"{b}/instances/{i}/terminate?reason={{text}}&{q}",
            "rewindPostUri": f"{b}/instances/{i}/rewind?reason={{text}}&{q}",
            "purgeHistoryDeleteUri": f"{b}/instances/{i}?{q}",
            "restartPostUri": f"{b}/instances/{i}/restart?{q}",
            "suspendPostUri": f"{b}/instances/{i}/suspend?reason={{text}}&{q}",
            "resumePostUri": f"{b}/instances/{i}/resume?reason={{text}}&{q}",
        }

    def client_binding(self) -> dict[str, Any]:
        """``durableClient`` binding data (BindingHelper.DurableOrchestrationClientToString)."""
        b, q = self.public_base, self._query()
        return {
            "taskHubName": self.hub,
            "connectionName": self.connection,
            "creationUrls": {
                "createNewInstancePostUri": f"{b}/orchestrators/{{functionName}}[/{{instanceId}}]?{q}",
                "createAndWaitOnNewInstancePostUri": f"{b}/orchestrators/{{functionName}}[/{{instanceId}}]"
                f"?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&{q}",
            },
            "managementUrls": self.management("INSTANCEID"),
            "baseUrl": b,
            "requiredQueryStringParameters": f"code={self.system_key}",
            "rpcBaseUrl": self.rpc_base,
        }


def _json(body: Any, status: int = 200, headers: Optional[dict[str, str]] = None) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json", headers=headers)


def _error(exc: ClientOpError) -> web.Response:
    return _json(
        {"Message": exc.public_message or str(exc), "ExceptionMessage": str(exc), "ExceptionType": type(exc).__name__},
        status=exc.status,
    )


def _flag(request: web.Request, name: str, default: bool = False) -> bool:
    value = request.query.get(name)
    return default if value is None else value.strip().lower() in ("true", "1")


def _time(request: web.Request, name: str) -> Optional[datetime]:
    value = request.query.get(name)
    if not value:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise _BadQuery(f"query parameter {name}={value!r} is not an ISO-8601 time") from exc


def _statuses(request: web.Request) -> Optional[list[RuntimeStatus]]:
    raw = request.query.get("runtimeStatus")
    if not raw:
        return None
    try:
        return [RuntimeStatus[s.strip()] for s in raw.split(",") if s.strip()]
    except KeyError as exc:
        raise _BadQuery(f"unknown runtimeStatus {exc}; use {', '.join(s.name for s in RuntimeStatus)}") from exc


class _BadQuery(ClientOpError):
    status = 400


class _TooLarge(ClientOpError):
    status = 413


async def _json_body(request: web.Request, problem: str) -> Optional[str]:
    """The body as JSON text (None when empty); 400 when it is not UTF-8 JSON."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise _TooLarge(str(too_large(exc).text)) from exc
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
        json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _BadQuery(f"{problem}: {exc}") from exc
    return text


class DurableHttpApi:
    """aiohttp handlers for one engine; ``add_routes`` mounts them under a prefix."""

    def __init__(self, ops: DurableClientOps, urls: DurableUrls) -> None:
        self.ops = ops
        self.urls = urls

    def add_routes(
        self, app: web.Application, prefix: str, guard: Optional[Callable[[Handler], Handler]] = None
    ) -> None:
        wrap = guard or (lambda h: h)
        p = prefix.rstrip("/")
        routes = [
            ("POST", "/orchestrators/{name}", self.start),
            ("POST", "/orchestrators/{name}/", self.start),
            ("POST", "/orchestrators/{name}/{iid}", self.start),
            ("GET", "/instances", self.list),
            ("GET", "/instances/", self.list),
            ("DELETE", "/instances", self.purge_by),
            ("DELETE", "/instances/", self.purge_by),
            ("GET", "/instances/{iid}", self.get_status),
            ("DELETE", "/instances/{iid}", self.purge),
            ("POST", "/instances/{iid}/raiseEvent/{event}", self.raise_event),
            ("POST", "/instances/{iid}/terminate", self.terminate),
            ("POST", "/instances/{iid}/suspend", self.suspend),
            ("POST", "/instances/{iid}/resume", self.resume),
            ("POST", "/instances/{iid}/rewind", self.rewind),
            ("POST", "/instances/{iid}/restart", self.restart),
            ("GET", "/entities/{entity}", self.list_entities),
            ("GET", "/entities/{entity}/{key}", self.read_entity),
            ("POST", "/entities/{entity}/{key}", self.signal_entity),
            ("DELETE", "/entities/{entity}/{key}", self.signal_entity),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, p + path, wrap(guarded(handler)))

    async def start(self, request: web.Request) -> web.Response:
        input_text = await _json_body(request, "The request body is not valid JSON")
        iid = self.ops.start(request.match_info["name"], request.match_info.get("iid") or None, input_text)
        payload = self.urls.management(iid)
        return _json(payload, status=202, headers={"Location": payload["statusQueryGetUri"], "Retry-After": "10"})

    async def get_status(self, request: web.Request) -> web.Response:
        try:
            inst = self.ops.status(request.match_info["iid"])
        except ClientOpError:
            return web.Response(status=404)  # empty body: the SDK turns it into a falsy status
        show_history = _flag(request, "showHistory")
        events = self.ops.store.history(inst.id) if show_history else None
        body = status_json(
            inst, events, _flag(request, "showInput", True), show_history, _flag(request, "showHistoryOutput")
        )
        code = http_status_for(inst, _flag(request, "returnInternalServerErrorOnFailure"))
        headers = {"Location": str(request.url), "Retry-After": "5"} if code == 202 else None
        return _json(body, status=code, headers=headers)

    async def list(self, request: web.Request) -> web.Response:
        try:
            top = int(request.query.get("top", "1000"))
            token = request.headers.get("x-ms-continuation-token")
            skip = int(token) if token and token != "null" else 0
        except ValueError as exc:
            raise _BadQuery(f"top and x-ms-continuation-token must be integers: {exc}") from exc
        if not (0 < top <= MAX_PAGE and 0 <= skip < 2**62):  # SQLite's LIMIT/OFFSET are 64-bit
            raise _BadQuery(f"top must be 1 to {MAX_PAGE} and x-ms-continuation-token a count of 0 or more")
        found = self.ops.list(
            _time(request, "createdTimeFrom"),
            _time(request, "createdTimeTo"),
            _statuses(request),
            request.query.get("instanceIdPrefix"),
            top,
            skip,
        )
        show_input = _flag(request, "showInput", True)
        headers = {"x-ms-continuation-token": str(skip + top) if len(found) == top else "null"}
        return _json([status_json(i, None, show_input, False, False) for i in found], headers=headers)

    async def purge(self, request: web.Request) -> web.Response:
        deleted = self.ops.purge(request.match_info["iid"])
        return _json({"instancesDeleted": deleted}, status=200 if deleted else 404)

    async def purge_by(self, request: web.Request) -> web.Response:
        deleted = self.ops.purge_by(
            _time(request, "createdTimeFrom"), _time(request, "createdTimeTo"), _statuses(request)
        )
        return _json({"instancesDeleted": deleted}, status=200 if deleted else 404)

    async def raise_event(self, request: web.Request) -> web.Response:
        body = await _json_body(request, "Only application/json request content is supported")
        self.ops.raise_event(request.match_info["iid"], request.match_info["event"], body)
        return web.Response(status=202)

    async def terminate(self, request: web.Request) -> web.Response:
        self.ops.terminate(request.match_info["iid"], request.query.get("reason"))
        return web.Response(status=202)

    async def suspend(self, request: web.Request) -> web.Response:
        self.ops.suspend(request.match_info["iid"], request.query.get("reason"))
        return web.Response(status=202)

    async def resume(self, request: web.Request) -> web.Response:
        self.ops.resume(request.match_info["iid"], request.query.get("reason"))
        return web.Response(status=202)

    async def rewind(self, request: web.Request) -> web.Response:
        self.ops.rewind(request.match_info["iid"], request.query.get("reason"))
        return web.Response(status=202)

    async def restart(self, request: web.Request) -> web.Response:
        new_id = self.ops.restart(request.match_info["iid"], _flag(request, "restartWithNewInstanceId", True))
        payload = self.urls.management(new_id)
        return _json(payload, status=202, headers={"Location": payload["statusQueryGetUri"]})

    async def read_entity(self, request: web.Request) -> web.Response:
        try:
            state = self.ops.read_entity(request.match_info["entity"], request.match_info["key"])
        except NotFound:
            return web.Response(status=404)  # empty body: the SDK's read_entity_state gives entity_exists False
        return _json(state)

    async def signal_entity(self, request: web.Request) -> web.Response:
        """POST ``?op=`` signals that operation with the body as input; DELETE signals ``delete``."""
        operation = "delete" if request.method == "DELETE" else request.query.get("op", "")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            raise _TooLarge(str(too_large(exc).text)) from exc
        try:
            input_text = entity_client_input(raw, request.headers.get("Content-Type"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise _BadQuery(f"Could not parse JSON content: {exc}") from exc
        self.ops.signal_entity(request.match_info["entity"], request.match_info["key"], operation, input_text)
        return web.Response(status=202)

    async def list_entities(self, request: web.Request) -> web.Response:
        try:
            top = int(request.query.get("top", "100"))
            token = request.headers.get("x-ms-continuation-token")
            skip = int(token) if token and token != "null" else 0
        except ValueError as exc:
            raise _BadQuery(f"top and x-ms-continuation-token must be integers: {exc}") from exc
        if not (0 < top <= MAX_PAGE and 0 <= skip < 2**62):
            raise _BadQuery(f"top must be 1 to {MAX_PAGE} and x-ms-continuation-token a count of 0 or more")
        found = self.ops.list_entities(request.match_info["entity"], _flag(request, "fetchState"), top, skip)
        headers = {"x-ms-continuation-token": str(skip + top) if len(found) == top else "null"}
        return _json(found, headers=headers)

    async def raw_history(self, request: web.Request) -> web.Response:
        """funchost extra (admin): the DTFx history with EventIds, for debugging and conformance tests."""
        iid = request.match_info["iid"]
        self.ops.status(iid)
        return _json(self.ops.store.history(iid))


def guarded(handler: Handler) -> Handler:
    """``handler`` with the instance id checked and a ClientOpError answered with its status (404, 400...)."""

    async def run(request: web.Request) -> web.StreamResponse:
        try:
            if "iid" in request.match_info:
                validate_instance_id(request.match_info["iid"])
            return await handler(request)
        except ClientOpError as exc:
            return _error(exc)

    return run


__all__ = ["DurableHttpApi", "DurableUrls", "friendly_history", "guarded"]
