"""durableml.runner.background: tasks on daemon threads kept between tasks."""

from __future__ import annotations

import logging
import threading

import pytest

from durableml.runner import background


def test_a_task_runs_under_its_name_and_its_event_says_when_it_ended() -> None:
    seen: list[tuple[str, bool]] = []
    done = background.start(
        lambda: seen.append((threading.current_thread().name, threading.current_thread().daemon)), "job:abc"
    )
    assert done.wait(10)
    assert seen == [("job:abc", True)]


def test_a_steady_stream_of_tasks_starts_no_new_threads() -> None:
    assert background.start(lambda: None, "warm-up").wait(10)
    before = threading.active_count()
    for i in range(20):
        assert background.start(lambda: None, f"task {i}").wait(10)
    assert threading.active_count() == before


def test_tasks_that_run_at_the_same_time_get_a_thread_each() -> None:
    barrier = threading.Barrier(3, timeout=10)  # raises BrokenBarrierError unless all three meet
    met: list[int] = []
    events = [background.start(lambda: met.append(barrier.wait()), f"parallel {i}") for i in range(3)]
    assert all(event.wait(15) for event in events)
    assert sorted(met) == [0, 1, 2]


def test_a_failing_task_is_logged_with_its_traceback_and_the_thread_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    def fail() -> None:
        raise RuntimeError("upload went wrong")

    with caplog.at_level(logging.ERROR, logger="durableml.runner"):
        assert background.start(fail, "log:job-1").wait(10)
    assert "background task log:job-1 failed" in caplog.text and "RuntimeError: upload went wrong" in caplog.text
    before = threading.active_count()
    ran: list[bool] = []
    assert background.start(lambda: ran.append(True), "after").wait(10)
    assert ran == [True] and threading.active_count() == before
