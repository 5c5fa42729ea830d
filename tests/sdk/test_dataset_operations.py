"""Units of the dataset operations: partition formats (v1's rules and messages), filter records, column types,
and the partition writer read back through the tabular reader (real files, DuckDB, pandas)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from durableml.data import DataType, TabularDataset
from durableml.data.column_types import column_types
from durableml.data.expressions import ColumnExpression, check, evaluate
from durableml.data.partition_writer import write_partitions
from durableml.data.partitions import group_files, parse_partition_format, source_path
from durableml.data.tabular_reader import convert_column, read_dataframe
from durableml.exceptions import ValidationError


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("data.csv", 'Invalid partition_format "data.csv". There must be at least one {column_name}'),
        ("{}/x.csv", 'Invalid part "{}" in partition_format "{}/x.csv". Column name is not specified.'),
        ("{d:}/x.csv", 'Invalid part "{d:}" in partition_format "{d:}/x.csv". Date format is not specified.'),
        ("{d:MM/dd}/x.csv", "Format 'yyyy' must be defined for datetime column."),
        ("{a:yyyy}/{b:yyyy}", "There cannot be more than one date part."),
        ("{a}/}x", "Brackets must is pair and cannot be nested"),
        ("{_sys_yyyy}/x", "The specified column name is reserved."),
    ],
)
def test_partition_format_errors_are_v1s(text: str, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_partition_format(text)
    assert message in str(raised.value)


def test_partition_values_from_paths() -> None:
    fmt = parse_partition_format("/{Department}/{PartitionDate:yyyy/MM/dd}/data.parquet")
    assert fmt.columns == ("Department", "PartitionDate")  # the datetime column last, as v1 orders them
    assert fmt.values("/root/Accounts/2019/01/02/data.parquet") == {
        "Department": "Accounts",
        "PartitionDate": dt.datetime(2019, 1, 2),
    }
    assert fmt.values("/root/Accounts/2019/01/02/other.parquet") is None
    assert fmt.values("/root/Accounts/2019/13/02/data.parquet") == {"Department": "Accounts", "PartitionDate": None}
    stamp = parse_partition_format("{key}/{when:yyyyMMddHHmmss}*/*.parquet")  # partition_by's format
    assert stamp.values("/out/guid/US/20200102030405/part-00000.parquet") == {
        "key": "US",
        "when": dt.datetime(2020, 1, 2, 3, 4, 5),
    }
    names = parse_partition_format("{my-col}/{my col}/*")  # any column name (not only Python identifiers)
    assert names.values("/a/b/c.csv") == {"my-col": "a", "my col": "b"}


def test_source_paths_are_rebuilt_from_the_dataset_root() -> None:
    glob = {"paths": [{"datastore": "s", "path": "sales/**/*.csv"}]}
    assert source_path(glob, "CA/2020/01/01/data.csv") == "/sales/CA/2020/01/01/data.csv"
    one = {"paths": [{"datastore": "s", "path": "sales/CA/data.csv"}]}
    assert source_path(one, "data.csv") == "/sales/CA/data.csv"
    several = {"paths": [{"datastore": "s", "path": "d/train/*.csv"}, {"datastore": "s", "path": "d/test"}]}
    assert source_path(several, "test/a.csv") == "/d/test/a.csv"


def test_group_files_by_partition_values(tmp_path: Path) -> None:
    for rel in ("CA/2020/a.csv", "CA/2020/b.csv", "WA/2021/c.csv", "notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x\n")
    definition = {"paths": [{"datastore": "s", "path": "data/**"}], "partitionFormat": "{state}/{year:yyyy}/*.csv"}
    files = [str(p) for p in tmp_path.rglob("*") if p.is_file()]
    groups = group_files(definition, str(tmp_path), files)
    assert [(values, [Path(f).name for f in fs]) for values, fs in groups] == [
        ({"state": "CA", "year": dt.datetime(2020, 1, 1)}, ["a.csv", "b.csv"]),
        ({"state": "WA", "year": dt.datetime(2021, 1, 1)}, ["c.csv"]),
    ]
    assert [values for values, _ in group_files(definition, str(tmp_path), files, ["state"])] == [
        {"state": "CA"},
        {"state": "WA"},
    ]
    with pytest.raises(ValidationError, match=r"\['country'\] are invalid partition keys"):
        group_files(definition, str(tmp_path), files, ["country"])


def test_filter_records_are_checked_and_evaluated() -> None:
    frame = pd.DataFrame({"n": [1, 5, None, 10], "s": ["abc", 7, None, "xbd"]})
    n, s = ColumnExpression("n"), ColumnExpression("s")
    expression = ((n >= 5) & ~s.starts_with("x")) | s.contains("b")
    record = expression.to_dict()
    assert check(record) == record
    assert evaluate(frame, record).tolist() == [True, True, False, True]
    assert evaluate(frame, (n != 5).to_dict()).tolist() == [True, False, False, True]  # missing: false
    assert evaluate(frame, s.ends_with("c").to_dict()).tolist() == [True, False, False, False]  # 7 is no string
    for bad in (
        {"op": "eval", "left": {"column": "n"}, "right": {"value": "__import__('os')"}},
        {"op": "gt", "left": {"value": 1}, "right": {"column": "n"}},
        {"op": "and", "args": [{"op": "is_null", "left": {"column": "n"}}]},
        {"op": "gt", "left": {"column": "n"}, "right": {"value": [1, 2]}},
        "n > 5",
    ):
        with pytest.raises(ValidationError):
            check(bad)
    with pytest.raises(TypeError, match="no truth value"):
        bool(n > 1)
    dataset = TabularDataset({"paths": [{"datastore": "s", "path": "a.csv"}]})
    with pytest.raises(ValidationError, match="filter takes an expression"):
        dataset.filter("n > 5")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not iterable"):
        list(dataset)


def test_filter_on_datetime_columns() -> None:
    frame = pd.DataFrame({"when": pd.to_datetime(["2020-01-01", "2021-06-01"])})
    when = ColumnExpression("when")
    assert evaluate(frame, (when > dt.datetime(2020, 6, 1)).to_dict()).tolist() == [False, True]
    assert evaluate(frame, (when <= dt.date(2020, 1, 1)).to_dict()).tolist() == [True, False]


def test_column_types_convert_or_null_or_fail() -> None:
    text = pd.Series(["1", "2.5", "x", None])
    assert convert_column(text, {"type": "long"}).tolist()[:1] == [1]
    assert convert_column(text, {"type": "long"}).isna().tolist() == [False, True, True, True]
    assert convert_column(pd.Series(["1,5", "1.234,5"]), {"type": "float", "decimalMark": ","}).tolist() == [
        1.5,
        1234.5,
    ]
    assert convert_column(pd.Series(["yes", "False", "0", "maybe"]), {"type": "bool"}).tolist()[:3] == [
        True,
        False,
        False,
    ]
    dates = convert_column(pd.Series(["31.12.2020", "2020-12-31"]), {"type": "datetime", "formats": ["%d.%m.%Y"]})
    assert dates[0] == pd.Timestamp(2020, 12, 31) and pd.isna(dates[1])
    with pytest.raises(ValidationError, match=r"column 'c': 2 value\(s\) cannot be converted to long"):
        convert_column(pd.Series(["1", "2.5", "x"], name="c"), {"type": "long"}, on_error="fail")
    assert column_types({"a": DataType.to_float(",")}) == {"a": {"type": "float", "decimalMark": ","}}
    with pytest.raises(ValidationError, match="must be a dictionary where key is column name"):
        column_types({"a": "long"})


def test_partition_writer_round_trip(tmp_path: Path) -> None:
    frame = pd.DataFrame({"k": ["b", "a", "b"], "n": [1, 2, 3], "v": [0.5, 1.5, 2.5]})
    written = write_partitions(frame, ["k", "n"], str(tmp_path))
    assert sorted(str(Path(f).relative_to(tmp_path)) for f in written.files) == [
        "a/2/part-00000.parquet",
        "b/1/part-00000.parquet",
        "b/3/part-00000.parquet",
    ]
    definition = {
        "paths": [{"datastore": "s", "path": "out/*/*/*.parquet"}],
        "format": {"kind": "parquet", "setColumnTypes": written.key_types},
        "partitionFormat": "/out/{k}/{n}/*.parquet",
    }
    back = read_dataframe(written.files, definition, str(tmp_path)).sort_values("v").reset_index(drop=True)
    assert back.to_dict(orient="list") == {"v": [0.5, 1.5, 2.5], "k": ["b", "a", "b"], "n": [1, 2, 3]}
    with pytest.raises(ValidationError, match="missing values"):
        write_partitions(pd.DataFrame({"k": ["a", None], "v": [1, 2]}), ["k"], str(tmp_path / "x"))
    with pytest.raises(ValidationError, match="cannot be a folder name"):
        write_partitions(pd.DataFrame({"k": ["a/b"], "v": [1]}), ["k"], str(tmp_path / "y"))
    with pytest.raises(ValidationError, match="at least one other column"):
        write_partitions(pd.DataFrame({"k": ["a"]}), ["k"], str(tmp_path / "z"))
