"""Telling the orchestration that a job ended: POST the job's report (``job_report``) as JSON to its URL.

The URL is the Durable Functions ``raiseEvent`` URL of the step_run instance (``sendEventPostUri``,
which carries a system key in ``code=``), with ``{eventName}`` replaced by the event name. It is a
secret: neither it nor its query string ever reaches a log. A failed notification is retried a few
times and then given up: the orchestration polls result.json anyway, so it costs one poll interval.

To a host on this machine (``http://127.0.0.1``/``localhost``, i.e. funchost) the connection is kept
alive per thread, so a step's notification is one request; elsewhere ``urllib`` (which honours proxy
settings) opens one per notification.
"""

from __future__ import annotations

import atexit
import http.client
import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import weakref
from typing import Any, Mapping
from urllib.parse import quote

from durableml.contract import EVENT_STEP_DONE

__all__ = ["send_notification", "event_url"]

RETRY_DELAYS_S = (0.2, 1.0, 3.0)
TIMEOUT_S = 10.0
_log = logging.getLogger("durableml.compute.notify")


def event_url(notify: Mapping[str, str]) -> str:
    """The URL to POST to: ``notify["url"]`` with ``{eventName}`` filled in (default ``step_done``)."""
    return str(notify["url"]).replace("{eventName}", quote(notify.get("event") or EVENT_STEP_DONE, safe=""))


def send_notification(notify: Mapping[str, str], payload: Mapping[str, Any]) -> bool:
    """POST ``payload`` as JSON; True once delivered (2xx), False after the retries are used up."""
    request_url = event_url(notify)
    body = json.dumps(dict(payload)).encode()
    attempts, reason = 0, ""
    for delay in (0.0, *RETRY_DELAYS_S):
        time.sleep(delay)
        attempts += 1
        outcome = _post(request_url, body)
        if outcome is None:
            return True
        retry, reason = outcome
        if not retry:
            break
    _log.warning(
        "job %s: could not raise the completion event (%s) after %d attempt(s); the orchestration "
        "will see the result when it next polls",
        payload.get("job_id"),
        reason,
        attempts,
    )
    return False


def _post(url: str, body: bytes) -> tuple[bool, str] | None:
    """None on success, else (worth retrying, reason without the URL)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return _post_kept(parts, body)
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            response.read()
            return None
    except urllib.error.HTTPError as exc:
        exc.close()
        # 404/410: the instance is unknown or already over; 400: refused. Retrying cannot help.
        return exc.code >= 500 or exc.code == 429, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return True, f"{type(exc).__name__}: {type(reason).__name__}"


_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_kept = threading.local()  # netloc -> HTTPConnection, per thread
_every_kept: "weakref.WeakSet[http.client.HTTPConnection]" = weakref.WeakSet()  # closed at exit


@atexit.register
def _close_kept() -> None:
    for conn in list(_every_kept):
        conn.close()


def _post_kept(parts: urllib.parse.SplitResult, body: bytes) -> tuple[bool, str] | None:
    kept: dict[str, http.client.HTTPConnection] = _kept.__dict__.setdefault("connections", {})
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    while True:
        conn = kept.pop(parts.netloc, None)
        reused = conn is not None
        if conn is None:
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=TIMEOUT_S)
            _every_kept.add(conn)
        try:
            conn.request("POST", target, body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            if reused:
                continue  # the host closed the kept connection (idle, or restarted): once more on a new one
            return True, f"{type(exc).__name__}"
        if response.will_close:
            conn.close()
        else:
            kept[parts.netloc] = conn
        if 200 <= response.status < 300:
            return None
        # 404/410: the instance is unknown or already over; 400: refused. Retrying cannot help.
        return response.status >= 500 or response.status == 429, f"HTTP {response.status}"
