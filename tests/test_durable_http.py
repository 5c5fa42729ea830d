"""HTTP triggers under funchost: route templates, auth levels and keys, request and response objects,
sync and async functions, and the keys the public Durable API requires.
"""

from __future__ import annotations

from typing import Iterator

import pytest

try:
    from test_durable_kit import DurableHost, start_host
except ImportError:  # tests/ is a package
    from tests.test_durable_kit import DurableHost, start_host


@pytest.fixture(scope="module")
def host(funchost_process, tmp_path_factory) -> Iterator[DurableHost]:
    h = start_host(funchost_process, tmp_path_factory.mktemp("durable-http"))
    yield h
    h.close()
    h.proc.stop()


# -- auth levels ------------------------------------------------------------------------------------


def test_anonymous_function_needs_no_key(host: DurableHost) -> None:
    r = host.api("GET", "anon/echo/abc", key=None)
    assert r.status_code == 200
    assert r.json()["id"] == "abc"


@pytest.mark.parametrize("key", [None, "not-a-real-key"])
def test_function_level_rejects_missing_or_wrong_key(host: DurableHost, key: str | None) -> None:
    assert host.api("GET", "items/1", key=key).status_code == 401
    assert host.api("POST", "orchestrators/chain", key=key, data="[]").status_code == 401


def test_function_level_accepts_the_function_key_as_header_or_code(host: DurableHost) -> None:
    assert host.api("GET", "items/7").json() == {"id": "7"}
    by_code = host.api("GET", "items/8", key=None, params={"code": host.function_key})
    assert by_code.status_code == 200 and by_code.json() == {"id": "8"}
    assert host.api("GET", "items/9", key="master").status_code == 200


def test_admin_level_needs_the_master_key(host: DurableHost) -> None:
    assert host.api("GET", "secure/ping", key=None).status_code == 401
    assert host.api("GET", "secure/ping", key="function").status_code == 401
    assert host.api("GET", "secure/ping", key="system").status_code == 401
    r = host.api("GET", "secure/ping", key="master")
    assert r.status_code == 200 and r.json() == {"admin": True}
    assert host.api("GET", "secure/ping", key=None, params={"code": host.master_key}).status_code == 200


@pytest.mark.parametrize("key", [None, "wrong", "function"])
def test_durable_webhook_api_rejects_non_system_keys(host: DurableHost, key: str | None) -> None:
    assert host.webhook("GET", "instances/anything", key=key).status_code == 401
    assert host.webhook("POST", "orchestrators/chain", key=key, json=["x"]).status_code == 401


@pytest.mark.parametrize("key", ["system", "master"])
def test_durable_webhook_api_accepts_the_system_and_master_keys(host: DurableHost, key: str) -> None:
    assert host.webhook("GET", "instances/no-such-instance", key=key).status_code == 404


def test_keys_are_never_printed_in_full(host: DurableHost) -> None:
    output = host.proc.output()
    for secret in (host.master_key, host.function_key, host.system_key):
        assert secret not in output


# -- route templates --------------------------------------------------------------------------------


def test_optional_route_parameter(host: DurableHost) -> None:
    assert host.api("GET", "items/42").json() == {"id": "42"}
    assert host.api("GET", "items").json() == {"id": None}


def test_catch_all_route_parameter(host: DurableHost) -> None:
    r = host.api("GET", "files/a/b/c.txt", key=None)
    assert r.status_code == 200 and r.json() == {"rest": "a/b/c.txt"}


def test_int_constrained_route_parameter(host: DurableHost) -> None:
    assert host.api("GET", "double/21", key=None).json() == {"double": 42}
    assert host.api("GET", "double/abc", key=None).status_code == 404


def test_route_matching_ignores_case(host: DurableHost) -> None:
    r = host.api("GET", "ANON/Echo/MiXeD", key=None)
    assert r.status_code == 200 and r.json()["id"] == "MiXeD"


def test_unknown_route_and_wrong_method(host: DurableHost) -> None:
    assert host.api("GET", "no/such/route", key=None).status_code == 404
    assert host.api("POST", "only-get", key=None).status_code in (404, 405)
    assert host.api("GET", "only-get", key=None).status_code == 200


def test_query_parameters_reach_the_function(host: DurableHost) -> None:
    r = host.api("GET", "anon/echo/q", key=None, params={"a": "1", "b": "two words"})
    assert r.json()["params"] == {"a": "1", "b": "two words"}
    assert r.json()["method"] == "GET"


# -- request and response objects -------------------------------------------------------------------


def test_http_response_status_headers_and_mimetype(host: DurableHost) -> None:
    r = host.api("GET", "custom", key=None)
    assert r.status_code == 201
    assert r.headers["X-Custom"] == "yes"
    assert r.headers["Content-Type"].startswith("text/csv")
    assert r.text == "a,b\n1,2\n"


def test_returned_str_becomes_a_200_body(host: DurableHost) -> None:
    r = host.api("GET", "plain", key=None)
    assert r.status_code == 200
    assert r.text == "plain text from a str return"


def test_async_function_gets_method_body_headers_and_params(host: DurableHost) -> None:
    r = host.api("PUT", "echo", key=None, json={"k": [1, 2]}, headers={"X-Test": "hdr"}, params={"p": "v"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["method"] == "PUT"
    assert body["json"] == {"k": [1, 2]}
    assert body["header"] == "hdr"
    assert body["params"] == {"p": "v"}


def test_binary_body_is_passed_through_unchanged(host: DurableHost) -> None:
    payload = bytes(range(256)) * 40
    r = host.api("POST", "echo", key=None, data=payload, headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 200 and r.json()["length"] == len(payload)


def test_unhandled_exception_is_a_500_and_the_host_survives(host: DurableHost) -> None:
    r = host.api("GET", "raises", key=None)
    assert r.status_code == 500
    assert host.alive()
    assert host.api("GET", "plain", key=None).status_code == 200
