"""URL dataset inputs and missing mounted paths in the step runner's staging (issue 12), without Azurite:
a local HTTP server on 127.0.0.1 (tests/http_files.py) and an in-memory blob store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

import pytest

from durableml.data import url_fetch
from durableml.exceptions import NotFoundError, ValidationError
from durableml.runner.staging import stage_input
from tests.http_files import FileServer, serve_files


class MemoryStore:
    """The few BlobStore calls staging makes, over a dict of container -> {name: bytes}."""

    def __init__(self, blobs: Mapping[str, Mapping[str, bytes]]) -> None:
        self.blobs = {c: dict(b) for c, b in blobs.items()}

    def list_etags(self, container: str, prefix: str) -> dict[str, str]:
        return {n: "e" for n in self.blobs.get(container, {}) if n.startswith(prefix)}

    def list_names(self, container: str, prefix: str) -> list[str]:
        return list(self.list_etags(container, prefix))

    def download_files(
        self, container: str, pairs: Iterable[tuple[str, Path]], etags: Optional[Mapping[str, str]] = None
    ) -> int:
        count = 0
        for name, path in pairs:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.blobs[container][name])
            count += 1
        return count


@pytest.fixture
def web(tmp_path: Path) -> Iterator[FileServer]:
    with serve_files(tmp_path / "web") as files:
        yield files


def _stage(tmp_path: Path, binding: Mapping[str, Any], store: Any = None) -> tuple[str, list[str]]:
    job = tmp_path / "job"
    return stage_input("data", binding, job, job / "snapshot", store or MemoryStore({}))


def _dataset(*paths: Mapping[str, str], kind: str = "file", transforms: Any = ()) -> dict[str, Any]:
    return {"datasetType": kind, "paths": list(paths), "format": {}, "transforms": list(transforms)}


def _binding(dataset: Any, mode: str = "mount", **extra: Any) -> dict[str, Any]:
    return {"container": "c", "datastore": "store", "path_on_datastore": "", "mode": mode, "dataset": dataset, **extra}


def _tree(path: str) -> dict[str, str]:
    root = Path(path)
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_one_url_is_fetched_to_a_file_path_named_after_its_last_segment(web: FileServer, tmp_path: Path) -> None:
    url = web.write("data/iris.csv", "a,b\n1,2\n")
    path, notes = _stage(tmp_path, _binding(_dataset({"url": url})))
    assert Path(path).name == "iris.csv" and Path(path).read_text() == "a,b\n1,2\n"
    assert "fetched 1 file(s), 8 bytes" in notes[0] and url in notes[0]


def test_several_urls_keep_what_follows_the_folder_they_share(web: FileServer, tmp_path: Path) -> None:
    urls = [web.write("d/train/a.csv", "x\n1\n"), web.write("d/test/a.csv", "x\n2\n"), web.write("d/notes.txt", "n")]
    path, _ = _stage(tmp_path, _binding(_dataset(*({"url": u} for u in urls)), mode="download"))
    assert _tree(path) == {"notes.txt": "n", "test/a.csv": "x\n2\n", "train/a.csv": "x\n1\n"}


def test_a_redirect_is_followed_and_take_selects_files(web: FileServer, tmp_path: Path) -> None:
    web.write("r/one.csv", "1")
    web.write("r/two.csv", "2")
    urls = [f"{web.base}/redirect/r/one.csv", f"{web.base}/redirect/r/two.csv"]
    dataset = _dataset(*({"url": u} for u in urls), transforms=[{"kind": "take", "count": 1}])
    path, _ = _stage(tmp_path, _binding(dataset))
    assert _tree(path) == {"one.csv": "1"}


def test_urls_and_datastore_paths_make_one_directory(web: FileServer, tmp_path: Path) -> None:
    url = web.write("w/extra.csv", "e")
    store = MemoryStore({"c": {"base/x/a.csv": b"a", "base/x/b.csv": b"b"}})
    dataset = _dataset({"datastore": "store", "path": "base/x"}, {"url": url})
    path, _ = _stage(tmp_path, _binding(dataset), store)
    assert _tree(path) == {"a.csv": "a", "b.csv": "b", "extra.csv": "e"}


@pytest.mark.parametrize(("route", "status"), [("status/404/gone.csv", 404), ("status/500/boom.csv", 500)])
def test_an_http_error_names_the_url_and_the_status(web: FileServer, tmp_path: Path, route: str, status: int) -> None:
    url = f"{web.base}/{route}"
    with pytest.raises(url_fetch.UrlFetchError) as failed:
        _stage(tmp_path, _binding(_dataset({"url": url})))
    assert f"GET {url} answered HTTP {status}" in str(failed.value) and failed.value.status == status
    assert not list((tmp_path / "job").rglob("*.part"))


def test_a_missing_file_on_the_server_is_a_404(web: FileServer, tmp_path: Path) -> None:
    with pytest.raises(url_fetch.UrlFetchError, match="answered HTTP 404"):
        _stage(tmp_path, _binding(_dataset({"url": web.url("nope.csv")})))


def test_a_cut_body_is_retried_then_fails(web: FileServer, tmp_path: Path) -> None:
    url = f"{web.base}/short/cut.csv"
    with pytest.raises(url_fetch.UrlFetchError, match="tried 3 times"):
        _stage(tmp_path, _binding(_dataset({"url": url})))
    assert web.requests.count("/short/cut.csv") == 3


def test_a_file_over_the_size_limit_is_refused(web: FileServer, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv(url_fetch.MAX_BYTES_SETTING, "4")
    with pytest.raises(url_fetch.UrlFetchError, match="larger than 4 bytes"):
        _stage(tmp_path, _binding(_dataset({"url": web.write("big.csv", "0123456789")})))


def test_a_sas_signature_never_reaches_a_message(web: FileServer, tmp_path: Path) -> None:
    url = f"{web.base}/status/403/secret.csv?sv=2021&sig=SECRETSIG%3D&se=2030"
    with pytest.raises(url_fetch.UrlFetchError) as failed:
        _stage(tmp_path, _binding(_dataset({"url": url})))
    assert "SECRETSIG" not in str(failed.value) and "HTTP 403" in str(failed.value)
    assert url_fetch.safe_url("https://u:pw@h/p?a=1") == "https://h/p?a=1"
    assert "sig" not in url_fetch.safe_url("https://h/p?sp=r&sig=abc")


def test_url_layout_rules() -> None:
    assert url_fetch.url_layout(["https://h/a/b/c.csv"]) == [("https://h/a/b/c.csv", "c.csv")]
    two_hosts = url_fetch.url_layout(["https://h/a.csv", "https://g/a.csv"])
    assert [rel for _, rel in two_hosts] == ["h/a.csv", "g/a.csv"]
    with pytest.raises(ValidationError, match="names no file"):
        url_fetch.url_layout(["https://h/folder/"])
    with pytest.raises(ValidationError, match="would both be the file"):
        url_fetch.url_layout(["https://h/d/a.csv?v=1", "https://h/d/a.csv?v=2"])


# ---- a path with no blobs (issue 12, item 3)
def test_a_mounted_path_with_no_blobs_is_an_empty_folder_with_a_note(tmp_path: Path) -> None:
    store = MemoryStore({"c": {"other/file.txt": b"x"}})
    binding = {"container": "c", "datastore": "store", "path_on_datastore": "not/yet", "mode": "mount"}
    path, notes = _stage(tmp_path, binding, store)
    assert Path(path).is_dir() and not list(Path(path).iterdir())
    assert "path 'not/yet' on datastore 'store' (container 'c') has no data" in notes[0], notes


def test_a_downloaded_path_with_no_blobs_is_an_error_naming_datastore_and_path(tmp_path: Path) -> None:
    binding = {"container": "c", "datastore": "store", "path_on_datastore": "not/yet", "mode": "download"}
    with pytest.raises(NotFoundError, match=r"nothing found at c/not/yet \(path 'not/yet' on datastore 'store'"):
        _stage(tmp_path, binding, MemoryStore({"c": {}}))


def test_a_mounted_dataset_with_no_files_is_still_an_error(tmp_path: Path) -> None:
    dataset = _dataset({"datastore": "store", "path": "not/yet"})
    binding = {**_binding(dataset), "path_on_datastore": "not/yet"}
    with pytest.raises(NotFoundError, match="nothing found at c/not/yet"):
        _stage(tmp_path, binding, MemoryStore({"c": {}}))
