"""A local HTTP server for URL dataset tests: files from a directory on 127.0.0.1, plus paths that fail.

* ``/files/<rel>``: the file ``<root>/<rel>`` (404 when missing).
* ``/status/<code>/<name>``: answers HTTP ``<code>``.
* ``/redirect/<rel>``: 302 to ``/files/<rel>``.
* ``/short/<name>``: claims 100 bytes, sends 5 and closes.

Every request's path (with its query string) is recorded in ``requests``. Never an external address.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


class FileServer:
    """A running server: ``url(rel)`` is the address of ``root/rel``."""

    def __init__(self, root: Path, server: ThreadingHTTPServer) -> None:
        self.root = root
        self.server = server
        self.requests: list[str] = []

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, rel: str) -> str:
        return f"{self.base}/files/{rel}"

    def write(self, rel: str, text: str) -> str:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return self.url(rel)


def _handler(files: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            files.requests.append(self.path)
            parts = [unquote(p) for p in urlsplit(self.path).path.strip("/").split("/")]
            kind, rest = parts[0], parts[1:]
            if kind == "files":
                local = files.root.joinpath(*rest)
                if ".." in rest or not local.is_file():
                    return self._send(404, b"no such file")
                return self._send(200, local.read_bytes())
            if kind == "status" and rest and rest[0].isdigit():
                return self._send(int(rest[0]), b"failing on purpose")
            if kind == "redirect":
                self.send_response(302)
                self.send_header("Location", "/files/" + "/".join(rest))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if kind == "short":
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                self.wfile.write(b"short")
                self.close_connection = True
                return None
            return self._send(404, b"unknown path")

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def serve_files(root: Path) -> Iterator[FileServer]:
    """Serve ``root`` on a free port of 127.0.0.1 until the block ends."""
    root.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    files = FileServer(root, server)
    server.RequestHandlerClass = _handler(files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield files
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
