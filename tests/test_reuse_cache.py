"""The reuse index as this process knows it (durableml.service.reuse): an entry found or written here is not read
from storage again; the absence of one is never remembered; state.reset() forgets them all."""

from __future__ import annotations

from typing import Any, Iterator, Optional

import pytest

from durableml.service import reuse, state
from durableml.service.runs import RunStatic


class _Records:
    def __init__(self) -> None:
        self.stored: dict[str, dict[str, Any]] = {}
        self.reads = 0

    def get(self, table: str, pk: str, rk: str) -> Optional[dict[str, Any]]:
        self.reads += 1
        return self.stored.get(rk)

    def put(self, table: str, pk: str, rk: str, doc: dict[str, Any]) -> None:
        self.stored[rk] = doc


@pytest.fixture
def stored(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Records]:
    fake = _Records()
    monkeypatch.setattr(reuse, "records", lambda: fake)
    state.reset()
    yield fake
    state.reset()


RUN = RunStatic("run-2", "exp", {}, False, {"steps": []}, {})
STEP = {"id": "s1", "allowReuse": True}


def _identity(key: str) -> dict[str, Any]:
    return {"key": key, "data_key": f"data-{key}"}


def test_an_entry_written_here_is_found_without_reading_storage(stored: _Records) -> None:
    reuse.remember(STEP, {"id": "run-1:s1", "status": "Finished", "outputs": {"o": 1}, "reuse": _identity("k1")})
    found = reuse.find(RUN, STEP, _identity("k1"))
    assert found is not None and found["id"] == "run-1:s1" and found["outputs"] == {"o": 1}
    assert stored.reads == 0


def test_an_entry_read_once_is_remembered_and_a_missing_one_is_asked_for_again(stored: _Records) -> None:
    assert reuse.find(RUN, STEP, _identity("k2")) is None
    assert reuse.find(RUN, STEP, _identity("k2")) is None
    assert stored.reads == 2  # absence is not remembered: another process may have run the step since
    stored.stored["k2"] = {"id": "run-0:s1", "outputs": {}, "data_key": "d"}  # written by another process
    assert reuse.find(RUN, STEP, _identity("k2"))["id"] == "run-0:s1"  # type: ignore[index]
    assert reuse.find(RUN, STEP, _identity("k2"))["id"] == "run-0:s1"  # type: ignore[index]
    assert stored.reads == 3
    state.reset()
    reuse.find(RUN, STEP, _identity("k2"))
    assert stored.reads == 4


def test_regenerate_outputs_and_allow_reuse_false_never_look(stored: _Records) -> None:
    reuse.remember(STEP, {"id": "run-1:s1", "status": "Finished", "outputs": {}, "reuse": _identity("k3")})
    regenerate = RunStatic("run-3", "exp", {}, True, {"steps": []}, {})
    assert reuse.find(regenerate, STEP, _identity("k3")) is None
    assert reuse.find(RUN, {"id": "s1", "allowReuse": False}, _identity("k3")) is None


def test_a_recent_map_forgets_what_was_written_longest_ago() -> None:
    recent: state.Recent[str, int] = state.Recent(2)
    recent.put("a", 1)
    recent.put("b", 2)
    recent.put("a", 3)  # written again: now the newest
    recent.put("c", 4)
    assert (recent.get("a"), recent.get("b"), recent.get("c"), len(recent)) == (3, None, 4, 2)
    recent.clear()
    assert recent.get("a") is None and len(recent) == 0
