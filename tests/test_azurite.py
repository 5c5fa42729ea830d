"""funchost.azurite against a real Azurite: start, serve blobs, stop, reuse, and the failure messages."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Callable

import pytest
from azure.storage.blob import BlobServiceClient

import funchost.azurite as az
from funchost.errors import ConfigError, StorageError


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _three_loopback_endpoints(free_port: Callable[[], int]) -> list[tuple[str, int]]:
    ports: list[int] = []
    while len(ports) < 3:  # distinct: Azurite fails when two services share a port
        port = free_port()
        if port not in ports:
            ports.append(port)
    return [("127.0.0.1", port) for port in ports]


def _roundtrip_blob(conn_str: str, container: str, data: bytes) -> bytes:
    with BlobServiceClient.from_connection_string(conn_str) as service:
        client = service.get_container_client(container)
        if not client.exists():
            client.create_container()
        client.upload_blob("hello.txt", data, overwrite=True)
        return client.download_blob("hello.txt").readall()


def _read_blob(conn_str: str, container: str) -> bytes:
    with BlobServiceClient.from_connection_string(conn_str) as service:
        return service.get_container_client(container).download_blob("hello.txt").readall()


def test_session_azurite_serves_blobs(azurite: az.AzuriteHandle) -> None:
    assert _roundtrip_blob(azurite.connection_string, "session", b"hi") == b"hi"
    assert f"BlobEndpoint=http://127.0.0.1:{azurite.blob_port}/devstoreaccount1;" in azurite.connection_string
    assert (
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
        in azurite.connection_string
    )


def test_start_on_free_ports_then_stop_releases_them(tmp_path: Path) -> None:
    handle = az.start_azurite(tmp_path / "data")
    ports = [handle.blob_port, handle.queue_port, handle.table_port]
    try:
        assert 0 not in ports and len(set(ports)) == 3
        assert all(_port_answers(p) for p in ports)
        assert _roundtrip_blob(handle.connection_string, "fresh", b"payload") == b"payload"
    finally:
        handle.stop()
    assert not handle.is_running()
    assert not any(_port_answers(p) for p in ports)
    handle.stop()  # a second stop is harmless


def test_ensure_starts_azurite_and_data_survives_a_restart(tmp_path: Path, free_port: Callable[[], int]) -> None:
    endpoints = _three_loopback_endpoints(free_port)
    messages: list[str] = []
    handle = az.ensure_azurite(endpoints, tmp_path / "data", messages.append)
    assert handle is not None
    try:
        assert handle.endpoints == endpoints
        assert any("Azurite started" in m for m in messages)
        assert _roundtrip_blob(handle.connection_string, "kept", b"still here") == b"still here"
    finally:
        handle.stop()
    again = az.ensure_azurite(endpoints, tmp_path / "data", None)
    assert again is not None
    try:
        assert _read_blob(again.connection_string, "kept") == b"still here"
    finally:
        again.stop()


def test_ensure_does_not_start_a_second_azurite(azurite: az.AzuriteHandle, tmp_path: Path) -> None:
    messages: list[str] = []
    assert az.ensure_azurite(azurite.endpoints, tmp_path / "data", messages.append) is None
    assert "already listening" in messages[0]
    assert not (tmp_path / "data" / az.LOG_FILE).exists()


def test_port_in_use_gives_storage_error_with_log_tail(tmp_path: Path, free_port: Callable[[], int]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        endpoints = [("127.0.0.1", free_port()), ("127.0.0.1", taken), ("127.0.0.1", free_port())]
        with pytest.raises(StorageError, match=r"(?s)Azurite exited with code .*Last lines of .*EADDRINUSE"):
            az.ensure_azurite(endpoints, tmp_path / "data", None, timeout=30)
    assert not _port_answers(endpoints[0][1])  # the half-started Azurite is gone


def test_missing_node_modules_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, free_port: Callable[[], int]
) -> None:
    monkeypatch.setattr(az, "REPO_ROOT", tmp_path)
    monkeypatch.chdir(tmp_path)
    endpoints = _three_loopback_endpoints(free_port)
    with pytest.raises(ConfigError, match=r"Azurite is not installed.*`npm install`.*scripts/setup\.sh"):
        az.ensure_azurite(endpoints, tmp_path / "data", None, app_dir=tmp_path)
    with pytest.raises(ConfigError, match="npm install"):
        az.start_azurite(tmp_path / "data")


def test_remote_endpoint_is_not_started(tmp_path: Path, free_port: Callable[[], int]) -> None:
    endpoints = [("example.invalid", free_port()), ("127.0.0.1", free_port()), ("127.0.0.1", free_port())]
    with pytest.raises(ConfigError, match="only loopback endpoints"):
        az.ensure_azurite(endpoints, tmp_path / "data", None)


def test_local_endpoints_from_connection_strings() -> None:
    assert az.local_endpoints("UseDevelopmentStorage=true") == [
        ("127.0.0.1", 10000),
        ("127.0.0.1", 10001),
        ("127.0.0.1", 10002),
    ]
    assert az.local_endpoints(az.connection_string(1, 2, 3)) == [("127.0.0.1", 1), ("127.0.0.1", 2), ("127.0.0.1", 3)]
    real = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net"
    assert az.local_endpoints(real) is None
    assert az.local_endpoints(az.connection_string(1, 2, 3, host="10.0.0.5")) is None


def test_azurite_stops_when_its_parent_is_killed(tmp_path: Path) -> None:
    """A crashed funchost (kill -9) must not leave Azurite holding the ports."""
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from funchost.azurite import start_azurite
        handle = start_azurite(Path({str(tmp_path / "data")!r}))
        print(handle.blob_port, flush=True)
        time.sleep(120)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        blob_port = int(parent.stdout.readline())
        assert _port_answers(blob_port)
    finally:
        parent.kill()
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()
    deadline = time.monotonic() + 15
    while _port_answers(blob_port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _port_answers(blob_port)
