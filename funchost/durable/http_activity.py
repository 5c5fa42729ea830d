"""``context.call_http``: the extension's built-in activity ``BuiltIn::HttpActivity`` (TaskHttpActivityShim).

The SDK schedules one activity named ``BuiltIn::HttpActivity`` whose input is a DurableHttpRequest
(``{"method", "uri", "content", "headers", "tokenSource"?}``); its result is a DurableHttpResponse JSON text,
``{"statusCode": int, "headers": {name: str | [str, ...]}, "content": str}``, which the orchestrator receives as a
dict. As the extension (docs/durable-protocol-extra.md, part 2):

* ``Content-Type`` from the request headers goes on the content (``text/plain`` when content has none); the other
  headers go on the request; multipart content is refused.
* The asynchronous pattern (``asynchronousPatternEnabled``, true unless the request says otherwise, and the Python
  SDK never does): while the answer is ``202 Accepted`` the ``Location`` it names is polled with GET (the same
  headers, without ``x-functions-key``), after ``Retry-After`` seconds or else
  ``durableTask.httpSettings.defaultAsyncRequestSleepTimeMilliseconds`` (30000). The extension polls from the
  orchestration with a durable timer and one more activity per poll, ids the Python SDK does not know about; funchost
  polls inside this one activity instead, so the orchestration's history and ids are the SDK's (a host restart
  while polling starts the activity again, with the first request).
* The response's ``headers`` are the response headers without the content headers (``Content-Type``,
  ``Content-Length``, ...), as ``HttpResponseMessage.Headers`` are; a header with several values is a list.
* Each request may take 240 s (the extension's HttpClient timeout) unless the request gives ``timeout``.
* A ``ManagedIdentityTokenSource`` needs a managed identity; funchost has none locally, so such a request fails
  with :class:`ManagedIdentityUnavailableError` instead of being sent without its token.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any, Optional

import aiohttp

HTTP_ACTIVITY = "BuiltIn::HttpActivity"
DEFAULT_POLL_MILLISECONDS = 30000
DEFAULT_TIMEOUT_SECONDS = 240.0
_CONTENT_HEADERS = {
    "allow",
    "content-disposition",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "expires",
    "last-modified",
}
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?$")


class HttpActivityError(Exception):
    """``call_http`` could not get an answer: the orchestrator sees the activity fail with this message."""

    reason_type = "System.Net.Http.HttpRequestException"


class ManagedIdentityUnavailableError(HttpActivityError):
    """A ``ManagedIdentityTokenSource`` in a local host, which has no managed identity to ask for the token."""

    reason_type = "funchost.ManagedIdentityUnavailableError"


@dataclass
class HttpSettings:
    """``durableTask.httpSettings`` of host.json, as far as call_http uses them."""

    poll_milliseconds: int = DEFAULT_POLL_MILLISECONDS

    @classmethod
    def from_durable(cls, durable: dict[str, Any]) -> "HttpSettings":
        section = durable.get("httpSettings") or {}
        return cls(int(section.get("defaultAsyncRequestSleepTimeMilliseconds", DEFAULT_POLL_MILLISECONDS)))


async def run(request_text: str, settings: HttpSettings) -> str:
    """Run one DurableHttpRequest (with its 202 polling); returns the DurableHttpResponse JSON text."""
    req = _request(request_text)
    timeout = aiohttp.ClientTimeout(total=_timeout_seconds(req.get("timeout")))
    async with aiohttp.ClientSession(timeout=timeout, trust_env=True) as session:
        response = await _send(session, req)
        while response["statusCode"] == 202 and req.get("asynchronousPatternEnabled", True) is not False:
            location = _header(response, "Location")
            if not location:
                break  # nothing to poll: the 202 is the answer
            await asyncio.sleep(_poll_delay(response, settings))
            headers = {k: v for k, v in (req.get("headers") or {}).items() if k.lower() != "x-functions-key"}
            req = {**req, "method": "GET", "uri": location, "content": None, "headers": headers}
            response = await _send(session, req)
    return json.dumps(response)


def _request(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if isinstance(value, list):  # the TaskScheduled form: [request]
        value = value[0]
    if not isinstance(value, dict) or not value.get("uri"):
        raise HttpActivityError(f"call_http: the request has no uri: {text[:200]}")
    source = value.get("tokenSource")
    if source:
        raise ManagedIdentityUnavailableError(
            f"call_http to {value['uri']} asks for a managed identity token (ManagedIdentityTokenSource, resource "
            f"'{source.get('resource')}'); funchost runs locally without a managed identity, so it does not send "
            "the request. Pass the Authorization header yourself when running locally, or run this orchestration "
            "in Azure."
        )
    return dict(value)


async def _send(session: aiohttp.ClientSession, req: dict[str, Any]) -> dict[str, Any]:
    method = str(req.get("method") or "GET").upper()
    headers: dict[str, str] = {}
    content_type = ""
    for name, value in (req.get("headers") or {}).items():
        values = value if isinstance(value, list) else [value]
        if name.lower() == "content-type":
            if any("multipart" in str(v) for v in values):
                raise HttpActivityError("Multipart content is not supported with CallHttpAsync.")
            content_type = str(values[-1])
        else:
            headers[name] = ", ".join(str(v) for v in values)
    data: Optional[bytes] = None
    if req.get("content") is not None:
        data = str(req["content"]).encode("utf-8")
        headers["Content-Type"] = content_type or "text/plain"
    try:
        async with session.request(method, str(req["uri"]), headers=headers, data=data) as resp:
            content = await resp.text(errors="replace")
            return {"statusCode": resp.status, "headers": _response_headers(resp), "content": content}
    except asyncio.TimeoutError as exc:
        raise HttpActivityError(f"{method} {req['uri']}: no answer within the request timeout") from exc
    except aiohttp.ClientError as exc:
        raise HttpActivityError(f"{method} {req['uri']}: {type(exc).__name__}: {exc}") from exc


def _response_headers(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    grouped: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for name, value in resp.headers.items():
        if name.lower() in _CONTENT_HEADERS:
            continue
        names.setdefault(name.lower(), name)
        grouped.setdefault(name.lower(), []).append(value)
    return {names[k]: (v[0] if len(v) == 1 else v) for k, v in grouped.items()}


def _header(response: dict[str, Any], name: str) -> Optional[str]:
    for key, value in response["headers"].items():
        if key.lower() == name.lower():
            return str(value[0] if isinstance(value, list) else value)
    return None


def _poll_delay(response: dict[str, Any], settings: HttpSettings) -> float:
    retry_after = _header(response, "Retry-After")
    if retry_after is not None and retry_after.strip().isdigit():
        return float(retry_after.strip())
    return settings.poll_milliseconds / 1000.0


def _timeout_seconds(value: Any) -> float:
    """A .NET TimeSpan (``"00:01:30"``) or seconds; 240 s when absent."""
    if value is None:
        return DEFAULT_TIMEOUT_SECONDS
    if isinstance(value, (int, float)):
        return float(value)
    m = _TIMESPAN.match(str(value))
    if not m:
        return DEFAULT_TIMEOUT_SECONDS
    days, hours, minutes, seconds, frac = m.groups()
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    return total + float(f"0.{frac}") if frac else float(total)


def failure_message(exc: Exception) -> tuple[str, str]:
    """(Reason, Details) of the TaskFailed event: the extension fails the activity with the exception's message."""
    kind = exc.reason_type if isinstance(exc, HttpActivityError) else type(exc).__name__
    name = type(exc).__name__
    reason = f"{name}: {exc}"
    return reason, json.dumps({"ClassName": kind, "Message": str(exc)})
