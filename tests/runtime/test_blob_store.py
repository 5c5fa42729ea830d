"""BlobStore against a real Azurite: a blob it uploaded is copied from its local file when both are unchanged."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from durableml.runner.storage import BlobStore
from funchost.azurite import AzuriteHandle

CONTAINER = "store-test"


@pytest.fixture(name="downloads")
def downloads_fixture(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the blobs downloaded through any ContainerClient while the test runs."""
    seen: list[str] = []
    real = ContainerClient.download_blob

    def counting(self: ContainerClient, blob: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(blob))
        return real(self, blob, *args, **kwargs)

    monkeypatch.setattr(ContainerClient, "download_blob", counting)
    return seen


def uploaded(store: BlobStore, tmp_path: Path, text: str) -> tuple[Path, str]:
    source = tmp_path / f"src-{uuid.uuid4().hex[:6]}.txt"
    source.write_text(text)
    name = f"out/{uuid.uuid4().hex}/part.txt"
    store.upload_files(CONTAINER, [(source, name)])
    return source, name


def test_a_blob_it_uploaded_is_copied_from_the_local_file_not_downloaded(
    azurite: AzuriteHandle, tmp_path: Path, downloads: list[str]
) -> None:
    store = BlobStore(azurite.connection_string)
    _, name = uploaded(store, tmp_path, "step output\n")
    etags = store.list_etags(CONTAINER, name.rsplit("/", 1)[0])
    store.download_files(CONTAINER, [(name, tmp_path / "in" / "part.txt")], etags)
    assert (tmp_path / "in" / "part.txt").read_text() == "step output\n" and downloads == []

    store.download_files(CONTAINER, [(name, tmp_path / "plain.txt")])  # no ETags from a listing: downloaded
    assert (tmp_path / "plain.txt").read_text() == "step output\n" and downloads == [name]


def test_a_blob_changed_since_is_downloaded(
    azurite: AzuriteHandle, blobs: BlobServiceClient, tmp_path: Path, downloads: list[str]
) -> None:
    store = BlobStore(azurite.connection_string)
    _, name = uploaded(store, tmp_path, "first\n")
    blobs.get_container_client(CONTAINER).upload_blob(name, b"rewritten by someone else\n", overwrite=True)
    store.download_files(CONTAINER, [(name, tmp_path / "got.txt")], store.list_etags(CONTAINER, name))
    assert (tmp_path / "got.txt").read_text() == "rewritten by someone else\n" and downloads == [name]


def test_a_local_file_changed_since_the_upload_is_not_used(
    azurite: AzuriteHandle, tmp_path: Path, downloads: list[str]
) -> None:
    store = BlobStore(azurite.connection_string)
    source, name = uploaded(store, tmp_path, "as uploaded\n")
    source.write_text("edited later, same size\n"[: len("as uploaded\n")])
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 1_000_000))
    store.download_files(CONTAINER, [(name, tmp_path / "got.txt")], store.list_etags(CONTAINER, name))
    assert (tmp_path / "got.txt").read_text() == "as uploaded\n" and downloads == [name]

    source.unlink()  # gone: downloaded too
    store.download_files(CONTAINER, [(name, tmp_path / "again.txt")], store.list_etags(CONTAINER, name))
    assert (tmp_path / "again.txt").read_text() == "as uploaded\n" and downloads == [name, name]
