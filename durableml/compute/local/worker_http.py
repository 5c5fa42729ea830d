"""The tiny loopback HTTP protocol between :class:`~durableml.compute.local.LocalCompute` and its worker.

The worker listens on ``127.0.0.1:<port>`` (port and a random token in ``<state>/worker.json``)::

    POST /jobs/<job id>          a job was submitted (its spec.json is on disk): run it   -> 202
    POST /jobs/<job id>/cancel   stop the job (its ``cancel`` marker is on disk)          -> 202
    POST /shutdown               stop: kill running scripts (they rerun on restart), exit -> 202
    GET  /health                 {"pid", "running", "queued", "max_nodes"}                -> 200

Every request carries ``X-Durableml-Token``; anything else gets 403. Bodies are JSON; a submit may
carry ``{"max_nodes": n, "owner": pid}`` to change the worker's concurrency and name the process it
serves. Notifications are hints: the worker also rescans the jobs directory every few seconds, so a
lost request only delays a job.

Connections are kept alive (HTTP/1.1; one per calling thread and worker port), so a submit costs one
request, not a TCP connection and a server thread; a kept connection the worker closed (it stopped, or a
new worker took its port) is replaced once, which is safe as every request is idempotent.
"""

from __future__ import annotations

import atexit
import http.client
import json
import logging
import threading
import weakref
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional, Protocol

__all__ = ["TOKEN_HEADER", "WorkerAPI", "make_server", "call_worker"]

TOKEN_HEADER = "X-Durableml-Token"
_log = logging.getLogger("durableml.compute.worker")


class WorkerAPI(Protocol):
    """What the HTTP handler needs from the worker."""

    token: str

    def enqueue(self, job_id: str, max_nodes: Optional[int] = None, owner: Optional[int] = None) -> None: ...

    def cancel(self, job_id: str) -> None: ...

    def request_shutdown(self) -> None: ...

    def health(self) -> dict[str, Any]: ...


def make_server(worker: WorkerAPI) -> ThreadingHTTPServer:
    """A threading HTTP server on a free loopback port, serving ``worker``."""

    class Handler(_Handler):
        api = worker

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


class _Handler(BaseHTTPRequestHandler):
    api: WorkerAPI
    server_version = "durableml-worker"
    protocol_version = "HTTP/1.1"  # keep-alive: every reply has a Content-Length
    # The reply goes out in two writes (headers, body): with Nagle's algorithm on a kept connection the
    # body waits for the client's delayed ACK of the headers, ~40 ms per request.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        if not self._authorized():
            return
        if self.path == "/health":
            self._reply(200, self.api.health())
        else:
            self._reply(404, {"error": f"no route GET {self.path}"})

    def do_POST(self) -> None:  # noqa: N802
        if not self._authorized():
            return
        try:
            self._route(self._body(), self.path.strip("/").split("/"))
        except ValueError as exc:  # a malformed job id
            self._reply(400, {"error": str(exc)})

    def _route(self, body: dict[str, Any], parts: list[str]) -> None:
        if len(parts) == 2 and parts[0] == "jobs":
            max_nodes, owner = body.get("max_nodes"), body.get("owner")
            self.api.enqueue(parts[1], int(max_nodes) if max_nodes else None, int(owner) if owner else None)
        elif len(parts) == 3 and parts[0] == "jobs" and parts[2] == "cancel":
            self.api.cancel(parts[1])
        elif parts == ["shutdown"]:
            self._reply(202, {"accepted": True})  # before stopping: the process may exit right after
            self.api.request_shutdown()
            return
        else:
            self._reply(404, {"error": f"no route POST {self.path}"})
            return
        self._reply(202, {"accepted": True})

    def _authorized(self) -> bool:
        if self.headers.get(TOKEN_HEADER) == self.api.token:
            return True
        self._reply(403, {"error": f"missing or wrong {TOKEN_HEADER}"})
        return False

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        try:
            data = json.loads(self.rfile.read(length))
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the http.server signature
        _log.debug("http: " + format, *args)


_kept = threading.local()  # port -> HTTPConnection, per calling thread
_every_kept: "weakref.WeakSet[http.client.HTTPConnection]" = weakref.WeakSet()  # closed at exit


@atexit.register
def _close_kept() -> None:
    for conn in list(_every_kept):
        conn.close()


def call_worker(
    port: int, token: str, method: str, path: str, body: Optional[dict[str, Any]] = None, timeout: float = 5.0
) -> tuple[int, dict[str, Any]]:
    """One request to the worker; returns (status, JSON body). Raises OSError if nobody listens."""
    kept: dict[int, http.client.HTTPConnection] = _kept.__dict__.setdefault("connections", {})
    data = json.dumps(body or {}).encode()
    headers = {TOKEN_HEADER: token, "Content-Type": "application/json"}
    while True:
        conn = kept.pop(port, None)
        reused = conn is not None
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            _every_kept.add(conn)
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        try:
            conn.request(method, path, body=data if method == "POST" else None, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            if reused:
                continue  # the worker closed the kept connection: once more on a new one
            raise
        if response.will_close:
            conn.close()
        else:
            kept[port] = conn
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = {}
        return response.status, parsed if isinstance(parsed, dict) else {}
