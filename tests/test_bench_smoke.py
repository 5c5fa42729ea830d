"""CI smoke run of the side-by-side benchmark (bench/peers, issue 19), so that its code cannot rot.

Tiny shapes on durableml (a private Azurite + funchost, driven through the SDK as the benchmark does) and the
bare-python floor only: no peer venv is created here, and no timing is asserted, only that every run finished,
every step wrote its file and the report can be made from the rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.peers import procs, report
from bench.peers.run import side_by_side, start_engines
from bench.peers.shapes import missing_outputs, parse, prepare_workdir


def test_shapes_are_in_topological_order() -> None:
    for name in ("chain-4", "fan-3+join", "fan-2"):
        shape = parse(name)
        seen: set[str] = set()
        for step, deps in shape.steps:
            assert set(deps) <= seen, (name, step, deps)
            seen.add(step)
    assert parse("fan-3+join").steps[-1] == ("join", ("b000", "b001", "b002"))
    with pytest.raises(ValueError):
        parse("diamond-3")


def test_process_accounting_sees_this_process() -> None:
    import os

    assert os.getpid() in procs.descendants([os.getpid()])
    assert procs.cpu_seconds([os.getpid()])[os.getpid()] > 0
    assert procs.rss_bytes([os.getpid()]) > 0


def test_side_by_side_smoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DURABLEML_PEERS_CACHE", str(tmp_path / "cache"))  # the floor's empty venv: made here
    shapes = [parse("chain-2"), parse("fan-2+join")]
    engines = start_engines(["durableml", "bare"], tmp_path, log=lambda _: None)
    try:
        warm = parse("chain-1")
        prepare_workdir(tmp_path / "direct")
        engines["bare"].run(warm, tmp_path / "direct")
        assert missing_outputs(warm, tmp_path / "direct") == []
        rows = side_by_side(engines, shapes, 1, tmp_path, warmup=[], emit=lambda _: None)
    finally:
        for engine in engines.values():
            engine.stop()
    assert [r for r in rows if "error" in r] == []
    assert {(r["engine"], r["shape"]) for r in rows} == {(e, s.name) for e in ("durableml", "bare") for s in shapes}
    for row in rows:
        assert row["seconds"] > 0 and row["cpu_s"] >= 0, row
    durable = [r for r in rows if r["engine"] == "durableml"]
    assert all(r["activities"] >= r["steps"] for r in durable), durable
    table = report.table(rows, [s.name for s in shapes])
    assert table[0].startswith("| shape | durableml |") and len(table) == 2 + len(shapes) + 1
    assert any(mark == "not measured" for _, _, mark in report.goals(rows, {}))
