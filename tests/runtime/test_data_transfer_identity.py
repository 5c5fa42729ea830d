"""The DataTransferStep copy driver on identity-based storage (no account key anywhere): Azurite over HTTPS with
OAuth and a loopback managed identity endpoint (tests/identity_storage.py). The driver runs as a DataFactory job
runs it (a subprocess given two transfer references); the source is read through a user delegation SAS when the
account gives one, else streamed, and the step log says which."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient

from durableml.storage_accounts import identity_connection
from tests.identity_storage import IdentityEndpoint, identity_settings, start_oauth_azurite

CLIENT_ID = "0b6c3c5e-5b7e-4f55-9a0f-6d1c1f3c2a11"
DRIVER = Path(__file__).resolve().parents[2] / "durableml" / "runner" / "data_transfer.py"


@pytest.fixture(scope="module")
def identity_storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("identity-transfer")
    azurite, ca = start_oauth_azurite(work / "storage")
    try:
        with IdentityEndpoint(CLIENT_ID) as endpoint:
            settings = identity_settings(azurite, CLIENT_ID)
            env = {**settings, **endpoint.env, "REQUESTS_CA_BUNDLE": str(ca), "SSL_CERT_FILE": str(ca)}
            yield {"azurite": azurite, "env": env, "connection": identity_connection(settings), "ca": ca}
    finally:
        azurite.stop()


def test_an_identity_account_copies_without_a_key(identity_storage: dict[str, Any], tmp_path: Path) -> None:
    env = {**os.environ, **identity_storage["env"]}
    key_client = BlobServiceClient.from_connection_string(
        identity_storage["azurite"].connection_string.replace("http://", "https://"),
        connection_verify=str(identity_storage["ca"]),
    )
    source = key_client.create_container("src")
    key_client.create_container("dst")
    files = {"a/one.txt": b"one\n", "a/two/three.bin": os.urandom(5 * 1024 * 1024 + 3)}
    for name, data in files.items():
        source.upload_blob(name, data)
    conn = identity_storage["connection"]
    assert "AccountKey" not in conn
    refs = []
    for side, binding in (
        ("source", {"container": "src", "path_on_datastore": "a", "connection_string": conn}),
        ("destination", {"container": "dst", "path_on_datastore": "copied", "connection_string": conn,
                         "is_directory": True}),
    ):  # fmt: skip
        path = tmp_path / f"{side}.transfer.json"
        path.write_text(json.dumps(binding))
        refs.append(str(path))
    done = subprocess.run([sys.executable, str(DRIVER), *refs, "identity test"], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "copied 2 file(s)" in done.stdout, done.stdout
    assert "server-side (Copy Blob)" in done.stdout or "streaming through this host" in done.stdout
    destination = key_client.get_container_client("dst")
    for name, data in files.items():
        assert destination.download_blob(f"copied/{name[2:]}").readall() == data
    assert "sig=" not in done.stdout + done.stderr
    print(done.stdout)
