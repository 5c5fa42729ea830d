"""Step timeouts without a host: where a step's limit comes from (durableml.service.timeouts), and step_run's
deadline replayed like the host replays it (no timer runs past it; once passed, step_timed_out is called)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from durableml.exceptions import ConfigurationError, ValidationError
from durableml.service import timeouts
from funchost.functions import load_app
from tests.durable_replay import T0, ReplayRun, kinds

APP = load_app(Path(__file__).parent / "apps" / "pipeline_orchestrators")


def test_the_steps_own_setting_wins_then_databricks_then_the_workspace_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(timeouts.SETTING, "600")
    own = {"runConfig": {"maxRunDurationSeconds": 30}}
    assert timeouts.step_timeout("python_script", own) == (30.0, "max_run_duration_seconds")
    assert timeouts.step_timeout("command", own) == (30.0, "max_run_duration_seconds")
    default = timeouts.step_timeout("python_script", {"runConfig": {"maxRunDurationSeconds": None}})
    assert default == (600.0, f"the workspace default {timeouts.SETTING}")
    assert timeouts.step_timeout("parallel_run", {}) == default
    assert timeouts.step_timeout("databricks", {"timeoutSeconds": 60}) is None  # Databricks enforces its own
    assert timeouts.step_timeout("databricks", {"timeoutSeconds": None}) == default
    monkeypatch.setenv(timeouts.SETTING, " ")
    assert timeouts.step_timeout("python_script", {}) is None  # no limit unless one is set, as in v1
    monkeypatch.delenv(timeouts.SETTING)
    assert timeouts.step_timeout("python_script", {"runConfig": None}) is None


@pytest.mark.parametrize("value", ["ten", "0", "-5", "nan", "inf", str(timeouts.MAX_SECONDS + 1)])
def test_a_bad_workspace_default_names_the_setting(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(timeouts.SETTING, value)
    with pytest.raises(ConfigurationError, match=timeouts.SETTING):
        timeouts.step_timeout("python_script", {})


@pytest.mark.parametrize("value", [0, -1, True, "60", 1e12])
def test_a_bad_max_run_duration_is_refused(value: object) -> None:
    with pytest.raises(ValidationError, match="max_run_duration_seconds"):
        timeouts.step_timeout("python_script", {"runConfig": {"maxRunDurationSeconds": value}})


def test_the_message_says_timed_out_after_n_s_and_why() -> None:
    message = timeouts.timed_out_message({"seconds": 3.0, "source": "max_run_duration_seconds"})
    assert message.startswith("timed out after 3 s:") and "max_run_duration_seconds" in message


def test_step_run_never_waits_past_the_deadline_then_calls_step_timed_out() -> None:
    limit = {"seconds": 2.5, "source": "max_run_duration_seconds"}
    run = ReplayRun(APP, "step_run", {"run_id": "r1", "step": {"id": "a"}})
    run.episode()
    run.complete(0, {"timeout": limit})
    _, new = run.episode()  # submitted at T0 + 2 s: deadline T0 + 4.5 s
    deadline = T0 + timedelta(seconds=2 + 2.5)
    timers = 0
    while not (len(new) == 1 and new[0].name == "step_timed_out"):
        assert len(new) == 1, new
        if new[0].kind == "timer":
            assert new[0].fire_at is not None and new[0].fire_at <= deadline  # never waits past it
            timers += 1
            run.fire(new[0].id)
        else:
            assert new[0].name == "step_complete", new
            run.complete(new[0].id, None)  # still running
        _, new = run.episode()
    assert timers >= 1 and run.now >= deadline
    sent = json.loads(new[0].input or "")
    assert sent["timeout"] == limit and datetime.fromisoformat(sent["deadline"]) == deadline
    result = {"status": "Failed", "step_run_id": "r1_a", "error": "timed out after 2.5 s", "reused_from": None}
    run.complete(new[0].id, result)
    state, _ = run.episode()
    assert state["isDone"] and state["output"] == result


def test_a_step_without_a_limit_has_no_deadline() -> None:
    run = ReplayRun(APP, "step_run", {"run_id": "r1", "step": {"id": "a"}})
    run.episode()
    run.complete(0, {})
    _, new = run.episode()
    assert kinds(new) == [(1, "timer", "")]
    run.fire(1)
    _, new = run.episode()
    assert kinds(new) == [(2, "task", "step_complete")] and "deadline" not in json.loads(new[0].input or "")
