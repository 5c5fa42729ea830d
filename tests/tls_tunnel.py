"""Loopback fakes of HTTPS services, reached through a CONNECT proxy: the fake is the proxy, and it answers the
tunneled requests itself with a certificate of its own (tests/identity_storage.self_signed_cert), so a client that
trusts that certificate and uses the fake as its HTTPS proxy talks to "the service" while nothing leaves 127.0.0.1.

:class:`TunnelHandler` does the CONNECT and the TLS handshake and then serves the tunneled requests with the
subclass's ``do_GET``/``do_POST``/...; a CONNECT to a host the subclass does not ``allows``, or a failed handshake,
is refused and reported to ``refused``. :class:`LoopbackServer` runs a handler class on a free port.
"""

from __future__ import annotations

import socketserver
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    """The server side TLS context of a fake, from its certificate and key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    return context


class TunnelHandler(BaseHTTPRequestHandler):
    """CONNECT, then TLS with ``tls``, then the tunneled HTTP requests (keep-alive) to the subclass's methods."""

    protocol_version = "HTTP/1.1"
    tunneled = False
    tls: ssl.SSLContext

    def allows(self, target: str) -> bool:
        """Whether to open a tunnel to ``target`` (``host:port``, lower case)."""
        raise NotImplementedError

    def refused(self, reason: str) -> None:
        """Note a refusal (a CONNECT to another host, a failed TLS handshake)."""

    def do_CONNECT(self) -> None:  # noqa: N802 (http.server's name)
        if self.tunneled or not self.allows(self.path.lower()):
            self.refused(f"CONNECT {self.path}")
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        try:
            self.connection = self.tls.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            self.refused("TLS handshake")
            self.close_connection = True
            return
        self.rfile = self.connection.makefile("rb", self.rbufsize)
        self.wfile = socketserver._SocketWriter(self.connection)  # type: ignore[attr-defined]
        self.tunneled = True
        self.close_connection = False

    def finish(self) -> None:
        super().finish()
        if self.tunneled:  # the TLS socket took over the accepted one, which the server closes
            self.connection.close()


class LoopbackServer:
    """``handler`` served on 127.0.0.1 (a free port) by a thread, between ``__enter__`` and ``__exit__``."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
