"""funchost's Durable rpc listener (``rpcBaseUrl``) needs a key, and the SDK's client still works through it.

The rpc listener serves the whole management API (list instances with their inputs, terminate, purge, raise
events). It answers 401 to a request without the durabletask system key or the master key, like the public
``/runtime/webhooks/durabletask`` API, while the unmodified ``DurableOrchestrationClient`` of the app (which
builds its URLs from ``rpcBaseUrl`` alone) keeps starting, querying, signalling and purging instances: funchost
gives it the key in a header, never in a URL.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Iterator

import pytest
import requests

try:
    from test_durable_kit import DurableHost, start_host
except ImportError:  # tests/ is a package
    from tests.test_durable_kit import DurableHost, start_host


@pytest.fixture(scope="module")
def host(funchost_process, tmp_path_factory) -> Iterator[DurableHost]:
    h = start_host(funchost_process, tmp_path_factory.mktemp("durable-rpc-key"))
    yield h
    h.close()
    h.proc.stop()


def rpc_base(host: DurableHost) -> str:
    found = re.findall(r"Durable rpc listener: (http://127\.0\.0\.1:\d+/durabletask/)", host.proc.output())
    assert found, f"funchost did not log its rpc listener:\n{host.proc.output()[-3000:]}"
    return str(found[-1])


def test_the_rpc_listener_refuses_requests_without_the_key(host: DurableHost) -> None:
    base = rpc_base(host)
    iid = host.start("chain", ["Oslo"])
    host.completed(iid)
    attempts = [
        ("GET", "instances/", {}),
        ("GET", f"instances/{iid}", {}),
        ("DELETE", f"instances/{iid}", {}),
        ("POST", f"instances/{iid}/terminate?reason=x", {}),
        ("POST", f"instances/{iid}/raiseEvent/E", {"json": 1}),
        ("POST", "orchestrators/chain", {"json": ["x"]}),
    ]
    for method, path, extra in attempts:
        for headers in ({}, {"x-functions-key": "wrong"}, {"x-functions-key": host.function_key}):
            r = requests.request(method, base + path, headers=headers, timeout=30, **extra)  # type: ignore[arg-type]
            assert r.status_code == 401, f"{method} {path} with {list(headers)}: {r.status_code} {r.text[:300]}"
            assert iid not in r.text
    # the instance is still there: nothing above reached the handlers
    assert host.status(iid) is not None


def test_the_rpc_listener_answers_with_the_system_or_master_key(host: DurableHost) -> None:
    base = rpc_base(host)
    iid = host.start("chain", ["Lima"])
    host.completed(iid)
    for key in (host.system_key, host.master_key):
        r = requests.get(base + f"instances/{iid}", headers={"x-functions-key": key}, timeout=30)
        assert r.status_code == 200 and r.json()["instanceId"] == iid, r.text
    r = requests.get(base + f"instances/{iid}", params={"code": host.system_key}, timeout=30)
    assert r.status_code == 200, r.text


def test_the_sdk_client_still_drives_instances_through_the_rpc_listener(host: DurableHost) -> None:
    iid = f"rpc-{uuid.uuid4().hex[:10]}"
    assert host.start("approval", {"timeout": 120}, instance_id=iid) == iid  # client.start_new
    host.wait_until(iid, lambda s: s is not None and s["customStatus"] == "waiting", "waiting for Approval")
    r = host.api("GET", f"status/{iid}")  # client.get_status
    assert r.status_code == 200 and r.json()["found"] is True, r.text
    assert host.raise_event(iid, "Approval", True).status_code == 202, "client.raise_event"
    host.wait(iid)
    listed = host.api("GET", "instances", params={"prefix": iid})  # client.get_status_by
    assert listed.status_code == 200 and iid in json.dumps(listed.json()), listed.text[:500]
    purged = host.api("DELETE", f"purge/{iid}")  # client.purge_instance_history
    assert purged.status_code == 200, purged.text
    assert host.status(iid) is None


def test_unknown_instance_history_is_404(host: DurableHost) -> None:
    r = requests.get(
        f"{host.base_url}/admin/funchost/instances/no-such-{uuid.uuid4().hex[:8]}/history",
        headers={"x-functions-key": host.master_key},
        timeout=30,
    )
    assert r.status_code == 404, r.text
    assert "No instance with ID" in r.json()["ExceptionMessage"]
    bad = requests.get(
        f"{host.base_url}/admin/funchost/instances/@bad/history",
        headers={"x-functions-key": host.master_key},
        timeout=30,
    )
    assert bad.status_code == 400, bad.text


def test_list_paging_numbers_are_bounded(host: DurableHost) -> None:
    for top in ("0", "-1", str(10**30)):
        r = host.webhook("GET", "instances", params={"top": top})
        assert r.status_code == 400 and "top must be" in r.json()["ExceptionMessage"], r.text
    r = host.webhook("GET", "instances", params={"top": "5"}, headers={"x-ms-continuation-token": str(10**30)})
    assert r.status_code == 400, r.text
    assert host.webhook("GET", "instances", params={"top": "5"}).status_code == 200
