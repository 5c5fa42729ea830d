"""Staging many blobs against a real Azurite: plain signed GETs for a large input (names needing URL quoting,
nested folders, a blob bigger than one read), the SDK for small inputs and for intermediate outputs, failures
naming the blob and never the SAS."""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient, ContainerSasPermissions, generate_container_sas

from durableml.runner import staging
from durableml.runner.storage import BlobStore
from funchost.azurite import ACCOUNT_KEY, ACCOUNT_NAME, AzuriteHandle


@pytest.fixture(name="sdk_downloads")
def sdk_downloads_fixture(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = ContainerClient.download_blob

    def counting(self: ContainerClient, blob: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(blob))
        return real(self, blob, *args, **kwargs)

    monkeypatch.setattr(ContainerClient, "download_blob", counting)
    return seen


def _fill(azurite: AzuriteHandle, prefix: str, count: int) -> tuple[str, dict[str, bytes]]:
    container = f"bulk-{uuid.uuid4().hex[:8]}"
    client = BlobServiceClient.from_connection_string(azurite.connection_string).create_container(container)
    blobs = {f"{prefix}/sub{i % 3}/f {i:04d} é+%#?.txt": f"row {i}\n".encode() * (i % 4 + 1) for i in range(count)}
    blobs[f"{prefix}/big.bin"] = os.urandom(staging._READ * 2 + 7)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: client.upload_blob(item[0], item[1]), blobs.items()))
    return container, blobs


def _staged(where: str) -> dict[str, bytes]:
    return {p.relative_to(where).as_posix(): p.read_bytes() for p in Path(where).rglob("*") if p.is_file()}


@pytest.mark.parametrize("path", ["data", "data/**"])
def test_a_large_input_is_fetched_with_plain_gets(
    azurite: AzuriteHandle, tmp_path: Path, sdk_downloads: list[str], path: str
) -> None:
    container, blobs = _fill(azurite, "data", staging.BULK_FILES + 20)
    binding = {"container": container, "path_on_datastore": path, "mode": "mount"}
    where, _ = staging.stage_input("in", binding, tmp_path, tmp_path, BlobStore(azurite.connection_string))
    assert _staged(where) == {name[len("data/") :]: data for name, data in blobs.items()}
    assert sdk_downloads == []


def test_a_sas_datastore_and_small_inputs(azurite: AzuriteHandle, tmp_path: Path, sdk_downloads: list[str]) -> None:
    container, blobs = _fill(azurite, "data", staging.BULK_FILES)
    sas = generate_container_sas(ACCOUNT_NAME, container, account_key=ACCOUNT_KEY,
                                 permission=ContainerSasPermissions(read=True, list=True),
                                 expiry=datetime.now(timezone.utc) + timedelta(hours=1))  # fmt: skip
    by_sas = f"BlobEndpoint=http://127.0.0.1:{azurite.blob_port}/{ACCOUNT_NAME};SharedAccessSignature={sas};"
    binding = {"container": container, "path_on_datastore": "data", "mode": "mount"}
    where, _ = staging.stage_input("in", binding, tmp_path / "a", tmp_path / "a", BlobStore(by_sas))
    assert len(_staged(where)) == len(blobs) and sdk_downloads == []

    small = {"container": container, "path_on_datastore": "data/sub1", "mode": "mount"}
    where, _ = staging.stage_input("in", small, tmp_path / "b", tmp_path / "b", BlobStore(azurite.connection_string))
    assert len(_staged(where)) == len([n for n in blobs if n.startswith("data/sub1/")])
    assert sdk_downloads, "fewer than BULK_FILES blobs go through the SDK"


def test_an_intermediate_output_keeps_the_sdk(azurite: AzuriteHandle, tmp_path: Path, sdk_downloads: list[str]) -> None:
    container, blobs = _fill(azurite, "azureml/step-1/out", staging.BULK_FILES)
    binding = {"container": container, "path_on_datastore": "azureml/step-1/out", "mode": "mount"}
    where, _ = staging.stage_input("in", binding, tmp_path, tmp_path, BlobStore(azurite.connection_string))
    assert len(_staged(where)) == len(blobs)
    assert len(sdk_downloads) == len(blobs)


def test_a_failed_get_names_the_blob_not_the_sas(azurite: AzuriteHandle, tmp_path: Path) -> None:
    container, _ = _fill(azurite, "data", 1)
    client = BlobServiceClient.from_connection_string(azurite.connection_string).get_container_client(container)
    url, sas = staging._signed_url(client) or ("", "")
    assert sas
    with pytest.raises(OSError) as caught:
        staging._bulk_get(url, sas, container, [("data/missing.txt", tmp_path / "missing.txt")])
    assert f"{container}/data/missing.txt" in str(caught.value) and "404" in str(caught.value)
    assert "sig=" not in str(caught.value)


def test_plain_gets_are_not_used_behind_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "")
    monkeypatch.setenv("NO_PROXY", "")
    assert not staging._proxied("http://127.0.0.1:10000/devstoreaccount1/c")
    monkeypatch.setenv("http_proxy", "http://proxy.invalid:3128")
    assert staging._proxied("http://127.0.0.1:10000/devstoreaccount1/c")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    assert not staging._proxied("http://127.0.0.1:10000/devstoreaccount1/c")
