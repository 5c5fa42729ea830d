"""The studio: the web page under ``/api/studio`` where users watch, inspect and operate their pipelines.

Routes (all ``anonymous`` at the host, a browser has no function key; each authorises itself, see
durableml.studio_auth, except ``login-codes``, which needs a function key like the API):

* ``GET studio``: the page (one HTML document; the page routes itself with the URL fragment).
* ``GET studio/assets/{*file}``: its scripts and styles, and the npm libraries it uses (``studio/vendor``,
  copied from node_modules by scripts/setup.sh: served from the app itself, no CDN).
* ``POST studio/login-codes`` (function key): a one-time login code for ``durableml studio``.
* ``POST/GET/DELETE studio/session``: redeem a login code for the session cookie / who is signed in / sign out.
* ``studio/api/{*route}``: the HTTP API the SDK uses (``/api/{route}``), for a signed-in user, limited to the
  routes durableml.studio_routes allows; the API's own function answers.
* ``studio/data/{*route}``: what the page needs that the API has no route for (durableml.studio_data).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import mimetypes
from dataclasses import asdict
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional
from urllib.parse import urlencode, urlsplit

import azure.durable_functions as df
import azure.functions as func

from durableml import exceptions as errors
from durableml import json_body, studio_auth, studio_data, studio_routes
from durableml.service import access
from durableml.service import record_types as rt
from triggers import api, models, published, schedules
from triggers.api import _respond, error_response, json_response
from app_decorators import route

bp = df.Blueprint()
STATIC = Path(__file__).resolve().parent.parent / "studio"
_ANON = func.AuthLevel.ANONYMOUS
_CSRF_HEADER = "x-durableml-studio"  # a custom header: other sites cannot send it without a CORS preflight
_ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def _client_binding(name: str = "client") -> Callable[[Any], Any]:
    """The Durable client binding as its raw JSON (``str``), handed on to the API function a request reaches."""
    decorator: Callable[[Any], Any] = bp.generic_input_binding(arg_name=name, type="durableClient")
    return decorator


ENTRA_SIGN_IN = "/.auth/login/aad?post_login_redirect_uri=/api/studio"  # App Service authentication's login


def _denied(exc: errors.AuthenticationException) -> func.HttpResponse:
    status = int(exc.details.get("status", 401))
    details = {"signIn": ENTRA_SIGN_IN} if access.mode() == "entra" and status == 401 else None
    return error_response(status, "Unauthorized" if status == 401 else "Forbidden", str(exc), details)


async def _signed_in(req: func.HttpRequest) -> Optional[func.HttpResponse]:
    """None when the request may use the studio, else the 401/403/400 answer."""
    if req.method not in ("GET", "HEAD") and req.headers.get(_CSRF_HEADER) != "1":
        return error_response(400, "MissingStudioHeader", f"studio actions must send the '{_CSRF_HEADER}: 1' header")
    try:
        await asyncio.to_thread(studio_auth.authorise, dict(req.headers))
    except errors.AuthenticationException as exc:
        return _denied(exc)
    return None


# ---------------------------------------------------------------------------------------------- page and assets
@route(bp, "studio", ["GET"], _ANON)
async def studio_page(req: func.HttpRequest) -> func.HttpResponse:
    page = STATIC / "index.html"
    return func.HttpResponse(page.read_bytes(), mimetype="text/html", charset="utf-8", headers=_PAGE_HEADERS)


@route(bp, "studio/assets/{*file}", ["GET"], _ANON)
async def studio_asset(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params.get("file") or ""
    try:
        path = (STATIC / name).resolve()
        found = path.is_relative_to(STATIC) and path.is_file()
    except (ValueError, OSError):  # a NUL byte, a name too long...: no such asset
        path, found = STATIC, False
    kind = _ASSET_TYPES.get(path.suffix)
    if kind is None or not found:
        return error_response(404, "NotFound", f"the studio has no asset {name!r}")
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
    return func.HttpResponse(path.read_bytes(), mimetype=kind or mimetypes.guess_type(name)[0], headers=headers)


# ---------------------------------------------------------------------------------------------- sign-in
@route(bp, "studio/login-codes", ["POST"])
async def studio_login_code(req: func.HttpRequest) -> func.HttpResponse:
    """A one-time login code; the host has checked the caller's function key (this route's auth level)."""
    if access.mode() == "entra":
        message = "this deployment signs studio users in with Entra ID; open /api/studio"
        return error_response(400, "NotSupported", message)

    def create() -> dict[str, Any]:
        code = studio_auth.new_login_code()
        return {"code": code.code, "expires": code.expires.isoformat(), "path": "/api/studio"}

    return await _respond(create, 201)


@route(bp, "studio/session", ["GET", "POST", "DELETE"], _ANON)
async def studio_session(req: func.HttpRequest) -> func.HttpResponse:
    secure = urlsplit(req.url).scheme == "https"
    if req.method == "GET":
        try:
            caller = await asyncio.to_thread(studio_auth.authorise, dict(req.headers))
        except errors.AuthenticationException as exc:
            return _denied(exc)
        return json_response({"signedIn": True, **asdict(caller)})
    if req.headers.get(_CSRF_HEADER) != "1":
        return error_response(400, "MissingStudioHeader", f"studio actions must send the '{_CSRF_HEADER}: 1' header")
    if req.method == "DELETE":
        await asyncio.to_thread(studio_auth.end, dict(req.headers))
        return func.HttpResponse(status_code=204, headers={"Set-Cookie": studio_auth.cookie_header(None, secure)})
    try:
        code = json_body.parse_object(req.get_body()).get("code")
        session = await asyncio.to_thread(studio_auth.redeem, str(code or ""))
    except errors.AuthenticationException as exc:
        return _denied(exc)
    except errors.ValidationError as exc:
        return error_response(400, "ValidationError", str(exc))
    body = json.dumps({"signedIn": True, "expires": session.expires.isoformat()})
    headers = {"Set-Cookie": studio_auth.cookie_header(session, secure), "Cache-Control": "no-store"}
    return func.HttpResponse(body, mimetype="application/json", headers=headers)


# ---------------------------------------------------------------------------------------------- the API, for the page
def _api_table() -> studio_routes.RouteTable[Any]:
    """The API's HTTP functions by route. A blueprint lists its functions only as builders (``_function_builders``,
    which FunctionApp.register_functions reads too); building them again would register them twice."""
    entries = []
    for blueprint in (api.bp, published.bp, schedules.bp, models.bp):
        for builder in blueprint._function_builders:
            function = builder._function
            trigger = function.get_trigger()
            if getattr(trigger, "route", None) is not None:
                entries.append((str(trigger.route), function))
    return studio_routes.RouteTable(entries)


_TABLE: list[studio_routes.RouteTable[Any]] = []


def _table() -> studio_routes.RouteTable[Any]:
    if not _TABLE:
        _TABLE.append(_api_table())
    return _TABLE[0]


def _forwarded(req: func.HttpRequest, path: str, params: dict[str, str]) -> func.HttpRequest:
    parts = urlsplit(req.url)
    query = f"?{urlencode(req.params)}" if req.params else ""
    headers = {k: v for k, v in req.headers.items() if k.lower() != "cookie"}  # the session stays with the studio
    return func.HttpRequest(
        method=req.method,
        url=f"{parts.scheme}://{parts.netloc}/api/{path}{query}",
        headers=headers,
        params=dict(req.params),
        route_params=params,
        body=req.get_body(),
    )


@route(bp, "studio/api/{*path}", ["GET", "POST", "PATCH"], _ANON)
@_client_binding()
async def studio_api(req: func.HttpRequest, client: str) -> func.HttpResponse:
    refused = await _signed_in(req)
    if refused is not None:
        return refused
    path = req.route_params.get("path") or ""
    found = _table().match(path)
    if found is None or not studio_routes.allowed(found.entry.template.text, req.method):
        return error_response(403, "NotAllowedInStudio", f"the studio does not offer {req.method} /api/{path}")
    function = found.entry.target
    kwargs: dict[str, Any] = {function.get_trigger().name: _forwarded(req, path, found.params)}
    for binding in function.get_bindings():
        if binding.type == "durableClient":
            kwargs[binding.name] = client
    handler: Callable[..., Awaitable[func.HttpResponse] | func.HttpResponse] = function.get_user_function()
    result = handler(**kwargs)
    return await result if inspect.isawaitable(result) else result


# ---------------------------------------------------------------------------------------------- studio-only data
async def _resubmit(req: func.HttpRequest, client: str, run_id: str) -> func.HttpResponse:
    async def resubmit() -> Any:
        parameters = json_body.parse_object(req.get_body()).get("parameters") or {}
        record, plan = await asyncio.to_thread(studio_data.resubmit, run_id, parameters)
        return await api.start_run(df.DurableOrchestrationClient(client), record, plan)

    return await _respond(resubmit, 202, rt.PipelineRun)


_DATA = studio_routes.RouteTable(
    [
        ("runs", "runs"),
        ("runs/{run_id}/origin", "origin"),
        ("runs/{run_id}/resubmit", "resubmit"),
        ("runs/{run_id}/graph", "graph"),
        ("published/{id}/schema", "schema"),
        ("computes", "computes"),
        ("datasets/{name}/preview", "preview"),
        ("datasets/{name}/versions", "versions"),
    ]
)


@route(bp, "studio/data/{*path}", ["GET", "POST"], _ANON)
@_client_binding()
async def studio_data_route(req: func.HttpRequest, client: str) -> func.HttpResponse:
    refused = await _signed_in(req)
    if refused is not None:
        return refused
    path = req.route_params.get("path") or ""
    found = _DATA.match(path)
    what = found.entry.target if found else None
    if found is None or (req.method == "POST") != (what == "resubmit"):
        return error_response(404, "NotFound", f"the studio has no {req.method} /api/studio/data/{path}")
    params = found.params
    if what == "resubmit":
        return await _resubmit(req, client, params["run_id"])
    if what == "runs":
        return await _respond(lambda: studio_data.list_runs(studio_data.RunFilter.from_query(dict(req.params))))
    if what == "origin":
        return await _respond(lambda: studio_data.run_origin(params["run_id"]))
    if what == "graph":
        return await _respond(lambda: studio_data.run_graph(params["run_id"]))
    if what == "schema":
        return await _respond(lambda: studio_data.published_schema(params["id"]))
    if what == "computes":
        return await _respond(studio_data.compute_usage)
    if what == "versions":
        return await _respond(lambda: studio_data.dataset_versions(params["name"]))
    return await _respond(lambda: studio_data.dataset_preview(params["name"], req.params.get("version")))
