"""A failing step, with and without continue_on_step_failure, and cancelling a running pipeline.

The pipeline in the failure tests has two branches: ``root -> bad -> after_bad`` where ``bad`` raises,
and an independent ``slow -> after_slow`` whose second step becomes ready only after ``bad`` failed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from durableml.core import Experiment
from durableml.exceptions import ActivityFailedException
from durableml.pipeline.core import Pipeline

from ._helpers import ensure_compute, journal_counts, pid_alive, step, step_summary, wait_until

EXPERIMENT = "e2e-failures"
MARKER = "RuntimeError: step bad failed on purpose (e2e-failure-marker)"
NOT_RUN = {"NotStarted", "Canceled"}


@pytest.fixture(scope="module")
def env(service: Any) -> dict[str, Any]:
    ws = service.workspace()
    compute = ensure_compute(ws)
    return {"ws": ws, "compute": compute, "service": service}


def two_branches(env: dict[str, Any], journal: Path) -> Pipeline:
    compute = env["compute"]
    root = step("root", journal, compute)
    bad = step("bad", journal, compute, extra=["--fail"])
    after_bad = step("after_bad", journal, compute)
    slow = step("slow", journal, compute, extra=["--sleep", "1.5"])
    after_slow = step("after_slow", journal, compute)
    bad.run_after(root)
    after_bad.run_after(bad)
    after_slow.run_after(slow)
    return Pipeline(workspace=env["ws"], steps=[after_bad, after_slow])


def statuses(run: Any) -> dict[str, str]:
    return {s.name: s.get_status() for s in run.get_steps()}


def test_failing_step_fails_the_pipeline_and_stops_dependants(env: dict[str, Any], tmp_path: Path) -> None:
    journal = tmp_path / "journal.txt"
    run: Any = Experiment(env["ws"], EXPERIMENT).submit(two_branches(env, journal))
    with pytest.raises(ActivityFailedException) as raised:
        run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=True)
    assert MARKER in str(raised.value), f"the error names the failed step's traceback:\n{raised.value}"
    assert "Traceback (most recent call last)" in str(raised.value)
    assert run.get_status() == "Failed"

    found = statuses(run)
    assert found["root"] == "Finished" and found["bad"] == "Failed", found
    assert found.get("after_bad", "NotStarted") in NOT_RUN, found
    assert found.get("after_slow", "NotStarted") in NOT_RUN, f"without continue_on_step_failure: {found}"
    counts = journal_counts(journal, "start")
    assert counts["bad"] == 1 and "after_bad" not in counts and "after_slow" not in counts, counts

    bad = run.find_step_run("bad")[0]
    log = bad.get_job_log()
    assert "step bad is about to fail" in log
    assert "Traceback (most recent call last)" in log and MARKER in log, log
    assert MARKER in str(bad.get_details().get("error")), bad.get_details()


def test_continue_on_step_failure_runs_the_independent_branch(env: dict[str, Any], tmp_path: Path) -> None:
    journal = tmp_path / "journal.txt"
    run: Any = Experiment(env["ws"], EXPERIMENT).submit(two_branches(env, journal), continue_on_step_failure=True)
    status = run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
    assert status == "Failed", step_summary(run)
    found = statuses(run)
    assert found["bad"] == "Failed" and found["slow"] == "Finished" and found["after_slow"] == "Finished", found
    assert found.get("after_bad", "NotStarted") in NOT_RUN, found
    counts = journal_counts(journal, "end")
    assert counts == {"root": 1, "slow": 1, "after_slow": 1}, counts


def test_cancel_stops_a_sleeping_step(env: dict[str, Any], tmp_path: Path) -> None:
    journal, pidfile = tmp_path / "journal.txt", tmp_path / "sleeper.pid"
    sleeper = step("sleeper", journal, env["compute"], extra=["--sleep", "30", "--pidfile", str(pidfile)])
    after = step("after_sleeper", journal, env["compute"])
    after.run_after(sleeper)
    run: Any = Experiment(env["ws"], EXPERIMENT).submit(Pipeline(workspace=env["ws"], steps=[after]))
    wait_until(pidfile.exists, timeout=30, what="the sleeping step to start")
    pid = int(pidfile.read_text())
    assert pid_alive(pid)

    started = time.monotonic()
    run.cancel()
    wait_until(lambda: run.get_status() == "Canceled", timeout=15, what="the run to be Canceled")
    took = time.monotonic() - started
    assert took < 10, f"cancel took {took:.1f} s"
    assert run.wait_for_completion(show_output=False, raise_on_error=True) == "Canceled"
    wait_until(lambda: not pid_alive(pid), timeout=10, what=f"the sleeping script (pid {pid}) to be gone")

    found = statuses(run)
    assert found["sleeper"] == "Canceled", found
    assert found.get("after_sleeper", "NotStarted") in NOT_RUN, found
    assert journal_counts(journal, "end") == {}, "the sleeping script never reached its end"


def test_cancel_stops_a_step_that_runs_after_another(env: dict[str, Any], tmp_path: Path) -> None:
    """The cancel event reaches the run while a downstream step runs (the orchestration waited for that event in
    earlier rounds too, each time beside other steps)."""
    journal, pidfile = tmp_path / "journal.txt", tmp_path / "second.pid"
    first = step("first_quick", journal, env["compute"])
    second = step("second_sleeper", journal, env["compute"], extra=["--sleep", "30", "--pidfile", str(pidfile)])
    second.run_after(first)
    third = step("third_after", journal, env["compute"])
    third.run_after(second)
    run: Any = Experiment(env["ws"], EXPERIMENT).submit(Pipeline(workspace=env["ws"], steps=[third]))
    wait_until(pidfile.exists, timeout=60, what="the second step to start")
    pid = int(pidfile.read_text())

    run.cancel()
    wait_until(lambda: run.get_status() == "Canceled", timeout=30, what="the run to be Canceled")
    wait_until(lambda: not pid_alive(pid), timeout=10, what=f"the second step's script (pid {pid}) to be gone")
    found = statuses(run)
    assert found["first_quick"] == "Finished" and found["second_sleeper"] == "Canceled", found
    assert found.get("third_after", "NotStarted") in NOT_RUN, found
