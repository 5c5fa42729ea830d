"""Bad input gets the Azure host's answers (durable-protocol.md §4.3), and none of it crashes funchost
or loses state: after every test the host still answers and an instance finished earlier is intact.
"""

from __future__ import annotations

import json
import select
import socket
import uuid
from typing import Iterator
from urllib.parse import quote, urlsplit

import pytest

try:
    from test_durable_kit import DurableHost, start_host
except ImportError:  # tests/ is a package
    from tests.test_durable_kit import DurableHost, start_host

NOT_AN_ORCHESTRATOR = (
    "The function 'no_such_orchestrator' doesn't exist, is disabled, or is not an orchestrator function."
)


@pytest.fixture(scope="module")
def host(funchost_process, tmp_path_factory) -> Iterator[DurableHost]:
    h = start_host(funchost_process, tmp_path_factory.mktemp("durable-bad-input"))
    yield h
    h.close()
    h.proc.stop()


@pytest.fixture(scope="module")
def sentinel(host: DurableHost) -> tuple[str, list[str]]:
    iid = f"sentinel-{uuid.uuid4().hex[:8]}"
    host.start("chain", ["Sentinel"], instance_id=iid)
    output = host.completed(iid)
    assert output == ["Hello Sentinel!"]
    return iid, output


@pytest.fixture(autouse=True)
def host_survives(host: DurableHost, sentinel: tuple[str, list[str]]) -> Iterator[None]:
    yield
    assert host.alive(), "funchost stopped answering after bad input"
    status = host.status(sentinel[0])
    assert status is not None and status["runtimeStatus"] == "Completed" and status["output"] == sentinel[1]
    # And it still does work.
    assert host.completed(host.start("chain", ["after"])) == ["Hello after!"]


# -- starting -------------------------------------------------------------------------------------


def test_unknown_orchestrator_via_the_client(host: DurableHost) -> None:
    r = host.api("POST", "orchestrators/no_such_orchestrator", data="1")
    assert r.status_code == 400
    assert r.json()["error"].startswith(NOT_AN_ORCHESTRATOR)


def test_unknown_orchestrator_via_the_public_api(host: DurableHost) -> None:
    r = host.webhook("POST", "orchestrators/no_such_orchestrator", json=1)
    assert r.status_code == 400
    body = r.json()
    assert body["Message"] == "One or more of the arguments submitted is incorrect"
    assert body["ExceptionMessage"].startswith(NOT_AN_ORCHESTRATOR)


def test_activity_name_is_not_an_orchestrator(host: DurableHost) -> None:
    r = host.webhook("POST", "orchestrators/hello", json="x")
    assert r.status_code == 400
    assert (
        "The function 'hello' doesn't exist, is disabled, or is not an orchestrator function."
        in r.json()["ExceptionMessage"]
    )


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2", b"\xff\xfe"])
def test_invalid_json_body_is_400(host: DurableHost, body: bytes) -> None:
    r = host.webhook("POST", "orchestrators/chain", data=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text


@pytest.mark.parametrize(
    "instance_id",
    [
        "x" * 257,
        "@entity@key",
        "back\\slash",
        "hash#tag",
        "ques?tion",
        "ctrl\x01char",
    ],
    ids=["257-chars", "starts-with-at", "backslash", "hash", "question-mark", "control-char"],
)
def test_malformed_instance_ids_are_rejected(host: DurableHost, instance_id: str) -> None:
    quoted = quote(instance_id, safe="")
    r = host.webhook("POST", f"orchestrators/chain/{quoted}", json=["x"])
    assert r.status_code == 400, f"{instance_id!r}: {r.status_code} {r.text}"
    assert host.webhook("GET", f"instances/{quoted}").status_code in (400, 404)


def test_instance_id_with_an_encoded_slash_is_rejected(host: DurableHost) -> None:
    r = host.webhook("POST", "orchestrators/chain/a%2Fb", json=["x"])
    assert r.status_code in (400, 404), r.text


def test_instance_id_with_a_slash_via_the_client_is_rejected(host: DurableHost) -> None:
    # start_new does not encode the id: the extension sees orchestrators/chain/a/b, which no route matches.
    r = host.api("POST", "orchestrators/chain/a%2Fb", data='["x"]')
    assert r.status_code in (400, 404), r.text
    assert host.webhook("GET", "instances/a%2Fb").status_code in (400, 404)


def test_instance_id_of_256_chars_is_accepted(host: DurableHost) -> None:
    iid = ("m" * 224) + uuid.uuid4().hex
    assert len(iid) == 256
    r = host.webhook("POST", f"orchestrators/chain/{iid}", json=["Max"])
    assert r.status_code == 202, r.text
    assert r.json()["id"] == iid
    assert host.completed(iid) == ["Hello Max!"]


def test_empty_instance_id_never_names_an_instance(host: DurableHost) -> None:
    # An empty id segment either means "generate one" or matches no route; it never names an instance.
    r = host.webhook("POST", "orchestrators/chain/", json=["Empty"])
    assert r.status_code in (202, 400, 404), r.text
    if r.status_code == 202:
        iid = r.json()["id"]
        assert iid and len(iid) == 32
        assert host.completed(iid) == ["Hello Empty!"]


def test_starting_a_running_instance_id_again_fails(host: DurableHost) -> None:
    iid = f"dup-{uuid.uuid4().hex[:8]}"
    host.start("approval", {"timeout": 120}, instance_id=iid)
    host.wait_until(iid, lambda s: s and s["customStatus"] == "waiting", "waiting")
    r = host.webhook("POST", f"orchestrators/chain/{iid}", json=["dup"])
    assert 400 <= r.status_code < 600 and r.status_code != 404, r.text
    status = host.status(iid)
    assert status["name"] == "approval" and status["runtimeStatus"] == "Running"
    host.webhook("POST", f"instances/{iid}/terminate", params={"reason": "cleanup"})


def test_starting_a_completed_instance_id_again_runs_it_anew(host: DurableHost) -> None:
    iid = f"again-{uuid.uuid4().hex[:8]}"
    host.start("chain", ["One"], instance_id=iid)
    assert host.completed(iid) == ["Hello One!"]
    host.start("chain", ["Two"], instance_id=iid)
    host.wait_until(iid, lambda s: s and s["output"] == ["Hello Two!"], "second run completed")


# -- unknown and finished instances ---------------------------------------------------------------


def test_unknown_instance_answers_404(host: DurableHost) -> None:
    missing = f"missing-{uuid.uuid4().hex}"
    assert host.webhook("GET", f"instances/{missing}").status_code == 404
    assert host.webhook("POST", f"instances/{missing}/raiseEvent/E", json=1).status_code == 404
    assert host.webhook("POST", f"instances/{missing}/terminate", params={"reason": "r"}).status_code == 404
    assert host.webhook("POST", f"instances/{missing}/suspend", params={"reason": "r"}).status_code == 404
    assert host.webhook("POST", f"instances/{missing}/resume", params={"reason": "r"}).status_code == 404
    assert host.webhook("POST", f"instances/{missing}/rewind", params={"reason": "r"}).status_code == 404
    assert host.webhook("DELETE", f"instances/{missing}").status_code == 404


def test_status_of_an_unknown_instance_has_an_empty_body(host: DurableHost) -> None:
    # HttpApiHandler answers request.CreateResponse(HttpStatusCode.NotFound): no body at all.
    r = host.webhook("GET", f"instances/missing-{uuid.uuid4().hex}")
    assert r.status_code == 404 and r.text.strip() == "", r.text


def test_unknown_instance_via_the_client(host: DurableHost) -> None:
    missing = f"missing-{uuid.uuid4().hex}"
    r = host.raise_event(missing, "E", 1)
    assert r.status_code == 400 and r.json()["error"] == f"No instance with ID {missing} found."
    r = host.api("POST", f"terminate/{missing}")
    assert r.status_code == 400
    assert host.api("GET", f"status/{missing}").status_code == 404


def test_raise_event_on_a_completed_instance_is_gone(host: DurableHost, sentinel: tuple[str, list[str]]) -> None:
    iid = sentinel[0]
    assert host.webhook("POST", f"instances/{iid}/raiseEvent/Late", json={"a": 1}).status_code == 410
    r = host.raise_event(iid, "Late", 1)
    assert r.status_code == 400
    assert r.json()["error"] == f"Instance with ID {iid} is gone: either completed or failed"


def test_raise_event_on_a_failed_instance_is_gone(host: DurableHost) -> None:
    iid = host.start("orch_raises")
    assert host.wait(iid)["runtimeStatus"] == "Failed"
    assert host.webhook("POST", f"instances/{iid}/raiseEvent/Late", json=1).status_code == 410


def test_raise_event_needs_json(host: DurableHost) -> None:
    iid = host.start("approval", {"timeout": 120})
    host.wait_until(iid, lambda s: s and s["customStatus"] == "waiting", "waiting")
    r = host.webhook(
        "POST", f"instances/{iid}/raiseEvent/Approval", data="plain", headers={"Content-Type": "text/plain"}
    )
    assert r.status_code == 400
    r = host.webhook(
        "POST", f"instances/{iid}/raiseEvent/Approval", data="{broken", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    status = host.status(iid)
    assert status["runtimeStatus"] == "Running" and status["output"] is None
    assert host.webhook("POST", f"instances/{iid}/raiseEvent/Approval", json="ok").status_code == 202
    assert host.completed(iid) == {"approved": "ok"}


def test_suspend_twice_is_an_invalid_state(host: DurableHost) -> None:
    iid = host.start("approval", {"timeout": 120})
    host.wait_until(iid, lambda s: s and s["customStatus"] == "waiting", "waiting")
    assert host.webhook("POST", f"instances/{iid}/suspend", params={"reason": "1"}).status_code == 202
    host.wait(iid, until=frozenset({"Suspended"}))
    assert host.webhook("POST", f"instances/{iid}/suspend", params={"reason": "2"}).status_code == 500
    assert host.webhook("POST", f"instances/{iid}/resume", params={"reason": "3"}).status_code == 202
    host.wait(iid, until=frozenset({"Running"}))
    assert host.webhook("POST", f"instances/{iid}/resume", params={"reason": "4"}).status_code == 500
    assert host.webhook("POST", f"instances/{iid}/terminate", params={"reason": "end"}).status_code == 202
    assert host.wait(iid)["runtimeStatus"] == "Terminated"


def test_purge_by_filter_needs_created_time_from(host: DurableHost) -> None:
    assert host.webhook("DELETE", "instances").status_code == 400
    r = host.webhook("DELETE", "instances", params={"createdTimeFrom": "not-a-date"})
    assert r.status_code == 400


# -- oversized bodies ---------------------------------------------------------------------------------


def _send_oversized(host: DurableHost, path: str, length: int) -> int:
    """POST a body of ``length`` bytes; return the status code of the answer.

    The host may answer as soon as it sees Content-Length (as Kestrel does) or once it has read past
    its limit; either way it must answer 413, and must not wait for the whole body.
    """
    parts = urlsplit(host.base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
            f"x-functions-key: {host.master_key}\r\nContent-Length: {length}\r\n\r\n"
        )
        sock.sendall(head.encode() + b"[")
        sent, chunk = 1, b"1," * (256 * 1024)
        while sent < length and not select.select([sock], [], [], 0)[0]:
            piece = chunk[: length - sent]
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        response = b""
        try:
            while b"\r\n" not in response:
                data = sock.recv(4096)
                if not data:
                    break
                response += data
        except ConnectionResetError:
            pass
    status_line = response.split(b"\r\n", 1)[0].decode("latin-1")
    assert status_line.startswith("HTTP/1.1 "), f"no HTTP answer to an oversized body: {response[:200]!r}"
    return int(status_line.split()[1])


@pytest.mark.parametrize(
    "path", ["/api/echo", "/api/orchestrators/chain", "/runtime/webhooks/durabletask/orchestrators/chain"]
)
def test_oversized_bodies_are_rejected_with_413(host: DurableHost, path: str) -> None:
    assert _send_oversized(host, path, 210 * 1024 * 1024) == 413


def test_large_but_allowed_input_round_trips(host: DurableHost) -> None:
    big = "y" * 200_000  # above Azure Storage's 45 KB message limit, far below the request limit
    iid = host.start("chain", ["small", big])
    assert host.completed(iid) == ["Hello small!", f"Hello {big}!"]
    assert json.loads(host.status(iid)["input"]) == ["small", big]
