"""SIGKILL funchost in the middle of a pipeline run, restart it, and the run completes.

A chain of four ~1 s steps; funchost (and its whole process group) is killed right after the second
step's script finished (or while the third one's script runs), then restarted on the same ports and
state dir. The run must end Finished, no script that had finished may run again (the journal counts
every start), and a ``wait_for_completion`` that was waiting in another thread keeps waiting, says
the service is not answering, and returns the final status.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from durableml.core import Experiment
from durableml.pipeline.core import Pipeline

from ._helpers import ensure_compute, journal_counts, journal_events, step, step_summary, wait_until

EXPERIMENT = "e2e-crash"
NAMES = ["S1", "S2", "S3", "S4"]


@pytest.mark.parametrize("kill_when", ["S2 finished", "S3 running"])
def test_sigkill_mid_run_then_restart_completes_without_rerunning_steps(
    service: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], kill_when: str
) -> None:
    ws = service.workspace()
    compute = ensure_compute(ws)
    journal = tmp_path / "journal.txt"
    chain = [step(name, journal, compute, extra=["--sleep", "1"]) for name in NAMES]
    for earlier, later in zip(chain, chain[1:], strict=False):
        later.run_after(earlier)
    run: Any = Experiment(ws, EXPERIMENT).submit(Pipeline(workspace=ws, steps=[chain[-1]]))

    outcome: dict[str, Any] = {}

    def wait() -> None:
        try:
            outcome["status"] = run.wait_for_completion(show_output=True, timeout_seconds=120, raise_on_error=False)
        except BaseException as exc:  # reported by the main thread
            outcome["error"] = exc

    waiter = threading.Thread(target=wait, name="wait_for_completion", daemon=True)
    waiter.start()
    event, name = ("end", "S2") if kill_when == "S2 finished" else ("start", "S3")
    wait_until(lambda: journal_counts(journal, event)[name] >= 1, timeout=60, what=f"{kill_when}")
    service.host.kill()
    done_before_kill = {name for name, n in journal_counts(journal, "end").items() if n}
    assert {"S1", "S2"} <= done_before_kill
    time.sleep(2.5)  # the waiting thread polls at least once while nothing answers
    assert waiter.is_alive(), f"wait_for_completion gave up while the service was down: {outcome}"
    service.host.restart()

    waiter.join(timeout=90)
    assert not waiter.is_alive(), f"wait_for_completion still waits 90 s after the restart\n{service.log_tail()}"
    assert "error" not in outcome, f"wait_for_completion raised: {outcome.get('error')!r}"
    assert outcome["status"] == "Finished", f"{outcome}\n{step_summary(run)}\n{service.log_tail()}"
    printed = capsys.readouterr().out
    assert "not answering" in printed, f"no message about the outage:\n{printed}"

    assert run.get_status() == "Finished"
    assert {s.name: s.get_status() for s in run.get_steps()} == {name: "Finished" for name in NAMES}
    starts = journal_counts(journal, "start")
    assert starts == {name: 1 for name in NAMES}, (
        f"scripts started more than once (finished before the kill: {sorted(done_before_kill)}): "
        f"{journal_events(journal)}"
    )
    assert journal_counts(journal, "end") == {name: 1 for name in NAMES}
    ends = {name: when for kind, name, _pid, when in journal_events(journal) if kind == "end"}
    starts_at = {name: when for kind, name, _pid, when in journal_events(journal) if kind == "start"}
    for before, after in zip(NAMES, NAMES[1:], strict=False):
        assert ends[before] <= starts_at[after], f"{after} started before {before} ended"
