"""GitHub's issues API and Twilio's Messages API on loopback, for the vendored samples that call them.

The samples call ``https://api.github.com`` (user code, with ``requests``) and send SMS through funchost's
``twilioSms`` binding (``https://api.twilio.com``). Neither may leave the machine, so the funchost process gets
``HTTPS_PROXY`` = this server and trusts its certificate (``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE``): the server
answers ``CONNECT api.github.com:443`` and ``CONNECT api.twilio.com:443`` only (any other tunnel is refused and
recorded in ``refused``), then speaks TLS itself with a certificate for both names. Loopback stays direct
(``NO_PROXY``), so Azurite and funchost's own listeners are not proxied.

* GitHub: ``GET /repos/{owner}/{repo}/issues?state=open`` answers ``open_issues[(owner, repo)]`` issues (404 for a
  repository not listed), as a JSON list.
* Twilio: ``POST /2010-04-01/Accounts/{sid}/Messages.json`` with basic authentication ``sid``/``token`` (401
  otherwise) and form fields ``To``, ``From``, ``Body`` (400 without To/From): recorded in ``sms``, answered 201 with
  a message resource.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.identity_storage import self_signed_cert
from tests.tls_tunnel import LoopbackServer, TunnelHandler, server_tls

GITHUB, TWILIO = "api.github.com", "api.twilio.com"
_ISSUES = re.compile(r"^/repos/([^/]+)/([^/]+)/issues$")
_MESSAGES = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")


class PublicApis:
    """The fake (see the module docstring); a context manager that serves on 127.0.0.1 while entered."""

    def __init__(self, directory: Path, sid: str = "AC" + "0" * 32, token: str = "twilio-test-token") -> None:
        self.sid, self.token = sid, token
        self.directory = directory
        self.cert, key = self_signed_cert(directory, (GITHUB, TWILIO), stem="public-apis-")
        self.open_issues: dict[tuple[str, str], int] = {}
        self.sms: list[dict[str, str]] = []
        self.refused: list[str] = []
        self._lock = threading.Lock()
        self._tls = server_tls(self.cert, key)
        self._server = LoopbackServer(self._handler())

    def __enter__(self) -> PublicApis:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    def env(self) -> dict[str, str]:
        """What a process needs to reach the fake instead of the internet (and the Twilio account settings)."""
        bundle = self.directory / "public-apis-ca.pem"
        bundle.write_text(self.cert.read_text())
        proxy = f"http://127.0.0.1:{self._server.port}"
        loopback = "127.0.0.1,localhost,::1"
        return {
            "HTTPS_PROXY": proxy,
            "https_proxy": proxy,
            "NO_PROXY": loopback,
            "no_proxy": loopback,
            "REQUESTS_CA_BUNDLE": str(bundle),
            "SSL_CERT_FILE": str(bundle),
            "TwilioAccountSid": self.sid,
            "TwilioAuthToken": self.token,
            "TwilioPhoneNumber": "+15005550006",
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(TunnelHandler):
            tls = fake._tls

            def log_message(self, *args: Any) -> None:
                pass

            def allows(self, target: str) -> bool:
                return target in (f"{GITHUB}:443", f"{TWILIO}:443")

            def refused(self, reason: str) -> None:
                with fake._lock:
                    fake.refused.append(reason)

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                m = _ISSUES.match(url.path)
                host = (self.headers.get("Host") or "").split(":")[0]
                if not self.tunneled or host != GITHUB or not m:
                    self._json(404, {"message": "Not Found"})
                    return
                count = fake.open_issues.get((m.group(1), m.group(2)))
                if count is None or parse_qs(url.query).get("state") != ["open"]:
                    self._json(404, {"message": "Not Found"})
                    return
                self._json(200, [{"number": i + 1, "state": "open", "title": f"issue {i + 1}"} for i in range(count)])

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                m = _MESSAGES.match(urlparse(self.path).path)
                host = (self.headers.get("Host") or "").split(":")[0]
                if not self.tunneled or host != TWILIO or not m:
                    self._json(404, {"message": "Not Found"})
                    return
                expected = "Basic " + base64.b64encode(f"{fake.sid}:{fake.token}".encode()).decode()
                if m.group(1) != fake.sid or self.headers.get("Authorization") != expected:
                    self._json(401, {"code": 20003, "message": "Authenticate"})
                    return
                if not form.get("To") or not form.get("From"):
                    self._json(400, {"code": 21604, "message": "A 'To' and a 'From' phone number are required."})
                    return
                with fake._lock:
                    fake.sms.append(form)
                self._json(
                    201, {"sid": "SM" + uuid.uuid4().hex, "status": "queued", **{k.lower(): v for k, v in form.items()}}
                )

            def _json(self, status: int, body: Any) -> None:
                self._send(status, json.dumps(body).encode(), "application/json")

            def _send(self, status: int, data: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
