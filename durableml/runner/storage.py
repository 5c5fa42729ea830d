"""Blob access for the step runner: one client per storage account, containers created once.

azure-storage-blob is imported here, on first use, never when ``durableml.runner`` is imported: the
worker pays the import once, and the user's script never does. Clients are cached per connection
string and shared by the worker's job threads (the Azure SDK clients are thread-safe).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional

from durableml.exceptions import NotFoundError

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient, BlobServiceClient, ContainerClient

__all__ = ["BlobStore", "get_store", "LOGS_CONTAINER", "ARTIFACTS_CONTAINER", "SNAPSHOTS_CONTAINER"]

LOGS_CONTAINER = "durableml-logs"
ARTIFACTS_CONTAINER = "durableml-artifacts"
SNAPSHOTS_CONTAINER = "durableml-snapshots"
PARALLEL_TRANSFERS = 8

_stores: dict[str, BlobStore] = {}
_stores_lock = threading.Lock()


def get_store(connection_string: str) -> BlobStore:
    """The shared :class:`BlobStore` of a storage account (created on first use)."""
    with _stores_lock:
        store = _stores.get(connection_string)
        if store is None:
            store = _stores[connection_string] = BlobStore(connection_string)
        return store


def warm_up() -> None:
    """Import the Azure SDK now (about 0.3 s), so the first job does not pay for it."""
    import azure.storage.blob  # noqa: F401


class BlobStore:
    """Containers and blobs of one storage account, with the few transfers the runner needs."""

    def __init__(self, connection_string: str) -> None:
        from azure.storage.blob import BlobServiceClient

        self._service: BlobServiceClient = BlobServiceClient.from_connection_string(connection_string)
        self._ready: set[str] = set()
        self._lock = threading.Lock()

    def container(self, name: str, create: bool = True) -> ContainerClient:
        """A client for container ``name``; with ``create``, the container exists afterwards."""
        client = self._service.get_container_client(name)
        if create and name not in self._ready:
            from azure.core.exceptions import ResourceExistsError

            try:
                client.create_container()
            except ResourceExistsError:
                pass
            with self._lock:
                self._ready.add(name)
        return client

    def append_blob(self, container: str, name: str) -> BlobClient:
        """A client for append blob ``name`` (the container is created if missing; the blob is not)."""
        return self.container(container).get_blob_client(name)

    def list_names(self, container: str, prefix: str) -> list[str]:
        """Names of the blobs under ``prefix`` (raises NotFoundError if the container does not exist)."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return [blob.name for blob in self.container(container, create=False).list_blobs(name_starts_with=prefix)]
        except ResourceNotFoundError as exc:
            raise NotFoundError(
                f"container {container!r} does not exist in the storage account; check the datastore's container name"
            ) from exc

    def download_files(self, container: str, pairs: Iterable[tuple[str, Path]]) -> int:
        """Download each (blob name, local path) pair, creating parent directories; returns the count."""
        client = self.container(container, create=False)

        def one(pair: tuple[str, Path]) -> None:
            name, path = pair
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as handle:
                client.download_blob(name).readinto(handle)

        return _run_all(one, list(pairs))

    def read_bytes(self, container: str, name: str) -> Optional[bytes]:
        """The content of one blob, or None if it (or its container) does not exist."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return bytes(self.container(container, create=False).download_blob(name).readall())
        except ResourceNotFoundError:
            return None

    def upload_files(self, container: str, pairs: Iterable[tuple[Path, str]]) -> int:
        """Upload each (local path, blob name) pair, overwriting; returns the count."""
        client = self.container(container)

        def one(pair: tuple[Path, str]) -> None:
            path, name = pair
            with open(path, "rb") as handle:
                client.upload_blob(name, handle, overwrite=True)

        return _run_all(one, list(pairs))

    def upload_tree(self, container: str, prefix: str, root: Path) -> int:
        """Upload every file under directory ``root`` to ``<prefix>/<relative path>``; returns the count."""
        pairs = [(path, f"{prefix.rstrip('/')}/{rel}") for path, rel in walk_files(root)]
        return self.upload_files(container, pairs) if pairs else 0


def walk_files(root: Path) -> list[tuple[Path, str]]:
    """Every regular file under ``root`` as (path, relative posix path), sorted; [] if root is missing."""
    found = []
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = Path(directory, name)
            if path.is_file():
                found.append((path, path.relative_to(root).as_posix()))
    return sorted(found, key=lambda pair: pair[1])


def _run_all(func: Any, items: list[Any]) -> int:
    """Run ``func`` over ``items``: inline for one item, on a small thread pool for more."""
    if len(items) <= 1:
        for item in items:
            func(item)
        return len(items)
    with ThreadPoolExecutor(max_workers=min(PARALLEL_TRANSFERS, len(items))) as pool:
        for future in [pool.submit(func, item) for item in items]:
            future.result()
    return len(items)
