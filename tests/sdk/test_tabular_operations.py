"""TabularDataset operations v1 pipelines use: take_sample, with_timestamp_columns and the time filters."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from durableml.data.tabular_dataset import TabularDataset
from durableml.data.tabular_reader import read_dataframe
from durableml.exceptions import ValidationError

pytest.importorskip("pandas")


def _table(tmp_path: Path) -> tuple[TabularDataset, list[str]]:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    rows = [("a", now - timedelta(days=10)), ("b", now - timedelta(days=3)), ("c", now - timedelta(hours=1)),
            ("d", datetime(2026, 1, 15, tzinfo=timezone.utc))]  # fmt: skip
    path = tmp_path / "events.csv"
    path.write_text("name,at\n" + "".join(f"{n},{t.isoformat()}\n" for n, t in rows))
    definition = {"datasetType": "tabular", "paths": [{"datastore": "s", "path": "events.csv"}],
                  "format": {"kind": "delimited"}, "transforms": []}  # fmt: skip
    return TabularDataset(definition, None), [str(path)]


def _names(dataset: TabularDataset, files: list[str]) -> list[str]:
    return list(read_dataframe(files, dataset.to_dict())["name"])


def test_time_filters_keep_the_rows_in_range(tmp_path: Path) -> None:
    table, files = _table(tmp_path)
    timed = table.with_timestamp_columns(timestamp="at")
    assert timed.timestamp_columns == ("at", None)
    assert _names(timed.time_recent(timedelta(days=5)), files) == ["b", "c"]
    assert _names(timed.time_before(datetime(2026, 1, 15, tzinfo=timezone.utc)), files) == ["d"]
    assert _names(timed.time_before(datetime(2026, 1, 15, tzinfo=timezone.utc), include_boundary=False), files) == []
    assert _names(timed.time_after(datetime(2026, 1, 15, tzinfo=timezone.utc), include_boundary=False), files) == [
        "a", "b", "c"]  # fmt: skip
    start = datetime.now(timezone.utc) - timedelta(days=4)
    assert _names(timed.time_between(start, datetime.now(timezone.utc)), files) == ["b", "c"]


def test_time_filters_need_a_timestamp_column(tmp_path: Path) -> None:
    table, _files = _table(tmp_path)
    with pytest.raises(ValidationError, match="with_timestamp_columns"):
        table.time_before(datetime(2026, 1, 1))
    with pytest.raises(ValidationError, match="timedelta"):
        table.with_timestamp_columns("at").time_recent(5)
    cleared = table.with_timestamp_columns("at").with_timestamp_columns(None)
    with pytest.raises(ValidationError, match="with_timestamp_columns"):
        cleared.time_after(datetime(2026, 1, 1))


def test_take_sample_is_a_seeded_subset_in_order(tmp_path: Path) -> None:
    table, files = _table(tmp_path)
    first, again = _names(table.take_sample(0.5, seed=7), files), _names(table.take_sample(0.5, seed=7), files)
    assert first == again and set(first) <= {"a", "b", "c", "d"}
    assert first == sorted(first, key="abcd".index)  # the records keep their order
    assert _names(table.take_sample(1.0), files) == ["a", "b", "c", "d"]
    with pytest.raises(ValidationError, match="probability"):
        table.take_sample(0)
