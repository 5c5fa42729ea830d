"""Datasets over http(s) URLs read in user code (issue 12, item 2): to_path, download, to_pandas_dataframe and
take fetch the files themselves, with no workspace, from a local HTTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from durableml.core import Dataset
from durableml.data.url_fetch import UrlFetchError
from tests.http_files import FileServer, serve_files


@pytest.fixture
def web(tmp_path: Path) -> Iterator[FileServer]:
    with serve_files(tmp_path / "web") as files:
        files.write("iris/train/part1.csv", "sepal,label\n1.0,a\n2.0,b\n")
        files.write("iris/train/part2.csv", "sepal,label\n3.0,c\n")
        files.write("iris/notes.txt", "notes")
        yield files


def test_to_path_lists_url_files_as_v1_lays_them_out(web: FileServer) -> None:
    one = Dataset.File.from_files(web.url("iris/notes.txt"))
    assert one.to_path() == ["/notes.txt"]
    several = Dataset.File.from_files([web.url("iris/train/part1.csv"), web.url("iris/notes.txt")])
    assert several.to_path() == ["/train/part1.csv", "/notes.txt"]
    assert several.take(1).to_path() == ["/train/part1.csv"]
    assert web.requests == []  # listing fetches nothing


def test_download_fetches_every_url_below_the_target(web: FileServer, tmp_path: Path) -> None:
    files = Dataset.File.from_files([web.url("iris/train/part1.csv"), web.url("iris/notes.txt")])
    local = files.download(target_path=str(tmp_path / "out"), overwrite=True)
    assert local == [str(tmp_path / "out/train/part1.csv"), str(tmp_path / "out/notes.txt")]
    assert Path(local[1]).read_text() == "notes"
    assert files.skip(1).download(str(tmp_path / "skipped")) == [str(tmp_path / "skipped/notes.txt")]


def test_to_pandas_dataframe_reads_delimited_urls(web: FileServer) -> None:
    table = Dataset.Tabular.from_delimited_files([web.url("iris/train/part1.csv"), web.url("iris/train/part2.csv")])
    frame = table.to_pandas_dataframe()
    assert frame.to_dict(orient="list") == {"sepal": [1.0, 2.0, 3.0], "label": ["a", "b", "c"]}
    assert table.take(2).to_pandas_dataframe()["label"].tolist() == ["a", "b"]


def test_an_http_error_names_the_url_and_status_and_ignore_not_found_skips_404s(
    web: FileServer, tmp_path: Path
) -> None:
    missing = web.url("iris/missing.csv")
    files = Dataset.File.from_files([web.url("iris/notes.txt"), missing], validate=False)
    with pytest.raises(UrlFetchError, match=f"GET {missing} answered HTTP 404"):
        files.download(str(tmp_path / "a"))
    assert files.download(str(tmp_path / "b"), ignore_not_found=True) == [str(tmp_path / "b/notes.txt")]
    with pytest.raises(UrlFetchError, match="answered HTTP 500"):
        Dataset.Tabular.from_delimited_files(f"{web.base}/status/500/x.csv").to_pandas_dataframe()
