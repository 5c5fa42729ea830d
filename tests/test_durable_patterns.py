"""Durable Functions patterns under funchost, checked against durable-protocol.md.

Chaining, fan-out/fan-in of 500, durable timers, task_any of an event against a timer, external
events (also raised before the orchestrator waits), sub-orchestrations (default ids, failures),
retries (host-side timer sequence and exact ids, §3.6), continue_as_new, custom status, failures,
non-determinism detection and unknown functions. Everything goes through HTTP: the app's functions
call the unmodified DurableOrchestrationClient, and the status comes from the public webhook API.
"""

from __future__ import annotations

import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import pytest

try:
    from test_durable_kit import DurableHost, event_types, events_of, parse_time, split_child_id, start_host
except ImportError:  # tests/ is a package
    from tests.test_durable_kit import DurableHost, event_types, events_of, parse_time, split_child_id, start_host


@pytest.fixture(scope="module")
def host(funchost_process, tmp_path_factory) -> Iterator[DurableHost]:
    h = start_host(funchost_process, tmp_path_factory.mktemp("durable-patterns"))
    yield h
    h.close()
    h.proc.stop()


def _key() -> str:
    return uuid.uuid4().hex[:12]


def _attempts(host: DurableHost, key: str) -> int:
    return int((host.work / f"attempts-{key}.count").read_text())


# -- chaining, fan-out/fan-in -----------------------------------------------------------------------


def test_chain_returns_each_activity_result_in_order(host: DurableHost) -> None:
    cities = ["Tokyo", "Seattle", "London"]
    iid = host.start("chain", cities)
    status = host.wait(iid, history=True)

    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    assert status["name"] == "chain"
    assert status["instanceId"] == iid
    # The Python client double-encodes the input (§3.14): the status shows the JSON text as a string.
    assert status["input"] == json.dumps(cities)
    completed = events_of(status, "TaskCompleted")
    assert [e["FunctionName"] for e in completed] == ["hello"] * 3
    assert [e["Result"] for e in completed] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    types = event_types(status)
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionCompleted"
    # The public history is the transformed one: scheduling and episode markers are merged away.
    assert not {"TaskScheduled", "OrchestratorStarted", "OrchestratorCompleted"} & set(types)
    assert events_of(status, "ExecutionStarted")[0]["FunctionName"] == "chain"
    assert events_of(status, "ExecutionCompleted")[0]["OrchestrationStatus"] == "Completed"


def test_chain_started_through_public_api_gets_the_raw_json_input(host: DurableHost) -> None:
    iid = host.start_webhook("chain", ["Oslo", "Lima"])
    assert re.fullmatch(r"[0-9a-f]{32}", iid), f"auto instance ids are Guid 'N' strings, got {iid!r}"
    assert host.completed(iid) == ["Hello Oslo!", "Hello Lima!"]
    # A raw JSON body is parsed once: the input is the list itself, not a string.
    assert host.status(iid)["input"] == ["Oslo", "Lima"]


def test_fan_out_fan_in_of_500(host: DurableHost) -> None:
    iid = host.start("fan_out", 500)
    status = host.wait(iid, timeout=90, history=True)

    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == {
        "count": 500,
        "sum": sum(i * i for i in range(500)),
        "first": [0, 1, 4],
        "last": [499 * 499],
    }
    completed = events_of(status, "TaskCompleted")
    assert len(completed) == 500
    assert sorted(e["Result"] for e in completed) == sorted(i * i for i in range(500))


def test_orchestration_started_without_input(host: DurableHost) -> None:
    iid = host.start("chain")
    assert host.completed(iid) == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    assert host.status(iid)["input"] is None


def test_many_instances_run_side_by_side(host: DurableHost) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(lambda i: host.start("chain", [f"p{i}", f"q{i}"]), range(30)))
    assert len(set(ids)) == 30
    for i, iid in enumerate(ids):
        assert host.completed(iid, timeout=60) == [f"Hello p{i}!", f"Hello q{i}!"]


# -- timers and events ------------------------------------------------------------------------------


def test_durable_timer_fires_at_or_after_fire_at(host: DurableHost) -> None:
    iid = host.start("durable_timer", 1.0)
    status = host.wait(iid, history=True)

    assert status["runtimeStatus"] == "Completed", status
    # The waking episode's OrchestratorStarted must be >= FireAt (§3.7), so current_utc_datetime is.
    assert status["output"]["woke_after_fire_at"] is True
    fire_at = parse_time(status["output"]["fire_at"].replace("+00:00", "Z"))
    created, fired = events_of(status, "TimerCreated"), events_of(status, "TimerFired")
    assert len(created) == 1 and len(fired) == 1
    assert abs((parse_time(created[0]["FireAt"]) - fire_at).total_seconds()) < 0.001
    assert parse_time(fired[0]["FireAt"]) == parse_time(created[0]["FireAt"])
    assert "TimerId" not in fired[0]


def test_history_timestamps_keep_sub_second_precision(host: DurableHost) -> None:
    # DTFx stamps events with DateTime.UtcNow and the status API serializes them with Newtonsoft
    # ("2024-01-01T00:00:00.1234567Z"); a user ordering or timing events relies on that precision.
    status = host.wait(host.start("durable_timer", 0.5), history=True)
    fire_at = parse_time(events_of(status, "TimerCreated")[0]["FireAt"])
    stamps = [e["Timestamp"] for e in events_of(status)]
    assert any("." in t for t in stamps), f"all history timestamps are whole seconds: {stamps}"
    assert parse_time(events_of(status, "TimerFired")[0]["Timestamp"]) >= fire_at


def test_task_any_event_beats_timer(host: DurableHost) -> None:
    iid = host.start("approval", {"timeout": 60})
    host.wait_until(iid, lambda s: s and s["customStatus"] == "waiting", "waiting for Approval")
    r = host.raise_event(iid, "Approval", {"ok": True})
    assert r.status_code == 202, r.text

    status = host.wait(iid, timeout=20, history=True)
    assert status["runtimeStatus"] == "Completed", status
    # raise_event data reaches the orchestrator as json.dumps(data), a str (§3.14, SDK issue #295).
    assert status["output"] == {"approved": json.dumps({"ok": True})}
    types = event_types(status)
    assert "TimerCreated" in types and "EventRaised" in types and "TimerFired" not in types
    assert events_of(status, "EventRaised")[0]["Name"] == "Approval"


def test_task_any_timer_beats_event(host: DurableHost) -> None:
    iid = host.start("approval", {"timeout": 1})
    status = host.wait(iid, history=True)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == {"timed_out": True}
    assert "TimerFired" in event_types(status) and "EventRaised" not in event_types(status)


def test_event_names_match_case_sensitively(host: DurableHost) -> None:
    iid = host.start("approval", {"timeout": 60})
    host.wait_until(iid, lambda s: s and s["customStatus"] == "waiting", "waiting for Approval")
    assert host.raise_event(iid, "approval", "wrong case").status_code == 202
    assert host.raise_event(iid, "Approval", "right case").status_code == 202
    assert host.completed(iid, timeout=20) == {"approved": json.dumps("right case")}


def test_events_raised_before_the_orchestrator_waits_are_buffered(host: DurableHost) -> None:
    gate = _key()
    iid = host.start("wait_events", gate)
    # The orchestrator is blocked in the gate activity, so both events arrive before it waits;
    # B even arrives before A, which it waits for first.
    r = host.webhook("POST", f"instances/{iid}/raiseEvent/B", json={"y": 2})
    assert r.status_code == 202, r.text
    assert host.raise_event(iid, "A", {"x": 1}).status_code == 202
    assert host.status(iid)["output"] is None
    (host.work / f"gate-{gate}").touch()

    # Client data is double-encoded (a str); a raw JSON body posted to the webhook arrives as a dict.
    assert host.completed(iid) == [json.dumps({"x": 1}), {"y": 2}]


# -- sub-orchestrations -----------------------------------------------------------------------------


def test_sub_orchestrations_get_default_ids_from_the_parent_execution(host: DurableHost) -> None:
    pid = f"parent-{_key()}"
    output = host.completed(host.start("parent", None, instance_id=pid))

    assert [c["input"] for c in output] == ["one", "two", "three", 0, 1]
    assert all(c["parent"] == pid for c in output), output
    assert output[2]["id"] == f"{pid}-explicit"
    defaults = [split_child_id(output[i]["id"]) for i in (0, 1, 3, 4)]
    # "<parent ExecutionId>:<sequence id of the CallSubOrchestrator action>" (§3.9).
    assert [n for _, n in defaults] == [0, 1, 3, 4]
    prefixes = {p for p, _ in defaults}
    assert len(prefixes) == 1 and pid not in prefixes
    for child in output:
        status = host.status(child["id"])
        assert status is not None, f"child {child['id']} is not an instance of its own"
        assert status["name"] == "child" and status["runtimeStatus"] == "Completed"
        assert status["output"] == child


def test_failing_sub_orchestration_raises_in_the_parent(host: DurableHost) -> None:
    output = host.completed(host.start("parent_catches_child"))
    assert "Orchestrator function 'child_fail' failed: child boom caught" in output["caught"]


def test_uncaught_sub_orchestration_failure_fails_the_parent(host: DurableHost) -> None:
    status = host.wait(host.start("parent_uncaught_child"))
    assert status["runtimeStatus"] == "Failed", status
    assert status["output"].startswith("Orchestrator function 'parent_uncaught_child' failed: ")
    assert "Orchestrator function 'child_fail' failed: child boom uncaught" in status["output"]


def test_terminated_sub_orchestration_fails_in_the_parent(host: DurableHost) -> None:
    pid = f"waiting-parent-{_key()}"
    host.start("parent_of_waiting_child", None, instance_id=pid)
    child_id = f"{pid}-child"
    host.wait_until(child_id, lambda s: s and s["customStatus"] == "waiting", "child waiting")
    r = host.webhook("POST", f"instances/{child_id}/terminate", params={"reason": "child stopped"})
    assert r.status_code == 202, r.text
    assert host.wait(child_id)["runtimeStatus"] == "Terminated"
    # A terminated child reports SubOrchestrationInstanceFailed to its parent (§3.5).
    output = host.completed(pid)
    assert "caught" in output and "child stopped" in output["caught"], output


# -- retries (§3.6) ---------------------------------------------------------------------------------

RETRY_EVENTS = (
    "TaskFailed",
    "TaskCompleted",
    "TimerCreated",
    "TimerFired",
    "SubOrchestrationInstanceFailed",
    "SubOrchestrationInstanceCompleted",
)


def _retry_delay(timer_created: dict) -> float:
    """FireAt minus the TimerCreated timestamp: the retry interval, or ~0 for the final timer."""
    return (parse_time(timer_created["FireAt"]) - parse_time(timer_created["Timestamp"])).total_seconds()


def test_activity_retry_that_fails_then_succeeds(host: DurableHost) -> None:
    key = _key()
    status = host.wait(host.start("retry_activity", {"key": key, "fail_times": 2, "attempts": 5}), history=True)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"]["result"] == "ok after 3"
    assert _attempts(host, key) == 3
    # TS0 TF | TC1 TFi | TS2 TF | TC3 TFi | TS4 TC: the next action takes id 5.
    assert split_child_id(status["output"]["probe_id"])[1] == 5
    assert [e["EventType"] for e in events_of(status, *RETRY_EVENTS)] == [
        "TaskFailed",
        "TimerCreated",
        "TimerFired",
        "TaskFailed",
        "TimerCreated",
        "TimerFired",
        "TaskCompleted",
        "SubOrchestrationInstanceCompleted",
    ]
    failed = events_of(status, "TaskFailed")
    assert failed[0]["FunctionName"] == "flaky"
    assert failed[0]["Reason"].startswith(f"Activity function 'flaky' failed:  ValueError: attempt 1 of {key} failed")


def test_activity_retry_that_fails_to_the_end(host: DurableHost) -> None:
    key = _key()
    status = host.wait(host.start("retry_activity", {"key": key, "fail_times": 99, "attempts": 3}), history=True)
    assert status["runtimeStatus"] == "Completed", status
    # The SDK raises the LAST attempt's failure.
    assert status["output"]["error"].startswith(
        f"Activity function 'flaky' failed:  ValueError: attempt 3 of {key} failed"
    )
    assert _attempts(host, key) == 3
    # TS0 TF0 | TC1 TFi1 | TS2 TF2 | TC3 TFi3 | TS4 TF4 | TC5(now) TFi5, then the probe gets id 6.
    assert split_child_id(status["output"]["probe_id"])[1] == 6
    assert [e["EventType"] for e in events_of(status, *RETRY_EVENTS)] == [
        "TaskFailed",
        "TimerCreated",
        "TimerFired",
    ] * 3 + ["SubOrchestrationInstanceCompleted"]


def test_retry_timers_wait_the_interval_except_the_final_one(host: DurableHost) -> None:
    key = _key()
    status = host.wait(host.start("retry_activity", {"key": key, "fail_times": 99, "attempts": 3}), history=True)
    timers = events_of(status, "TimerCreated")
    assert len(timers) == 3, timers
    assert all(0.2 <= _retry_delay(t) <= 0.45 for t in timers[:2]), f"retry timers fire ~400 ms later: {timers}"
    assert _retry_delay(timers[2]) < 0.2, f"the final back-compat timer fires immediately: {timers[2]}"


def test_activity_retry_with_a_single_attempt(host: DurableHost) -> None:
    key = _key()
    status = host.wait(host.start("retry_activity", {"key": key, "fail_times": 99, "attempts": 1}), history=True)
    assert status["runtimeStatus"] == "Completed", status
    assert "attempt 1 of" in status["output"]["error"]
    assert _attempts(host, key) == 1
    # TS0 TF0 TC1 TFi1, then failure: the probe gets id 2.
    assert split_child_id(status["output"]["probe_id"])[1] == 2
    assert [e["EventType"] for e in events_of(status, *RETRY_EVENTS)] == [
        "TaskFailed",
        "TimerCreated",
        "TimerFired",
        "SubOrchestrationInstanceCompleted",
    ]


def test_retry_inside_task_all_allocates_ids_like_the_sdk(host: DurableHost) -> None:
    key = _key()
    output = host.completed(host.start("retry_in_all", {"key": key}))
    assert output["results"] == ["ok after 2", "Hello B!"]
    # retry(A)=0, B=1, retry timer 2, re-attempt 3: the next action takes id 4 (§3.2).
    assert split_child_id(output["probe_id"])[1] == 4


def test_sub_orchestrator_retry(host: DurableHost) -> None:
    key = _key()
    status = host.wait(host.start("retry_suborch", {"key": key, "fail_times": 2, "attempts": 4}), history=True)
    assert status["runtimeStatus"] == "Completed", status
    output = status["output"]
    assert output["child"]["value"] == "ok after 3"
    prefix, n = split_child_id(output["child"]["id"])
    # Attempts 0, 2, 4 (each a new default id), timers 1 and 3; the probe takes 5.
    assert n == 4
    assert split_child_id(output["probe_id"]) == (prefix, 5)
    for attempt, child_id in enumerate((f"{prefix}:0", f"{prefix}:2"), start=1):
        failed = host.status(child_id)
        assert failed is not None and failed["runtimeStatus"] == "Failed", (child_id, failed)
        assert f"attempt {attempt} of {key} failed" in failed["output"]
    assert [e["EventType"] for e in events_of(status, *RETRY_EVENTS)] == [
        "SubOrchestrationInstanceFailed",
        "TimerCreated",
        "TimerFired",
    ] * 2 + ["SubOrchestrationInstanceCompleted", "SubOrchestrationInstanceCompleted"]


# -- continue_as_new, custom status ---------------------------------------------------------------


def test_continue_as_new_counts_up_and_keeps_only_the_last_generation(host: DurableHost) -> None:
    status = host.wait(host.start("counter", {"n": 0, "max": 4}), history=True)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == {"n": 4, "last": "Hello generation 3!", "greeting": "Hello generation 4!"}
    assert status["customStatus"] == {"n": 4}
    assert len(events_of(status, "ExecutionStarted")) == 1
    assert [e["Result"] for e in events_of(status, "TaskCompleted")] == ["Hello generation 4!"]


def test_custom_status_is_visible_while_running_and_replaced_later(host: DurableHost) -> None:
    iid = host.start("custom_status")
    waiting = {"stage": "waiting", "items": [1, 2, 3]}
    running = host.wait_until(iid, lambda s: s and s["customStatus"] == waiting, "custom status set")
    assert running["runtimeStatus"] == "Running"
    via_client = host.api("GET", f"status/{iid}")
    assert via_client.status_code == 200 and via_client.json()["customStatus"] == waiting

    assert host.raise_event(iid, "go", {"stage": "done"}).status_code == 202
    assert host.completed(iid) == "done"
    assert host.status(iid)["customStatus"] == {"stage": "done"}


def test_falsy_custom_status_becomes_null(host: DurableHost) -> None:
    iid = host.start("custom_status")
    host.wait_until(iid, lambda s: s and s["customStatus"], "custom status set")
    assert host.raise_event(iid, "go", 0).status_code == 202
    assert host.completed(iid) == "done"
    assert host.status(iid)["customStatus"] is None


def test_custom_status_over_16_kb_fails_the_orchestration(host: DurableHost) -> None:
    # The extension's SetCustomStatus refuses more than 16 KB of serialized custom status (§2).
    status = host.wait(host.start("big_custom_status"))
    assert status["runtimeStatus"] == "Failed", {k: v for k, v in status.items() if k != "customStatus"}
    assert status["output"].startswith("Orchestrator function 'big_custom_status' failed: ")


# -- failures ---------------------------------------------------------------------------------------


def test_orchestrator_exception_fails_the_instance_with_its_message(host: DurableHost) -> None:
    status = host.wait(host.start("orch_raises"), history=True)
    assert status["runtimeStatus"] == "Failed"
    assert status["output"] == "Orchestrator function 'orch_raises' failed: bad thing"
    assert events_of(status, "ExecutionCompleted")[0]["OrchestrationStatus"] == "Failed"


def test_activity_failure_reaches_the_orchestrator_as_an_exception(host: DurableHost) -> None:
    output = host.completed(host.start("activity_fails_caught"))
    assert output["error"].startswith("Activity function 'boom' failed:  ValueError: kaput")


def test_activity_output_that_is_not_json_serializable_fails_the_activity(host: DurableHost) -> None:
    output = host.completed(host.start("bad_output"))
    assert output["error"].startswith("Activity function 'not_serializable' failed:")
    assert "activity trigger output must be json serializable" in output["error"]


def test_non_determinism_is_detected(host: DurableHost) -> None:
    iid = host.start("nondeterministic")
    host.wait_until(iid, lambda s: s and s["customStatus"] == "waiting", "first episode done")
    # From now on a replay calls 'square' where history says 'hello' was scheduled with id 0.
    (host.work / f"nd-{iid}").touch()
    assert host.raise_event(iid, "go").status_code == 202

    status = host.wait(iid)
    assert status["runtimeStatus"] == "Failed", status
    assert "Non-Deterministic workflow detected: " in status["output"]
    assert "'hello'" in status["output"]


def test_unregistered_activity_fails_with_the_extension_message(host: DurableHost) -> None:
    status = host.wait(host.start("call_missing"))
    assert status["runtimeStatus"] == "Failed", status
    assert (
        "The function 'does_not_exist' doesn't exist, is disabled, or is not an activity function." in status["output"]
    )


def test_unregistered_sub_orchestrator_fails_with_the_extension_message(host: DurableHost) -> None:
    status = host.wait(host.start("call_missing_suborch"))
    assert status["runtimeStatus"] == "Failed", status
    assert (
        "The function 'no_such_orchestrator' doesn't exist, is disabled, or is not an orchestrator function."
        in status["output"]
    )


def test_function_names_resolve_case_insensitively(host: DurableHost) -> None:
    # 'HELLO' is registered as 'hello'; 'Shout' is the activity alias 'shout' of shout_impl.
    assert host.completed(host.start("case_insensitive")) == ["Hello case!", "QUIET"]
