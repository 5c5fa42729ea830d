"""A scripted HTTP server for the client tests: queued replies per route, every request recorded.

For the answers a real durableml service cannot be made to give on demand (409, 410, 413, 5xx, a flaky
503, a hostile listing). Anything not queued gets a 404 with no body, which is what a host without
that route answers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STUB_KEY = "stub-function-key-0123456789"


@dataclass
class Recorded:
    """One request the stub received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class StubService:
    """Replies queued per (method, path without query); requests recorded in arrival order."""

    base_url: str = ""
    replies: dict[tuple[str, str], list[tuple[int, bytes, str]]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def reply(self, method: str, path: str, status: int, body: Any = None, times: int = 1) -> None:
        """Answer the next ``times`` ``method path`` requests with ``status`` and ``body``."""
        if isinstance(body, bytes | str):
            raw, kind = (body.encode() if isinstance(body, str) else body), "text/plain"
        else:
            raw, kind = (b"" if body is None else json.dumps(body).encode()), "application/json"
        self.replies.setdefault((method, path), []).extend([(status, raw, kind)] * times)

    def error(self, method: str, path: str, status: int, code: str, message: str, details: Any = None) -> None:
        """Answer the next ``method path`` with the API's error body."""
        self.reply(method, path, status, {"error": {"code": code, "message": message, "details": details}})

    def take(self, method: str, path: str) -> tuple[int, bytes, str]:
        """The reply for a request (404 without a body when none is queued)."""
        queue = self.replies.get((method, path.split("?", 1)[0]))
        return queue.pop(0) if queue else (404, b"", "text/plain")


def _handler(service: StubService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            service.requests.append(Recorded(self.command, self.path, dict(self.headers.items()), body))
            status, raw, kind = service.take(self.command, self.path)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test output is for the tests."""

    return Handler


@contextmanager
def running_stub() -> Iterator[StubService]:
    """Serve a fresh StubService on a free loopback port until the block ends."""
    service = StubService()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(service))
    service.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
