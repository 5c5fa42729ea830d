"""Durable entities under funchost (docs/durable-protocol-extra.md, part 1), against a real funchost + Azurite.

The app (tests/apps/durable_extras_app) uses the unmodified SDK: orchestrations call and signal entities, HTTP
functions signal and read them through ``DurableOrchestrationClient``, and the tests also use the public
``/runtime/webhooks/durabletask/entities`` API and funchost's raw history.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from tests.test_durable_kit import DurableHost, wait_for

APP = Path(__file__).resolve().parent / "apps" / "durable_extras_app"


@pytest.fixture(scope="module")
def host(funchost_process, tmp_path_factory) -> Iterator[DurableHost]:
    h = DurableHost(funchost_process(APP), tmp_path_factory.mktemp("durable-extras"))
    yield h
    h.close()
    h.proc.stop()


def _key() -> str:
    return uuid.uuid4().hex[:10]


def _raw_history(host: DurableHost, instance_id: str) -> list[dict[str, Any]]:
    r = host.http.get(
        f"{host.base_url}/admin/funchost/instances/{instance_id}/history",
        headers={"x-functions-key": host.master_key},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return list(r.json())


def _read(host: DurableHost, name: str, key: str) -> dict[str, Any]:
    r = host.api("GET", f"entity/{name}/{key}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_calls_and_signals_run_in_order_with_results_and_errors(host: DurableHost) -> None:
    key = _key()
    iid = host.start("counter_calls", key)
    out = host.completed(iid)
    # signal add(3) is sent before call add(2): the entity runs them in that order
    assert out == {"afterAdd": 5, "get": 5, "failure": "counter refuses: boom", "getAfterFailure": 5}
    assert _read(host, "Counter", key) == {"exists": True, "state": 5}

    history = _raw_history(host, iid)
    sent = [e for e in history if e["EventType"] == 14]
    assert [e["EventId"] for e in sent] == [0, 1, 2, 3, 4]
    assert {e["InstanceId"] for e in sent} == {f"@counter@{key}"}
    assert {e["Name"] for e in sent} == {"op"}
    requests = [json.loads(e["Input"]) for e in sent]
    assert [r["op"] for r in requests] == ["add", "add", "get", "fail", "get"]
    assert requests[0]["signal"] is True and "signal" not in requests[1]
    # the action's input (JSON text) is serialized once more, as RequestMessage.SetInput does
    assert requests[0]["input"] == json.dumps("3") and requests[2]["input"] == json.dumps("null")
    assert {r["parent"] for r in requests} == {iid}
    # each call's answer is the EventRaised named by its request id; the failed one carries exceptionType
    raised = {e["Name"]: json.loads(e["Input"]) for e in history if e["EventType"] == 15}
    assert raised[requests[1]["id"]] == {"result": "5"}
    assert raised[requests[3]["id"]] == {"result": json.dumps("counter refuses: boom"), "exceptionType": "Error"}
    assert requests[0]["id"] not in raised  # a signal gets no answer


def test_replayed_request_ids_are_stable(host: DurableHost) -> None:
    key = _key()
    iid = host.start("counter_calls", key)
    host.completed(iid)
    history = _raw_history(host, iid)
    ids = [json.loads(e["Input"])["id"] for e in history if e["EventType"] == 14]
    assert len(set(ids)) == 5 and all(uuid.UUID(i) for i in ids)


def test_many_signals_arrive_in_order_across_batches(host: DurableHost) -> None:
    # maxEntityOperationBatchSize is 7 in the app's host.json: 30 signals + 1 call take several batches
    key = _key()
    iid = host.start("journal_writer", {"key": key, "prefix": "e", "n": 30})
    assert host.completed(iid) == [f"e{i}" for i in range(30)]


def test_parallel_calls_to_different_entities(host: DurableHost) -> None:
    keys = [_key() for _ in range(4)]
    iid = host.start("parallel_calls", keys)
    assert host.completed(iid) == [1, 1, 1, 1]
    iid = host.start("parallel_calls", keys[:2])
    assert host.completed(iid) == [2, 2]


def test_client_signal_and_read_through_the_sdk_and_the_webhook_api(host: DurableHost) -> None:
    key = _key()
    assert _read(host, "Counter", key) == {"exists": False, "state": None}
    r = host.api("POST", f"entity/Counter/{key}/add", data=json.dumps(7))
    assert r.status_code == 202, r.text
    wait_for(lambda: _read(host, "Counter", key)["state"] == 7, "the client's signal to be processed")

    # the public API: POST ?op= with a JSON body, GET the state, GET the list, DELETE signals "delete". The body is
    # what the Python client posts: the JSON text as a JSON string (a Python entity's get_input decodes twice)
    r = host.webhook("POST", f"entities/counter/{key}", params={"op": "add"}, json=json.dumps(5))
    assert r.status_code == 202, r.text
    wait_for(lambda: host.webhook("GET", f"entities/Counter/{key}").json() == 12, "the webhook signal")
    listed = host.webhook("GET", "entities/Counter", params={"fetchState": "true"}).json()
    assert {"entityId": {"name": "counter", "key": key}, "state": 12} in [
        {k: v for k, v in item.items() if k != "lastOperationTime"} for item in listed
    ]
    mine = [i for i in host.webhook("GET", "entities/Counter").json() if i["entityId"]["key"] == key]
    assert mine[0]["state"] is None and mine[0]["lastOperationTime"].endswith("Z")  # DurableEntityStatus
    r = host.webhook("DELETE", f"entities/Counter/{key}")
    assert r.status_code == 202
    wait_for(lambda: host.webhook("GET", f"entities/Counter/{key}").status_code == 404, "the entity deleted")
    assert _read(host, "Counter", key) == {"exists": False, "state": None}


def test_signal_to_an_unknown_entity_function_is_refused(host: DurableHost) -> None:
    r = host.api("POST", "entity/NoSuchEntity/k/add", data=json.dumps(1))
    assert r.status_code == 400
    assert "The operation failed with an unexpected status code 400" in r.json()["error"]
    r = host.webhook("POST", "entities/NoSuchEntity/k", params={"op": "add"})
    assert r.status_code == 400
    assert "doesn't exist, is disabled, or is not an entity function" in r.json()["ExceptionMessage"]
    assert "'Counter', 'Journal'" in r.json()["ExceptionMessage"]


def test_calling_an_unknown_entity_fails_the_orchestration(host: DurableHost) -> None:
    iid = host.start("unknown_entity")
    status = host.wait(iid)
    assert status["runtimeStatus"] == "Failed"
    assert "The function 'nosuchentity' doesn't exist, is disabled, or is not an entity function" in status["output"]


def test_a_signal_is_sent_when_the_episode_commits(host: DurableHost) -> None:
    key = _key()
    iid = host.start("signal_then_wait", key)
    # the orchestration is still waiting for "go", but its first episode committed: the signal was delivered
    wait_for(lambda: _read(host, "Journal", key)["state"] == ["from-orchestration"], "the orchestration's signal")
    assert host.status(iid)["runtimeStatus"] == "Running"
    r = host.webhook("POST", f"instances/{iid}/raiseEvent/go", json=1)
    assert r.status_code == 202
    assert host.completed(iid) == "done"


def test_entity_batches_survive_sigkill_exactly_once(host: DurableHost) -> None:
    """Killed while the entity works through its queue (batches of 7, 20 ms per operation), restarted on the same
    state: every operation is applied once, in order (a batch's state and the removal of its messages commit
    together; a batch cut by the kill runs again)."""
    key = _key()
    iid = host.start("journal_writer", {"key": key, "prefix": "s", "n": 60, "slow": True})
    wait_for(lambda: len(_read(host, "Journal", key)["state"] or []) >= 7, "the first batches to commit", timeout=30)
    host.proc.kill()
    host.proc.restart()
    host.http.close()
    host.http = requests.Session()
    wait_for(host.alive, "funchost to answer after the restart")
    assert host.completed(iid, timeout=60) == [f"s{i}" for i in range(60)]
