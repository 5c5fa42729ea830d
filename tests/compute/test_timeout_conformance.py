"""A job spec's ``timeout`` (a step's time limit, see ``durableml.service.timeouts``) is honoured the same way by
every compute backend in ``conftest.HARNESSES``: the script and its child processes are stopped once it has run
that long, and the job ends Failed "timed out after N s". (The orchestration's own deadline, which cancels the job
through the backend's ``cancel``, is backend-independent: ``tests/e2e/test_step_timeout.py``.)"""

from __future__ import annotations

from typing import Any, Callable

from durableml.compute import JobState
from tests.polling import wait_until
from tests.runtime.conftest import process_gone

from .conftest import Harness, StepFactory

TIMEOUT = 90.0  # a Ray job takes a few seconds to start on a busy two-core machine


def test_a_job_over_its_timeout_is_stopped_with_its_processes_and_fails(
    new_backend: Callable[..., Any], harness: Harness, step: StepFactory
) -> None:
    spec = step(
        """\
        import subprocess, sys, time
        child = subprocess.Popen(["sleep", "120"])
        print("sleeping", child.pid, flush=True)
        time.sleep(120)
        """,
        timeout=5,
    )
    backend = new_backend()
    backend.submit(spec)

    def child_pid() -> int | None:  # from the script's whole "sleeping <pid>" line
        for line in str(backend.logs(spec.job_id)).splitlines(keepends=True):
            if line.startswith("sleeping ") and line.endswith("\n"):
                return int(line.split()[1])
        return None

    child = int(wait_until(child_pid, timeout=TIMEOUT, what="the script"))
    script = wait_until(lambda: harness.script_pid(backend, spec.job_id), timeout=TIMEOUT, what="the script's pid")
    status = backend.wait(spec.job_id, timeout=TIMEOUT)
    assert status.state is JobState.FAILED, status
    assert str(status.error).startswith("timed out after 5 s"), status.error
    wait_until(lambda: process_gone(script) and process_gone(child), timeout=15, what="the script and its child gone")
