"""Crash safety: funchost is killed with SIGKILL at several points of a running chain and of a fan-out,
restarted on the same state folder, and every orchestration completes with the right output.

Each ``slow_step`` activity sleeps ~0.3 s and then appends its index to ``steps-<tag>.log``, so the log
counts finished executions. Activities running at a kill may run again (at-least-once, as in Azure),
but each activity's *result* is recorded once in history and nothing completes twice.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterator

import pytest
import requests

try:
    from test_durable_kit import DurableHost, events_of, split_child_id, start_host, wait_for
except ImportError:  # tests/ is a package
    from tests.test_durable_kit import DurableHost, events_of, split_child_id, start_host, wait_for


@pytest.fixture(scope="module")
def host(funchost_process, tmp_path_factory) -> Iterator[DurableHost]:
    h = start_host(funchost_process, tmp_path_factory.mktemp("durable-crash"))
    yield h
    h.close()
    h.proc.stop()


def _executions(host: DurableHost, tag: str) -> Counter[int]:
    path = host.work / f"steps-{tag}.log"
    if not path.exists():
        return Counter()
    return Counter(int(line) for line in path.read_text().split())


def _kill_and_restart(host: DurableHost) -> None:
    host.proc.kill()
    host.proc.restart()
    host.http.close()
    host.http = requests.Session()  # no pooled connections to the dead process
    wait_for(host.alive, "funchost to answer after the restart")


def _check_activity_results(host: DurableHost, iid: str, n: int, kills: int, tag: str) -> None:
    """Output, history and execution counts of a slow_chain/slow_fan instance of ``n`` steps."""
    status = host.wait(iid, timeout=60, history=True)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == [i * 10 for i in range(n)]
    completed = events_of(status, "TaskCompleted")
    assert len(completed) == n, f"each activity result must be recorded once: {len(completed)} for {n} steps"
    assert sorted(e["Result"] for e in completed) == [i * 10 for i in range(n)]
    assert {e["FunctionName"] for e in completed} == {"slow_step"}
    assert len(events_of(status, "ExecutionCompleted")) == 1
    runs = _executions(host, tag)
    assert set(runs) == set(range(n)), f"steps that never finished: {set(range(n)) - set(runs)}"
    # Only activities in flight at a kill may run again, and only once per kill.
    assert max(runs.values()) <= 1 + kills, runs


def test_chain_and_fan_out_survive_sigkill_at_several_points(host: DurableHost) -> None:
    before = host.start("chain", ["Before"])
    assert host.completed(before) == ["Hello Before!"]

    chain_tag, fan_tag, fresh_tag = "chain", "fan", "fresh"
    chain = host.start("slow_chain", {"tag": chain_tag, "n": 6})

    # Kill 1: after the first activity of the chain has finished.
    wait_for(lambda: len(_executions(host, chain_tag)) >= 1, "first chain step")
    _kill_and_restart(host)

    # Kill 2: after three chain steps, in the middle of a 24-wide fan-out, and right after starting a
    # third orchestration that has not run anything yet.
    wait_for(lambda: len(_executions(host, chain_tag)) >= 3, "third chain step")
    fan = host.start("slow_fan", {"tag": fan_tag, "n": 24})
    wait_for(lambda: sum(_executions(host, fan_tag).values()) >= 5, "fan-out under way")
    fresh = host.start("slow_chain", {"tag": fresh_tag, "n": 2})
    _kill_and_restart(host)

    # Kill 3: the fan-out again, if it is still running.
    if host.status(fan)["runtimeStatus"] == "Running":
        wait_for(lambda: sum(_executions(host, fan_tag).values()) >= 12, "fan-out past half")
        _kill_and_restart(host)

    _check_activity_results(host, chain, 6, kills=3, tag=chain_tag)
    _check_activity_results(host, fan, 24, kills=2, tag=fan_tag)
    _check_activity_results(host, fresh, 2, kills=2, tag=fresh_tag)
    # An instance that had finished before the crashes is untouched.
    status = host.status(before)
    assert status["runtimeStatus"] == "Completed" and status["output"] == ["Hello Before!"]


def test_timers_events_and_custom_status_survive_sigkill(host: DurableHost) -> None:
    timer = host.start("durable_timer", 3.0)
    waiting = host.start("approval", {"timeout": 120})
    host.wait_until(waiting, lambda s: s and s["customStatus"] == "waiting", "waiting for Approval")
    _kill_and_restart(host)

    status = host.status(waiting)
    assert status["runtimeStatus"] == "Running" and status["customStatus"] == "waiting", status
    assert host.raise_event(waiting, "Approval", "after crash").status_code == 202
    assert host.completed(waiting) == {"approved": '"after crash"'}
    output = host.completed(timer)
    assert output["woke_after_fire_at"] is True


def test_retry_timer_survives_sigkill(host: DurableHost) -> None:
    key = "crash-retry"
    iid = host.start("retry_activity", {"key": key, "fail_times": 2, "attempts": 5, "interval_ms": 1500})
    wait_for(lambda: (host.work / f"attempts-{key}.count").exists(), "first attempt")
    _kill_and_restart(host)
    status = host.wait(iid, history=True)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"]["result"].startswith("ok after ")
    # An attempt in flight at the kill may run twice, so count the failures history recorded:
    # k failures take ids 0..2k-1 (attempt + timer each), the success 2k, the probe 2k+1.
    failures = len(events_of(status, "TaskFailed"))
    assert 1 <= failures <= 2
    assert len(events_of(status, "TimerFired")) == failures
    assert split_child_id(status["output"]["probe_id"])[1] == 2 * failures + 1
