"""The policy of funchost's Durable SDK speed-ups (funchost/durable/sdk_speedups.py) and the check behind it:
the SDK gives the same results with and without them.

* timestamps: the fast parser equals dateutil's on funchost's format (any precision) and hands other text to it;
* replay: an orchestrator driven through the same histories (timestamps with 7 fractional digits, timers,
  task_all, current_utc_datetime) returns identical states with and without the speed-ups;
* policy: FUNCHOST_SDK_SPEEDUPS=0 and an SDK version not verified leave the SDK unpatched (reported, originals
  restored); a bad setting is an error; a running host shows what is active in /admin/host/status.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import azure.durable_functions as df
import pytest
from dateutil import parser
from hypothesis import given, settings
from hypothesis import strategies as st

from funchost.durable import history as h
from funchost.durable import sdk_speedups
from funchost.durable.history import EventType
from funchost.durable.replay import flatten_actions, replay
from funchost.errors import ConfigError
from tests.test_durable_kit import DurableHost

HISTORY_MODULE = "azure.durable_functions.models.history.HistoryEvent"
APP = Path(__file__).resolve().parent / "apps" / "durable_extras_app"


@pytest.fixture
def restore() -> Iterator[None]:
    yield
    sdk_speedups.install()  # what a host in this process would have


def _module() -> Any:
    import importlib

    return importlib.import_module(HISTORY_MODULE)


times = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(timezone.utc))


@settings(max_examples=200, deadline=None)
@given(times, st.integers(min_value=0, max_value=7))
def test_fast_parse_equals_dateutil_on_funchost_timestamps(value: datetime, digits: int) -> None:
    fast = sdk_speedups.make_fast_parse(parser.parse)
    text = h.fmt_time(value)  # 7 fractional digits, as funchost writes them
    head, frac = text[:-1].split(".")
    shortened = f"{head}.{frac[:digits]}Z" if digits else f"{head}Z"
    for t in (text, shortened):
        mine, theirs = fast(t), parser.parse(t)
        assert mine == theirs and type(mine.tzinfo) is type(theirs.tzinfo)


def test_fast_parse_remembers_what_it_parsed_and_forgets_it_all_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sdk_speedups, "_SEEN_MAX", 3)
    fast = sdk_speedups.make_fast_parse(parser.parse)
    texts = [f"2024-01-0{d}T10:00:00.1234567Z" for d in range(1, 6)]
    first = [fast(t) for t in texts[:3]]
    again_first = [fast(t) for t in texts[:3]]
    assert again_first == first and all(a is b for a, b in zip(first, again_first, strict=True))
    fast(texts[3])  # the fourth: the remembered three are forgotten first
    again = fast(texts[0])
    assert again == first[0] == parser.parse(texts[0]) and again is not first[0]


@pytest.mark.parametrize("text", ["2024-01-01T00:00:00+00:00", "2024-01-01 10:00:00", "Jan 2 2024 10:00Z"])
def test_other_text_goes_to_dateutil(text: str) -> None:
    assert sdk_speedups.make_fast_parse(parser.parse)(text) == parser.parse(text)


def _orchestrator(context: df.DurableOrchestrationContext):
    start = context.current_utc_datetime
    first = yield context.call_activity("A", start.isoformat())
    yield context.create_timer(context.current_utc_datetime + timedelta(milliseconds=1500))
    many = yield context.task_all([context.call_activity("A", i) for i in range(3)])
    return [start.isoformat(), first, many, context.current_utc_datetime.isoformat(), context.is_replaying]


HANDLE = df.Orchestrator.create(_orchestrator)


def _drive(episode_times: list[datetime]) -> list[dict[str, Any]]:
    """Run the orchestrator to its end, one episode per time, completing whatever it scheduled; the states."""
    events: list[dict[str, Any]] = []
    pending = [h.execution_started(episode_times[0], "i1", "e1", "orch", None)]
    states = []
    for now in episode_times:
        chunk = [h.event(EventType.OrchestratorStarted, now), *pending]
        ctx = {
            "history": [{**e, "IsPlayed": True} for e in events] + chunk,
            "input": None,
            "instanceId": "i1",
            "isReplaying": bool(events),
            "parentInstanceId": None,
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
        }
        state = json.loads(HANDLE(json.dumps(ctx)))
        states.append(state)
        if state["isDone"]:
            break
        new = replay(events + chunk, flatten_actions(state), "i1").new
        scheduled = []
        pending = []
        for d in new:
            if d.kind == "timer":
                assert d.fire_at is not None
                scheduled.append(h.event(EventType.TimerCreated, now, d.id, FireAt=h.fmt_time(d.fire_at)))
                pending.append(h.event(EventType.TimerFired, now, TimerId=d.id, FireAt=h.fmt_time(d.fire_at)))
            else:
                scheduled.append(h.event(EventType.TaskScheduled, now, d.id, Name=d.name, Input=d.input))
                pending.append(h.event(EventType.TaskCompleted, now, TaskScheduledId=d.id, Result=d.input))
        events += chunk + scheduled + [h.event(EventType.OrchestratorCompleted, now)]
    assert states[-1]["isDone"], states[-1]
    return states


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=3_000_000), min_size=6, max_size=6))
def test_replay_results_are_identical_with_and_without_speedups(steps: list[int]) -> None:
    base = datetime(2024, 1, 1, tzinfo=timezone.utc)
    episode_times, now = [], base
    for micro in steps:
        now += timedelta(microseconds=micro)
        episode_times.append(now)
    try:
        sdk_speedups.uninstall()
        plain = _drive(episode_times)
        report = sdk_speedups.install()
        assert report.active == ["timestamps", "namedtuple"], report
        fast = _drive(episode_times)
    finally:
        sdk_speedups.install()
    assert fast == plain


def test_setting_zero_leaves_the_sdk_unpatched(restore: None) -> None:
    sdk_speedups.install()
    report = sdk_speedups.install({"FUNCHOST_SDK_SPEEDUPS": "0"})
    assert report.active == [] and report.skipped == {"all": "FUNCHOST_SDK_SPEEDUPS=0"}
    assert _module().dt_parse is parser.parse


def test_an_sdk_version_not_verified_is_not_patched(restore: None) -> None:
    report = sdk_speedups.install({}, version="1.9.0")
    assert report.active == []
    assert "azure-functions-durable 1.9.0 is not one the speed-ups were verified with (1.7.0)" in report.skipped["all"]
    assert _module().dt_parse is parser.parse


def test_the_pinned_sdk_is_verified_and_patched_once(restore: None) -> None:
    first = sdk_speedups.install({})
    patched = _module().dt_parse
    again = sdk_speedups.install({})
    assert first.sdk_version in sdk_speedups.VERIFIED_SDK_VERSIONS
    assert first.active == again.active == ["timestamps", "namedtuple"]
    assert _module().dt_parse is patched and patched.original is parser.parse


def test_a_changed_target_is_skipped_with_the_reason(restore: None, monkeypatch: pytest.MonkeyPatch) -> None:
    sdk_speedups.uninstall()
    monkeypatch.setattr(_module(), "dt_parse", lambda text: parser.parse(text))
    report = sdk_speedups.install({})
    assert report.active == ["namedtuple"]
    assert report.skipped["timestamps"] == f"{HISTORY_MODULE}.dt_parse is not dateutil.parser.parse"


def test_an_unknown_setting_is_an_error() -> None:
    with pytest.raises(ConfigError, match="FUNCHOST_SDK_SPEEDUPS='fast'"):
        sdk_speedups.install({"FUNCHOST_SDK_SPEEDUPS": "fast"})


def test_host_status_reports_the_speedups(funchost_process, tmp_path_factory) -> None:
    host = DurableHost(funchost_process(APP, env={"FUNCHOST_SDK_SPEEDUPS": "0"}), tmp_path_factory.mktemp("sp"))
    try:
        status = host.http.get(f"{host.base_url}/admin/host/status", timeout=30).json()
        assert status["sdkSpeedups"]["active"] == []
        assert status["sdkSpeedups"]["skipped"] == {"all": "FUNCHOST_SDK_SPEEDUPS=0"}
        # without the speed-ups the same app still works
        assert host.completed(host.start("parallel_calls", ["a", "b"])) == [1, 1]
    finally:
        host.close()
        host.proc.stop()
