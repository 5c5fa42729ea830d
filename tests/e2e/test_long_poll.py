"""``GET /api/runs/{id}?wait=S&status=X``: the long poll that wait_for_completion uses, on a real funchost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from durableml.core import Experiment
from durableml.pipeline.core import Pipeline

from ._helpers import ensure_compute, step, wait_until

EXPERIMENT = "e2e-long-poll"
HEADER = "Durableml-Long-Poll"


@pytest.fixture(scope="module")
def env(service: Any) -> dict[str, Any]:
    ws = service.workspace()
    return {"ws": ws, "compute": ensure_compute(ws), "service": service}


def test_a_long_poll_answers_when_a_record_of_the_run_changes_and_at_once_for_news(
    env: dict[str, Any], tmp_path: Path
) -> None:
    service, journal = env["service"], tmp_path / "journal.txt"
    first = step("first", journal, env["compute"], extra=["--sleep", "2"])
    second = step("second", journal, env["compute"])
    second.run_after(first)
    run: Any = Experiment(env["ws"], EXPERIMENT).submit(Pipeline(workspace=env["ws"], steps=[second]))
    wait_until(lambda: run.get_status() == "Running", timeout=60, what="the run to start")

    # Still Running when 'first' ends: steps=true answers with that step's record (the wait of 60 s is longer
    # than the test client's 30 s timeout, so only the wake-up can answer in time).
    answer = service.api("GET", f"/api/runs/{run.id}", params={"wait": "60", "status": "Running", "steps": "true"})
    assert answer.status_code == 200 and answer.headers.get(HEADER) == "1", answer.text
    assert answer.json()["id"] == run.id
    assert {s.name: s.get_status() for s in run.get_steps()}.get("first") in ("Running", "Finished")

    assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished"
    # The status the caller knows is not the run's any more: answered at once.
    answer = service.api("GET", f"/api/runs/{run.id}", params={"wait": "60", "status": "Running"})
    assert answer.json()["status"] == "Finished" and answer.headers.get(HEADER) == "1"
    # Without news the answer comes after the wait, with the record as it is.
    answer = service.api("GET", f"/api/runs/{run.id}", params={"wait": "0.2"})
    assert answer.json()["status"] == "Finished"
    # A plain GET is not a long poll.
    assert HEADER not in service.api("GET", f"/api/runs/{run.id}").headers


@pytest.mark.parametrize("wait", ["soon", "-1", "61", "nan", ""])
def test_a_bad_wait_is_refused_with_what_to_send(env: dict[str, Any], wait: str) -> None:
    answer = env["service"].api("GET", "/api/runs/some-run", params={"wait": wait, "status": "Running"})
    assert answer.status_code == 400, answer.text
    message = answer.json()["error"]["message"]
    assert "'wait' must be a number of seconds from 0 to 60" in message and repr(wait) in message


def test_a_long_poll_of_an_unknown_run_is_a_404(env: dict[str, Any]) -> None:
    answer = env["service"].api("GET", "/api/runs/no-such-run", params={"wait": "5", "status": "Running"})
    assert answer.status_code == 404 and "no run with id 'no-such-run'" in answer.json()["error"]["message"]
