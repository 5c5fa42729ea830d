"""``context.call_http`` under funchost (docs/durable-protocol-extra.md, part 2), against a real funchost + Azurite
and an HTTP server of the test's own on 127.0.0.1.

The orchestrations (tests/apps/durable_extras_app) call the unmodified SDK's ``call_http``; funchost runs the
extension's built-in activity ``BuiltIn::HttpActivity``: the request as the extension sends it, the 202 + Location
polling of the asynchronous pattern, the DurableHttpResponse the SDK expects, and a managed identity token source
refused by name.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest

from tests.test_durable_kit import DurableHost

APP = Path(__file__).resolve().parent / "apps" / "durable_extras_app"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[dict[str, Any]] = []
        self.polls: dict[str, int] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: str, headers: Sequence[tuple[str, str]] = ()) -> None:
        data = body.encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else None
        self.server.seen.append(
            {
                "method": self.command,
                "path": self.path,
                "body": body,
                "headers": {k.lower(): v for k, v in self.headers.items()},
            }
        )
        if self.path.startswith("/echo"):
            echo = {"method": self.command, "body": body, "contentType": self.headers.get("Content-Type")}
            self._answer(201, json.dumps(echo), [("X-Echo", "yes"), ("X-Multi", "a"), ("X-Multi", "b")])
        elif self.path.startswith("/start/"):
            job = self.path.rsplit("/", 1)[1]
            self.server.polls[job] = 0
            location = f"{self.server.url}/status/{job}"
            self._answer(202, "{}", [("Location", location), ("Retry-After", "0")])
        elif self.path.startswith("/status/"):
            job = self.path.rsplit("/", 1)[1]
            self.server.polls[job] += 1
            if self.server.polls[job] < 3:  # no Retry-After: the host.json default (200 ms) applies
                self._answer(202, "{}", [("Location", f"{self.server.url}/status/{job}")])
            else:
                self._answer(200, json.dumps({"job": job, "polls": self.server.polls[job]}))
        else:
            self._answer(404, json.dumps({"missing": self.path}))

    do_GET = do_POST = do_PUT = do_DELETE = _handle


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def host(funchost_process, tmp_path_factory) -> Iterator[DurableHost]:
    h = DurableHost(funchost_process(APP), tmp_path_factory.mktemp("durable-http"))
    yield h
    h.close()
    h.proc.stop()


def test_call_http_sends_the_request_and_returns_a_durable_http_response(host: DurableHost, server: _Server) -> None:
    args = {
        "method": "POST",
        "uri": f"{server.url}/echo",
        "content": {"city": "Tokyo"},
        "headers": {"X-Custom": "42"},
    }
    out = host.completed(host.start("http_call", args))
    assert out["statusCode"] == 201
    # content is JSON-encoded by the SDK; without a Content-Type header the extension sends text/plain
    assert json.loads(out["content"]) == {"method": "POST", "body": '{"city": "Tokyo"}', "contentType": "text/plain"}
    # response headers, not content headers (HttpResponseMessage.Headers); several values become a list
    headers = {k.lower(): v for k, v in out["headers"].items()}
    assert headers["x-echo"] == "yes" and headers["x-multi"] == ["a", "b"]
    assert "content-type" not in headers and "content-length" not in headers
    assert server.seen[-1]["headers"]["x-custom"] == "42"


def test_content_type_header_is_the_content_type(host: DurableHost, server: _Server) -> None:
    args = {
        "method": "PUT",
        "uri": f"{server.url}/echo",
        "content": "plain words",
        "headers": {"Content-Type": "application/json"},
    }
    out = host.completed(host.start("http_call", args))
    assert json.loads(out["content"])["contentType"] == "application/json"


def test_202_with_location_is_polled_until_done_without_extra_history(host: DurableHost, server: _Server) -> None:
    args = {"method": "POST", "uri": f"{server.url}/start/job1", "headers": {"x-functions-key": "secret"}}
    iid = host.start("http_call", args)
    out = host.completed(iid, history=True)
    assert out["statusCode"] == 200
    assert json.loads(out["content"]) == {"job": "job1", "polls": 3}
    polls = [s for s in server.seen if s["path"] == "/status/job1"]
    assert [p["method"] for p in polls] == ["GET"] * 3
    assert all("x-functions-key" not in p["headers"] for p in polls)  # the extension drops it when polling
    # one TaskScheduled/TaskCompleted for the whole call: the ids stay the SDK's
    r = host.http.get(
        f"{host.base_url}/admin/funchost/instances/{iid}/history",
        headers={"x-functions-key": host.master_key},
        timeout=30,
    )
    kinds = [e["EventType"] for e in r.json()]
    assert kinds.count(4) == 1 and kinds.count(5) == 1 and 10 not in kinds
    scheduled = next(e for e in r.json() if e["EventType"] == 4)
    assert scheduled["Name"] == "BuiltIn::HttpActivity"
    assert json.loads(scheduled["Input"])[0]["uri"] == args["uri"]


def test_managed_identity_token_source_is_refused_by_name(host: DurableHost, server: _Server) -> None:
    before = len(server.seen)
    args = {"uri": f"{server.url}/echo", "resource": "https://management.core.windows.net"}
    out = host.completed(host.start("http_call_caught", args))
    assert "ManagedIdentityUnavailableError" in out["error"]
    assert "https://management.core.windows.net" in out["error"]
    assert len(server.seen) == before  # nothing was sent without the token


def test_unreachable_endpoint_fails_the_task(host: DurableHost, free_port) -> None:
    out = host.completed(host.start("http_call_caught", {"uri": f"http://127.0.0.1:{free_port()}/nothing"}))
    assert "ClientConnectorError" in out["error"] or "Connect" in out["error"], out
