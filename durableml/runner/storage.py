"""Blob access for the step runner: one client per storage account, containers created once.

A job's bindings may name other accounts (a datastore on another storage account): such a binding carries its
own ``connection_string``, a storage connection string or one of :mod:`durableml.storage_accounts`'s connection
texts (SAS, anonymous, service principal, identity); :func:`get_store` gives each its own store.

azure-storage-blob is imported here, on first use, never when ``durableml.runner`` is imported: the
worker pays the import once, and the user's script never does. Clients are cached per connection
string and shared by the worker's job threads (the Azure SDK clients are thread-safe).

A store remembers the blobs it uploaded (ETag, and the local file with its size and modification time),
so that a later download of the same blob, asked for with the ETag a listing just returned, copies the
local file instead: a step's output read by the next step on the same node never travels through the
storage service twice. The ETag match proves the blob is still what was uploaded; the unchanged size and
modification time prove the local file still is too; anything else downloads as usual.
"""

from __future__ import annotations

import os
import logging
import shutil
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional

from durableml.exceptions import NotFoundError, ValidationError

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient, BlobServiceClient, ContainerClient

__all__ = ["BlobStore", "get_store", "LOGS_CONTAINER", "ARTIFACTS_CONTAINER", "SNAPSHOTS_CONTAINER"]

LOGS_CONTAINER = "durableml-logs"
ARTIFACTS_CONTAINER = "durableml-artifacts"
SNAPSHOTS_CONTAINER = "durableml-snapshots"
PARALLEL_TRANSFERS = 8
REMEMBERED_UPLOADS = 4096  # blobs whose local source a store keeps track of (the most recent ones)
# Azure Storage's limits on a blob name (Azurite does not enforce them; Azure answers 400 past them)
MAX_BLOB_NAME, MAX_BLOB_SEGMENTS = 1024, 254

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


def _outage_window_s() -> float:
    """The run's storage outage window (the app setting the service reads too; 600 s when unset or unreadable)."""
    from durableml.contract import DEFAULT_OUTAGE_WINDOW_S
    from durableml.storage_accounts import OUTAGE_WINDOW_SETTING

    try:
        return min(max(float(os.environ.get(OUTAGE_WINDOW_SETTING) or DEFAULT_OUTAGE_WINDOW_S), 1.0), 7 * 24 * 3600.0)
    except ValueError:
        return DEFAULT_OUTAGE_WINDOW_S


def _report(line: str) -> None:
    logging.getLogger("durableml.runner.storage").warning("%s", line)  # the worker's log, under the job's thread


class BlobStore:
    """Containers and blobs of one storage account, with the few transfers the runner needs."""

    def __init__(self, connection_string: str) -> None:
        from durableml.storage_accounts import blob_service, local_blob_base, steady_retry

        options: dict[str, Any] = {}
        if local_blob_base(connection_string) is not None:  # an emulator on loopback: retry every second
            options["retry_policy"] = steady_retry(_outage_window_s(), _report)
        self._service: BlobServiceClient = blob_service(connection_string, **options)
        self._ready: set[str] = set()
        self._lock = threading.Lock()
        # (container, blob) -> (ETag, local file, its size, its st_mtime_ns) of blobs this store uploaded
        self._uploaded: OrderedDict[tuple[str, str], tuple[str, str, int, int]] = OrderedDict()

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
        return list(self.list_etags(container, prefix))

    def list_etags(self, container: str, prefix: str) -> dict[str, str]:
        """Name -> ETag of the blobs under ``prefix`` (raises NotFoundError if the container does not exist)."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            blobs = self.container(container, create=False).list_blobs(name_starts_with=prefix)
            return {blob.name: _etag(blob.etag) for blob in blobs}
        except ResourceNotFoundError as exc:
            raise NotFoundError(
                f"container {container!r} does not exist in the storage account; check the datastore's container name"
            ) from exc

    def download_files(
        self, container: str, pairs: Iterable[tuple[str, Path]], etags: Optional[Mapping[str, str]] = None
    ) -> int:
        """Download each (blob name, local path) pair, creating parent directories; returns the count.

        ``etags`` (name -> ETag, as :meth:`list_etags` just returned them): a blob this store uploaded with
        that ETag, from a local file unchanged since, is copied from that file instead.
        """
        client = self.container(container, create=False)

        def one(pair: tuple[str, Path]) -> None:
            name, path = pair
            path.parent.mkdir(parents=True, exist_ok=True)
            source = self._uploaded_file(container, name, (etags or {}).get(name))
            if source is not None:
                try:
                    shutil.copyfile(source, path)
                    return
                except OSError:  # gone or unreadable since it was checked: download it
                    pass
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
        """Upload each (local path, blob name) pair, overwriting; returns the count.

        Every name is checked against Azure Storage's limits first, so nothing goes up when one cannot."""
        pairs = list(pairs)
        for path, name in pairs:
            check_blob_name(name, path)
        client = self.container(container)

        def one(pair: tuple[Path, str]) -> None:
            path, name = pair
            with open(path, "rb") as handle:
                before = os.fstat(handle.fileno())
                uploaded = client.get_blob_client(name).upload_blob(handle, overwrite=True)  # its ETag, among others
                after = os.fstat(handle.fileno())
            if uploaded.get("etag") and (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns):
                self._remember_upload(container, name, _etag(uploaded["etag"]), path, after)

        return _run_all(one, pairs)

    def _remember_upload(self, container: str, name: str, etag: str, path: Path, stat: os.stat_result) -> None:
        known = (etag, str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            self._uploaded[(container, name)] = known
            self._uploaded.move_to_end((container, name))
            while len(self._uploaded) > REMEMBERED_UPLOADS:
                self._uploaded.popitem(last=False)

    def _uploaded_file(self, container: str, name: str, etag: Optional[str]) -> Optional[str]:
        """The local file blob ``name`` was uploaded from, if the blob and the file are both unchanged."""
        if not etag:
            return None
        with self._lock:
            known = self._uploaded.get((container, name))
        if known is None or known[0] != etag:
            return None
        try:
            stat = os.stat(known[1])
        except OSError:
            return None
        return known[1] if (stat.st_size, stat.st_mtime_ns) == known[2:] else None

    def upload_tree(self, container: str, prefix: str, root: Path) -> int:
        """Upload every file under directory ``root`` to ``<prefix>/<relative path>``; returns the count."""
        pairs = [(path, f"{prefix.rstrip('/')}/{rel}") for path, rel in walk_files(root)]
        return self.upload_files(container, pairs) if pairs else 0


def check_blob_name(name: str, source: Path) -> None:
    """Raise ValidationError when ``name`` breaks Azure Storage's limits for blob names."""
    segments = len(name.split("/"))
    if len(name) > MAX_BLOB_NAME or segments > MAX_BLOB_SEGMENTS:
        raise ValidationError(
            f"{source} cannot be uploaded: its blob name would have {len(name)} characters in {segments} path "
            f"segments, and Azure Storage allows at most {MAX_BLOB_NAME} characters and {MAX_BLOB_SEGMENTS} "
            "segments; write it under a shorter path"
        )


def _etag(value: Any) -> str:
    """An ETag as the service sent it, without the quotes some responses put around it."""
    return str(value or "").strip('"')


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
