"""A real HTTP server on loopback that records the JSON bodies POSTed to it (webhook receivers in tests)."""

from __future__ import annotations

import http.server
import json
import threading
from typing import Any


class Receiver:
    """A real HTTP server on loopback that records the notices it gets; answers ``codes`` in turn, then 200."""

    def __init__(self, codes: list[int]) -> None:
        receiver = self
        self.bodies: list[dict[str, Any]] = []
        self.codes = list(codes)

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                receiver.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(receiver.codes.pop(0) if receiver.codes else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/run-done?sig=SECRET-SIGNATURE"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
