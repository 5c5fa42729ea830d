"""durableml.service.changes: a write of a run's record wakes its long-polling readers at once."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from durableml.service import changes

TERMINAL = {"Finished", "Failed", "Canceled"}


class Records:
    """A run record that a writer thread changes; counts reads."""

    def __init__(self, status: str) -> None:
        self.record: dict[str, Any] = {"id": "run-1", "status": status, "version": 0}
        self.reads = 0

    def read(self) -> dict[str, Any]:
        self.reads += 1
        return dict(self.record)

    def write_later(
        self, delay: float, notify: str | None = "run-1", step: bool = True, **fields: Any
    ) -> threading.Timer:
        def write() -> None:
            self.record.update(fields, version=self.record["version"] + 1)
            changes.changed(notify, step)

        timer = threading.Timer(delay, write)
        timer.start()
        return timer


def poll(records: Records, known: str | None, wait: float, limit: float = 10.0, steps: bool = True) -> dict[str, Any]:
    """read_when_changed, failing (TimeoutError) if it has not answered within ``limit`` seconds."""

    async def main() -> dict[str, Any]:
        answer = changes.read_when_changed("run-1", records.read, known, wait, TERMINAL, steps)
        return await asyncio.wait_for(answer, limit)

    return asyncio.run(main())


def test_a_step_record_written_from_another_thread_wakes_the_reader_before_its_wait_ends() -> None:
    records = Records("Running")
    records.write_later(0.1, steps="one more finished")
    answer = poll(records, "Running", wait=60)  # without the wake-up: 60 s, and the 10 s limit fails the test
    assert answer["status"] == "Running" and answer["version"] == 1


def test_a_write_of_the_run_s_own_record_wakes_a_reader_that_waits_for_its_status_only() -> None:
    records = Records("Running")
    records.write_later(0.1, step=False, properties="tagged")
    answer = poll(records, "Running", wait=60, steps=False)
    assert answer["version"] == 1


def test_step_writes_wake_only_the_readers_that_watch_steps() -> None:
    async def main() -> tuple[bool, bool, bool]:
        with changes.watch("run-1", steps=False) as status_only, changes.watch("run-1") as everything:
            changes.changed("run-1", step=True)
            await asyncio.sleep(0.01)  # the wake-up is scheduled on this loop
            woken = (status_only._event.is_set(), everything._event.is_set())
            changes.changed("run-1")
            await asyncio.sleep(0.01)
            return (*woken, status_only._event.is_set())

    assert asyncio.run(main()) == (False, True, True)


def test_a_status_other_than_the_known_one_is_answered_at_once() -> None:
    records = Records("Finished")
    assert poll(records, "Running", wait=60, limit=5)["status"] == "Finished"
    assert records.reads == 1
    assert poll(records, "Finished", wait=60, limit=5)["status"] == "Finished"  # terminal: nothing more to wait for


def test_without_news_the_reader_answers_after_its_wait_with_the_record_as_it_is() -> None:
    records = Records("Running")
    assert poll(records, "Running", wait=0.2) == {"id": "run-1", "status": "Running", "version": 0}


def test_news_of_another_run_does_not_wake_the_reader_but_its_own_re_read_sees_writes_made_elsewhere() -> None:
    records = Records("Running")
    records.write_later(0.05, notify="run-2", steps="another run's")
    # A write another instance made (no wake-up here) with a new status: seen by the periodic re-read.
    records.write_later(0.1, notify=None, status="Finished")
    answer = poll(records, "Running", wait=60)
    assert answer["status"] == "Finished"
    assert records.reads >= 2


def test_watches_are_removed_when_readers_leave() -> None:
    poll(Records("Running"), "Running", wait=0.05)
    assert changes._watches == {}
    changes.changed("run-1")  # nobody watching: nothing to do
    changes.changed(None)
