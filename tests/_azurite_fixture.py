"""A private Azurite and helpers for the trigger-listener tests (kept apart from conftest.py).

:func:`run_azurite` starts Azurite from ``node_modules`` on free loopback ports with its data in a
temp dir and yields a :class:`Storage` (a connection string plus ready-made clients); it stops the
process it started when done. :func:`upload`, :func:`queue` and :func:`message_count` are small
storage helpers; :func:`wait_until` polls a condition from async code.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient, QueueServiceClient

from funchost.storage import DEVSTORE_ACCOUNT, DEVSTORE_KEY

REPO_ROOT = Path(__file__).resolve().parent.parent
AZURITE = REPO_ROOT / "node_modules" / ".bin" / "azurite"


@dataclass
class Storage:
    """A running private Azurite: its connection string and service clients."""

    connection_string: str
    blob: BlobServiceClient
    queue: QueueServiceClient


def _free_ports(count: int) -> list[int]:
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"azurite exited with code {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"azurite did not listen on port {port} within {timeout} s")


def run_azurite(data_dir: Path) -> Iterator[Storage]:
    """Start Azurite (blob, queue, table) on free ports; yield a :class:`Storage`; stop it."""
    blob_port, queue_port, table_port = _free_ports(3)
    args = [
        str(AZURITE),
        "--skipApiVersionCheck",
        "--disableTelemetry",
        "--silent",
        "--location",
        str(data_dir),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(blob_port),
        "--queueHost",
        "127.0.0.1",
        "--queuePort",
        str(queue_port),
        "--tableHost",
        "127.0.0.1",
        "--tablePort",
        str(table_port),
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(blob_port, proc)
        _wait_port(queue_port, proc)
        conn = (
            f"DefaultEndpointsProtocol=http;AccountName={DEVSTORE_ACCOUNT};AccountKey={DEVSTORE_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{blob_port}/{DEVSTORE_ACCOUNT};"
            f"QueueEndpoint=http://127.0.0.1:{queue_port}/{DEVSTORE_ACCOUNT};"
            f"TableEndpoint=http://127.0.0.1:{table_port}/{DEVSTORE_ACCOUNT};"
        )
        blob = BlobServiceClient.from_connection_string(conn)
        queue = QueueServiceClient.from_connection_string(conn)
        try:
            yield Storage(conn, blob, queue)
        finally:
            blob.close()
            queue.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def upload(storage: Storage, container: str, name: str, data: bytes, **kwargs: Any) -> str:
    """Upload a blob (creating the container); returns its ETag as the upload response gives it."""
    client = storage.blob.get_container_client(container)
    if not client.exists():
        client.create_container()
    return str(client.get_blob_client(name).upload_blob(data, overwrite=True, **kwargs)["etag"])


def queue(storage: Storage, name: str) -> QueueClient:
    """A client for queue ``name``, created if missing."""
    client = storage.queue.get_queue_client(name)
    try:
        client.create_queue()
    except ResourceExistsError:
        pass
    return client


def message_count(client: QueueClient) -> int:
    """Approximate number of messages in a queue; 0 if it does not exist."""
    try:
        return int(client.get_queue_properties().approximate_message_count)
    except ResourceNotFoundError:
        return 0


async def wait_until(
    condition: Callable[[], Awaitable[bool] | bool],
    timeout: float = 30.0,
    interval: float = 0.05,
    what: str = "condition",
) -> None:
    """Poll ``condition`` (sync or async) until it is true; AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)
