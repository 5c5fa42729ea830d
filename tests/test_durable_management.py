"""Instance management under funchost: check-status responses, status queries, terminate, suspend,
resume, rewind, restart, purge (by id and by filter), listing, and wait-for-completion.

Each operation is driven through the app's HTTP functions (the unmodified DurableOrchestrationClient
calling funchost's rpcBaseUrl API) and, where the protocol fixes status codes (§4.3), through the
public /runtime/webhooks/durabletask API.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import datetime, timezone
from typing import Iterator

import pytest

try:
    from test_durable_kit import DurableHost, event_types, start_host
except ImportError:  # tests/ is a package
    from tests.test_durable_kit import DurableHost, event_types, start_host

MANAGEMENT_KEYS = {
    "id",
    "statusQueryGetUri",
    "sendEventPostUri",
    "terminatePostUri",
    "rewindPostUri",
    "purgeHistoryDeleteUri",
    "restartPostUri",
    "suspendPostUri",
    "resumePostUri",
}
SECONDS_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture(scope="module")
def host(funchost_process, tmp_path_factory) -> Iterator[DurableHost]:
    h = start_host(funchost_process, tmp_path_factory.mktemp("durable-management"))
    yield h
    h.close()
    h.proc.stop()


def _uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _waiting(host: DurableHost, timeout: int = 120) -> str:
    """An 'approval' instance that is Running and waiting (its timer is far away)."""
    iid = host.start("approval", {"timeout": timeout})
    host.wait_until(iid, lambda s: s and s["customStatus"] == "waiting", "waiting for Approval")
    return iid


# -- check-status response and status queries ---------------------------------------------------


def test_check_status_response_has_the_management_urls(host: DurableHost) -> None:
    iid = _uid("check")
    r = host.api("POST", f"orchestrators/chain/{iid}", data=json.dumps(["Rome"]))

    assert r.status_code == 202, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers["Retry-After"] == "10"
    body = r.json()
    assert set(body) == MANAGEMENT_KEYS
    assert body["id"] == iid
    assert r.headers["Location"] == body["statusQueryGetUri"]
    for key in MANAGEMENT_KEYS - {"id"}:
        # create_check_status_response swaps in the request's origin and substitutes the id.
        assert body[key].startswith(f"{host.base_url}/runtime/webhooks/durabletask/instances/{iid}"), body[key]
    # The URLs work as given (in Azure they carry the system key), e.g. following Location.
    host.completed(iid)
    followed = host.http.get(body["statusQueryGetUri"], timeout=30)
    assert followed.status_code == 200, followed.text
    assert followed.json()["output"] == ["Hello Rome!"]
    raised = host.http.post(body["sendEventPostUri"].replace("{eventName}", "Late"), json=1, timeout=30)
    assert raised.status_code == 410, "raising an event on a completed instance is Gone"


def test_management_payload_substitutes_the_instance_id(host: DurableHost) -> None:
    r = host.api("GET", "payload/some-instance-42")
    assert r.status_code == 200
    payload = r.json()
    assert set(payload) == MANAGEMENT_KEYS
    assert payload["id"] == "some-instance-42"
    assert all("/instances/some-instance-42" in payload[k] for k in MANAGEMENT_KEYS - {"id"})
    assert not any("INSTANCEID" in v for v in payload.values())


def test_status_of_a_running_instance_is_202_with_location(host: DurableHost) -> None:
    iid = _waiting(host)
    r = host.webhook("GET", f"instances/{iid}")
    assert r.status_code == 202, r.text
    assert r.headers.get("Location") and f"/instances/{iid}" in r.headers["Location"]
    assert r.headers.get("Retry-After") == "5"
    body = r.json()
    assert body["name"] == "approval"
    assert body["instanceId"] == iid
    assert body["runtimeStatus"] == "Running"
    assert body["input"] == json.dumps({"timeout": 120})
    assert body["customStatus"] == "waiting"
    assert body["output"] is None
    assert SECONDS_UTC.fullmatch(body["createdTime"]) and SECONDS_UTC.fullmatch(body["lastUpdatedTime"])
    assert "historyEvents" not in body
    assert host.webhook("POST", f"instances/{iid}/terminate", params={"reason": "cleanup"}).status_code == 202


def test_status_of_completed_and_failed_instances(host: DurableHost) -> None:
    done = host.start("chain", ["A"])
    host.completed(done)
    assert host.webhook("GET", f"instances/{done}").status_code == 200

    failed = host.start("orch_raises")
    host.wait(failed)
    r = host.webhook("GET", f"instances/{failed}")
    assert r.status_code == 200 and r.json()["runtimeStatus"] == "Failed"
    r = host.webhook("GET", f"instances/{failed}", params={"returnInternalServerErrorOnFailure": "true"})
    assert r.status_code == 500 and r.json()["runtimeStatus"] == "Failed"


def test_show_input_false_hides_the_input(host: DurableHost) -> None:
    iid = host.start("chain", ["Hidden"])
    host.completed(iid)
    body = host.webhook("GET", f"instances/{iid}", params={"showInput": "false"}).json()
    assert body.get("input") is None
    assert body["output"] == ["Hello Hidden!"]


def test_client_get_status_with_and_without_history(host: DurableHost) -> None:
    iid = host.start("chain", ["Kyiv"])
    host.completed(iid)
    plain = host.api("GET", f"status/{iid}")
    assert plain.status_code == 200
    assert plain.json()["runtimeStatus"] == "Completed" and plain.json()["output"] == ["Hello Kyiv!"]
    assert "historyEvents" not in plain.json()

    full = host.api("GET", f"status/{iid}", params={"showHistory": "1", "showHistoryOutput": "1"}).json()
    types = [e["EventType"] for e in full["historyEvents"]]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionCompleted"
    assert [e.get("Result") for e in full["historyEvents"] if e["EventType"] == "TaskCompleted"] == ["Hello Kyiv!"]

    unknown = host.api("GET", "status/no-such-instance-anywhere")
    assert unknown.status_code == 404 and unknown.json()["found"] is False


# -- listing ----------------------------------------------------------------------------------------


def test_list_instances_by_prefix_status_and_time(host: DurableHost) -> None:
    prefix = _uid("list")
    t0 = datetime.now(timezone.utc)
    ids = [host.start("chain", [str(i)], instance_id=f"{prefix}-{i}") for i in range(3)]
    for iid in ids:
        host.completed(iid)

    by_prefix = host.api("GET", "instances", params={"prefix": prefix})
    assert by_prefix.status_code == 200, by_prefix.text
    assert sorted(s["instanceId"] for s in by_prefix.json()) == sorted(ids)
    assert {s["runtimeStatus"] for s in by_prefix.json()} == {"Completed"}

    running_only = host.api("GET", "instances", params={"prefix": prefix, "status": "Running"})
    assert running_only.status_code == 200 and running_only.json() == []

    since = host.api("GET", "instances", params={"from": t0.isoformat(), "status": "Completed"})
    assert set(ids) <= {s["instanceId"] for s in since.json()}
    future = host.api("GET", "instances", params={"from": datetime(2999, 1, 1, tzinfo=timezone.utc).isoformat()})
    assert future.json() == []

    everything = host.api("GET", "instances", params={"all": "1"})
    assert set(ids) <= {s["instanceId"] for s in everything.json()}

    public = host.webhook("GET", "instances", params={"instanceIdPrefix": prefix})
    assert public.status_code == 200
    assert sorted(s["instanceId"] for s in public.json()) == sorted(ids)
    assert "x-ms-continuation-token" in {k.lower() for k in public.headers}


# -- terminate / suspend / resume ------------------------------------------------------------------


def test_terminate_a_running_instance(host: DurableHost) -> None:
    iid = _waiting(host)
    r = host.api("POST", f"terminate/{iid}", params={"reason": "stopped by test"})
    assert r.status_code == 202, r.text

    status = host.wait(iid, history=True)
    assert status["runtimeStatus"] == "Terminated"
    assert status["output"] == "stopped by test"
    assert "ExecutionTerminated" in event_types(status)
    # Terminating again is Gone (the client accepts 410 silently); events too.
    assert host.webhook("POST", f"instances/{iid}/terminate", params={"reason": "again"}).status_code == 410
    assert host.api("POST", f"terminate/{iid}", params={"reason": "again"}).status_code == 202
    assert host.webhook("POST", f"instances/{iid}/raiseEvent/Approval", json=1).status_code == 410
    assert host.status(iid)["output"] == "stopped by test"


def test_suspend_withholds_events_until_resume(host: DurableHost) -> None:
    iid = host.start("custom_status")
    host.wait_until(iid, lambda s: s and s["customStatus"], "waiting for go")
    assert host.api("POST", f"suspend/{iid}", params={"reason": "hold on"}).status_code == 202
    suspended = host.wait(iid, until=frozenset({"Suspended"}))
    assert host.webhook("GET", f"instances/{iid}").status_code == 202
    assert suspended["output"] is None

    assert host.raise_event(iid, "go", {"stage": "after resume"}).status_code == 202
    deadline = time.monotonic() + 0.75
    while time.monotonic() < deadline:  # the event must not be processed while suspended
        status = host.status(iid)
        assert status["runtimeStatus"] == "Suspended" and status["output"] is None, status
        time.sleep(0.05)

    assert host.api("POST", f"resume/{iid}", params={"reason": "go on"}).status_code == 202
    status = host.wait(iid, history=True)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == "done" and status["customStatus"] == {"stage": "after resume"}
    types = event_types(status)
    assert "ExecutionSuspended" in types and "ExecutionResumed" in types


def test_suspend_and_resume_of_a_completed_instance_are_gone(host: DurableHost) -> None:
    iid = host.start("chain", ["x"])
    host.completed(iid)
    assert host.webhook("POST", f"instances/{iid}/suspend", params={"reason": "r"}).status_code == 410
    assert host.webhook("POST", f"instances/{iid}/resume", params={"reason": "r"}).status_code == 410
    assert host.status(iid)["runtimeStatus"] == "Completed"


# -- rewind / restart -------------------------------------------------------------------------------


def test_rewind_a_failed_instance(host: DurableHost) -> None:
    key = uuid.uuid4().hex[:12]
    iid = host.start("activity_fails_uncaught", {"key": key, "fail_times": 1})
    failed = host.wait(iid)
    assert failed["runtimeStatus"] == "Failed" and f"attempt 1 of {key} failed" in failed["output"]

    r = host.api("POST", f"rewind/{iid}", params={"reason": "try again"})
    assert r.status_code == 202, r.text
    assert host.completed(iid) == "ok after 2"


def test_rewind_of_a_completed_instance_is_refused(host: DurableHost) -> None:
    iid = host.start("chain", ["y"])
    host.completed(iid)
    assert host.webhook("POST", f"instances/{iid}/rewind", params={"reason": "no"}).status_code == 410
    r = host.api("POST", f"rewind/{iid}")
    assert r.status_code == 400
    assert r.json()["error"] == "The rewind operation is only supported on failed orchestration instances."
    assert host.status(iid)["output"] == ["Hello y!"]


def test_restart_with_a_new_instance_id(host: DurableHost) -> None:
    iid = host.start("chain", ["Paris"])
    host.completed(iid)
    r = host.api("POST", f"restart/{iid}", params={"newId": "true"})
    assert r.status_code == 202, r.text
    result = r.json()["result"]
    # SDK quirk (§8.4): restart() returns the whole check-status payload from the extension.
    assert isinstance(result, dict) and set(result) >= {"id", "statusQueryGetUri"}, result
    new_id = result["id"]
    assert new_id != iid
    assert host.completed(new_id) == ["Hello Paris!"]
    assert host.status(new_id)["input"] == host.status(iid)["input"] == json.dumps(["Paris"])


def test_restart_with_the_same_instance_id_reruns_it(host: DurableHost) -> None:
    key = uuid.uuid4().hex[:12]
    iid = host.start("activity_fails_uncaught", {"key": key, "fail_times": 1})
    assert host.wait(iid)["runtimeStatus"] == "Failed"
    r = host.api("POST", f"restart/{iid}", params={"newId": "false"})
    assert r.status_code == 202, r.text
    assert host.completed(iid) == "ok after 2"


def test_restart_of_an_unknown_instance(host: DurableHost) -> None:
    # HttpApiHandler.HandleRestartInstanceRequestAsync: RestartAsync throws ArgumentException for an
    # unknown id, answered 400 "InstanceId does not match a valid orchestration instance." (not 404).
    r = host.webhook("POST", "instances/never-existed-123/restart")
    assert r.status_code == 400, r.text
    assert r.json()["Message"] == "InstanceId does not match a valid orchestration instance."
    via_client = host.api("POST", "restart/never-existed-123", params={"newId": "true"})
    assert via_client.status_code == 400
    assert via_client.json()["error"] == "The operation failed with an unexpected status code 400"


# -- purge ------------------------------------------------------------------------------------------


def test_purge_one_instance(host: DurableHost) -> None:
    iid = host.start("chain", ["Gone"])
    host.completed(iid)
    r = host.api("DELETE", f"purge/{iid}")
    assert r.status_code == 200 and r.json() == {"instancesDeleted": 1}
    assert host.status(iid) is None
    assert host.api("DELETE", f"purge/{iid}").json() == {"instancesDeleted": 0}
    assert host.webhook("DELETE", f"instances/{iid}").status_code == 404


def test_purge_by_filter_spares_running_instances(host: DurableHost) -> None:
    t0 = datetime.now(timezone.utc)
    done = [host.start("chain", [f"p{i}"]) for i in range(2)]
    failed = host.start("orch_raises")
    for iid in done:
        host.completed(iid)
    host.wait(failed)
    running = _waiting(host)

    r = host.api("POST", "purge", json={"from": t0.isoformat(), "statuses": ["Completed", "Failed"]})
    assert r.status_code == 200, r.text
    assert r.json() == {"instancesDeleted": 3}
    assert all(host.status(iid) is None for iid in [*done, failed])
    assert host.status(running)["runtimeStatus"] == "Running"

    # Nothing left to purge: the client reports 0, the public API answers 404.
    again = host.api("POST", "purge", json={"from": t0.isoformat(), "statuses": ["Completed", "Failed"]})
    assert again.json() == {"instancesDeleted": 0}
    public = host.webhook(
        "DELETE",
        "instances",
        params={"createdTimeFrom": t0.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "runtimeStatus": "Completed"},
    )
    assert public.status_code == 404
    host.api("POST", f"terminate/{running}")


# -- wait for completion ----------------------------------------------------------------------------


def test_wait_for_completion_returns_the_output(host: DurableHost) -> None:
    iid = host.start("chain", ["Quito"])
    r = host.api("GET", f"wait/{iid}", params={"timeout": "20000"})
    assert r.status_code == 200, r.text
    assert r.json() == ["Hello Quito!"]


def test_wait_for_completion_times_out_into_a_check_status_response(host: DurableHost) -> None:
    iid = _waiting(host)
    r = host.api("GET", f"wait/{iid}", params={"timeout": "300"})
    assert r.status_code == 202
    assert r.json()["id"] == iid
    host.api("POST", f"terminate/{iid}")


def test_wait_for_completion_of_a_failed_instance_is_500(host: DurableHost) -> None:
    iid = host.start("orch_raises")
    host.wait(iid)
    r = host.api("GET", f"wait/{iid}", params={"timeout": "5000"})
    assert r.status_code == 500
    assert r.json()["runtimeStatus"] == "Failed"
