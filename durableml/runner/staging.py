"""Staging: the snapshot, the inputs and the output locations of a step, on local disk.

* Snapshot: a local directory is copied; a snapshot id is fetched from ``durableml-snapshots``
  (``manifests/<id>.json`` = ``{"files": {"rel/path": "<sha256>"}}``, ``files/<sha256>``) through a
  content-addressed cache shared by all jobs of the worker, so each file is downloaded once.
* Inputs (mount and download alike; the data is local either way): the blobs under the path go to
  ``<job>/inputs/<name>/...`` (or ``path_on_compute``); a single blob stays a file path. A path with
  glob characters (``data/*.csv``) selects matching blobs, placed relative to the directory before
  the first glob. A path with no blobs becomes an empty directory when it is an intermediate output
  (``azureml/...``) or is mounted (a DataReference or DataPath in mount mode: v1 mounts it and the step
  sees an empty folder; the driver log says so); downloading it is an error naming datastore and path. A
  dataset over several paths (its ``dataset`` definition lists them, all on the binding's container)
  becomes one directory holding every file, placed relative to the deepest folder all the paths share,
  as v1 removes that common prefix. Paths other than intermediate outputs are listed by name only (the SDK
  parses such a listing several times faster), and an input of :data:`BULK_FILES` or more blobs is fetched with
  plain HTTP GETs, :data:`BULK_CONNECTIONS` kept-alive connections at a time, signed with a read-only container
  SAS (the Azure SDK's per-request cost was two thirds of a small blob's download); intermediate outputs keep
  the store's downloads, which copy a blob this node uploaded from its local file. ``http(s)://`` paths of a
  dataset are fetched by the runner itself (:mod:`durableml.data.url_fetch`: streamed to disk, redirects
  followed, timeouts and a size limit); an HTTP error fails the step naming the URL and the status. One URL
  stays a file path.
* Outputs: ``<job>/outputs/<name>``; created as a directory when ``is_directory``, otherwise only
  its parent exists, so the script may write the path as a file or ``os.makedirs`` it.
* Transfer bindings (``"transfer": true``, a DataTransferStep's source and destination): nothing is downloaded
  and nothing will be uploaded; a reference (the binding with its connection, mode 0600) is written for the
  copy driver (:mod:`durableml.runner.data_transfer`), which has the storage service copy the data itself. The
  input's path is the reference; the output's is an empty folder with its reference beside it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import shutil
import time
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Mapping, Optional

from durableml.runner.data_transfer import TRANSFER_SUFFIX, write_reference
from durableml.runner.workdir import temp_path_beside
from durableml.data import layout, url_fetch
from durableml.exceptions import NotFoundError, SnapshotException, ValidationError
from durableml.runner.storage import SNAPSHOTS_CONTAINER, BlobStore

__all__ = ["stage_snapshot", "stage_input", "prepare_output", "resolve_arguments"]

_SNAPSHOT_ID = re.compile(r"^[0-9a-f]{64}$")
_GLOB = re.compile(r"[*?\[]")
INTERMEDIATE_PREFIX = "azureml/"


def stage_snapshot(snapshot: str, dest: Path, store: BlobStore | None, cache_dir: Path) -> None:
    """Put the step's source files into ``dest`` (which must not exist yet)."""
    local = Path(snapshot)
    if local.is_dir():
        shutil.copytree(local, dest, symlinks=True)
        return
    if not _SNAPSHOT_ID.match(snapshot):
        raise SnapshotException(
            f"snapshot {snapshot!r} is neither an existing directory nor a snapshot id "
            "(64 hex digits); upload the source directory or pass its local path"
        )
    if store is None:
        raise SnapshotException(f"snapshot {snapshot} must be downloaded, but the job has no storage account")
    files = _manifest(snapshot, store, cache_dir)
    _fetch_missing(files, store, cache_dir)
    dest.mkdir(parents=True)
    for rel, digest in files.items():
        target = dest / _safe_relative(rel, f"snapshot {snapshot}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cache_dir / "files" / digest, target)


def _manifest(snapshot: str, store: BlobStore, cache_dir: Path) -> dict[str, str]:
    cached = cache_dir / "manifests" / f"{snapshot}.json"
    if cached.exists():
        return dict(json.loads(cached.read_text(encoding="utf-8"))["files"])
    raw = store.read_bytes(SNAPSHOTS_CONTAINER, f"manifests/{snapshot}.json")
    if raw is None:
        raise SnapshotException(
            f"snapshot {snapshot} not found: no blob {SNAPSHOTS_CONTAINER}/manifests/"
            f"{snapshot}.json; submit the pipeline again so the SDK uploads it"
        )
    try:
        files = dict(json.loads(raw)["files"])
    except (ValueError, KeyError, TypeError) as exc:
        raise SnapshotException(
            f'snapshot {snapshot}: the manifest is not {{"files": {{path: sha256}}}} ({exc})'
        ) from exc
    _atomic_write(cached, raw)
    return files


def _fetch_missing(files: Mapping[str, str], store: BlobStore, cache_dir: Path) -> None:
    missing = sorted({d for d in files.values() if not (cache_dir / "files" / d).exists()})
    if not missing:
        return
    incoming = cache_dir / "incoming"
    pairs = [(f"files/{digest}", temp_path_beside(incoming / digest)) for digest in missing]
    store.download_files(SNAPSHOTS_CONTAINER, pairs)
    for (_, path), digest in zip(pairs, missing, strict=True):
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != digest:
            path.unlink()
            raise SnapshotException(
                f"snapshot file files/{digest} has content hash {actual}; the snapshot "
                "store is corrupt, upload the source directory again"
            )
        (cache_dir / "files").mkdir(parents=True, exist_ok=True)
        os.replace(path, cache_dir / "files" / digest)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_beside(path)
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _safe_relative(rel: str, what: str) -> Path:
    parts = PurePosixPath(rel).parts
    if not parts or rel.startswith("/") or ".." in parts:
        raise ValidationError(f"{what}: path {rel!r} is not a relative path inside the directory")
    return Path(*parts)


def stage_input(
    name: str, binding: Mapping[str, Any], job_dir: Path, cwd: Path, store: BlobStore
) -> tuple[str, list[str]]:
    """Materialize input ``name``; returns (the path the script gets, notes for the driver log)."""
    container = str(binding["container"])
    path = str(binding["path_on_datastore"] or "").strip("/")
    if binding.get("transfer"):
        return _transfer_reference(name, binding, job_dir), []
    target = _input_target(name, binding, job_dir, cwd)
    dataset = binding.get("dataset")
    if isinstance(dataset, Mapping) and url_fetch.url_entries(dataset):
        return _stage_urls(name, binding, dataset, target, store)
    if isinstance(dataset, Mapping) and len(dataset.get("paths") or []) > 1:
        paths = [str(p.get("path") or "") for p in dataset["paths"]]
        return _stage_paths(name, container, paths, target, store, _file_selection(dataset))
    if _GLOB.search(path):
        return _stage_glob(name, container, path, target, store, _file_selection(dataset))
    names = _list(store, container, path, path)
    inside = [n for n in names if not path or n.startswith(path + "/")]
    if path in names and (not inside or binding.get("is_file") or not binding.get("is_directory")):
        dest = target if binding.get("path_on_compute") else target / PurePosixPath(path).name
        store.download_files(container, [(path, dest)], names)
        return str(dest), []
    if inside:
        prefix = len(path) + 1 if path else 0
        pairs = _file_selection(dataset)([(n, target / _safe_relative(n[prefix:], f"input {name}")) for n in inside])
        _download(store, container, pairs, names)
        return str(target), []
    return _empty_input(name, binding, container, path, target)


def stage_sql_input(name: str, binding: Mapping[str, Any], job_dir: Path, cwd: Path) -> tuple[str, list[str]]:
    """Run a SQL input's query (binding ``sql``: query, table or storedProcedure; ``connection_string``: the
    database) into ``<input name>.csv`` in the input's folder; returns (the CSV file's path, a log note)."""
    from durableml import sql_sources

    if binding.get("transfer"):  # a DataTransferStep streams the query's rows to its destination itself
        return _transfer_reference(name, binding, job_dir), []
    target = _input_target(name, binding, job_dir, cwd)
    target.mkdir(parents=True, exist_ok=True)
    dest = target / f"{name}.csv"
    sql = dict(binding["sql"])
    timeout = sql.get("timeout")
    rows = sql_sources.query_to_csv(str(binding.get("connection_string") or ""), sql, str(dest),
                                    float(timeout) if timeout else None)  # fmt: skip
    what = f"table {sql['table']}" if sql.get("table") else "its query"
    return str(dest), [f"input '{name}': {rows} rows of {what} from datastore '{binding.get('datastore')}'"]


def _file_selection(dataset: Any) -> Callable[[list[tuple[str, Path]]], list[tuple[str, Path]]]:
    """What a FileDataset's ``take``/``skip`` keep of its (blob, local path) pairs, in blob-name order (the order
    ``to_path`` lists them); every pair for a TabularDataset (they count rows) or an input that is no dataset."""
    transforms = dataset.get("transforms") if isinstance(dataset, Mapping) else None
    if not transforms or dataset.get("datasetType") == "tabular":
        return lambda pairs: pairs
    return lambda pairs: url_fetch.select_files(sorted(pairs), transforms)


def _stage_glob(
    name: str,
    container: str,
    pattern: str,
    target: Path,
    store: BlobStore,
    select: Callable[[list[tuple[str, Path]]], list[tuple[str, Path]]] = list,
) -> tuple[str, list[str]]:
    base = pattern[: _GLOB.search(pattern).start()].rpartition("/")[0]  # type: ignore[union-attr]
    listed = _list(store, container, base + "/" if base else "", pattern)
    matched = [n for n in listed if fnmatch.fnmatchcase(n, pattern)]
    if not matched:
        raise NotFoundError(
            f"input {name!r}: no blob in container {container!r} matches {pattern!r}; "
            "check the dataset's path or upload the data first"
        )
    cut = len(base) + 1 if base else 0
    pairs = select([(n, target / _safe_relative(n[cut:], f"input {name}")) for n in matched])
    _download(store, container, pairs, listed)
    return str(target), []


def _stage_paths(
    name: str, container: str, paths: list[str], target: Path, store: BlobStore,
    select: Callable[[list[tuple[str, Path]]], list[tuple[str, Path]]] = list,
) -> tuple[str, list[str]]:  # fmt: skip
    """Several datastore paths (files, folders, globs) as one directory (see :mod:`durableml.data.layout`)."""
    pairs = select(_path_pairs(name, container, paths, target, store))
    _download(store, container, pairs, {})
    return str(target), []


def _path_pairs(name: str, container: str, paths: list[str], target: Path, store: BlobStore) -> list[tuple[str, Path]]:
    """(blob, local path) for every file the datastore ``paths`` select, laid out as v1 does."""
    blobs: set[str] = set()
    folders = []
    for path in (p.strip("/") for p in paths):
        found = _path_blobs(container, path, store)
        if not found:
            raise NotFoundError(
                f"input {name!r}: nothing found at {container}/{path} (one of the dataset's {len(paths)} paths); "
                "upload the data first or correct the path"
            )
        blobs.update(found)
        folders.append(layout.path_folder(path, found))
    common = layout.common_folder(folders)
    return [(b, target / _safe_relative(layout.relative_to(b, common), f"input {name}")) for b in sorted(blobs)]


def _stage_urls(
    name: str, binding: Mapping[str, Any], dataset: Mapping[str, Any], target: Path, store: BlobStore
) -> tuple[str, list[str]]:
    """A dataset with ``http(s)://`` paths: each URL fetched by the runner (its datastore paths, if any, from the
    binding's container), files laid out as v1 does (:func:`durableml.data.url_fetch.url_layout`)."""
    entries = list(dataset.get("paths") or [])
    urls = url_fetch.url_entries(dataset)
    placed = url_fetch.url_layout(urls)
    for url, rel in placed:
        _safe_relative(rel, f"input {name} (URL {url_fetch.safe_url(url)})")
    if dataset.get("datasetType") != "tabular":
        placed = url_fetch.select_files(placed, dataset.get("transforms") or [])
    if len(entries) == 1 and len(placed) == 1:  # one file: the script gets the file's path
        dest = target if binding.get("path_on_compute") else url_fetch.relative_dest(target, placed[0][1])
        size = url_fetch.fetch(placed[0][0], dest)
        return str(dest), [_fetched_note(name, placed, size)]
    paths = [str(p.get("path") or "") for p in entries if not p.get("url")]
    container = str(binding["container"])
    pairs = _path_pairs(name, container, paths, target, store) if paths else []
    taken = {str(local) for _, local in pairs}
    for url, rel in placed:
        if str(url_fetch.relative_dest(target, rel)) in taken:
            raise ValidationError(
                f"input {name!r}: the file of URL {url_fetch.safe_url(url)} and a file of the dataset's datastore "
                f"paths would both be {rel!r}; give them distinct names"
            )
    size = url_fetch.fetch_all((url, url_fetch.relative_dest(target, rel)) for url, rel in placed)
    if pairs:
        _download(store, container, pairs, {})
    target.mkdir(parents=True, exist_ok=True)
    return str(target), [_fetched_note(name, placed, size)]


def _fetched_note(name: str, placed: list[tuple[str, str]], size: int) -> str:
    shown = ", ".join(url_fetch.safe_url(url) for url, _ in placed[:3]) + (" ..." if len(placed) > 3 else "")
    return f"[durableml] input {name!r}: fetched {len(placed)} file(s), {size} bytes, from {shown}"


def _path_blobs(container: str, path: str, store: BlobStore) -> list[str]:
    """The blobs one dataset path selects: the glob's matches, the file itself, or the folder's files."""
    if layout.has_wildcard(path):
        folder = layout.path_folder(path, [])
        return [
            n for n in _list(store, container, folder + "/" if folder else "", path) if fnmatch.fnmatchcase(n, path)
        ]
    names = list(_list(store, container, path, path))
    inside = [n for n in names if not path or n.startswith(path + "/")]
    return [path] if path in names and not inside else inside


def _empty_input(
    name: str, binding: Mapping[str, Any], container: str, path: str, target: Path
) -> tuple[str, list[str]]:
    """No blobs at the path: an empty directory for an intermediate output and for a mounted DataReference or
    DataPath (v1 mounts the path anyway), else an error naming the datastore and the path."""
    where = f"datastore {binding['datastore']!r} (container {container!r})" if binding.get("datastore") else None
    where = where or f"container {container!r}"
    if path.startswith(INTERMEDIATE_PREFIX):
        note = f"[durableml] input {name!r} is empty: the step that produced {container}/{path} wrote no files"
    elif binding.get("mode", "mount") == "mount" and not isinstance(binding.get("dataset"), Mapping):
        note = (
            f"[durableml] input {name!r}: path {path or '/'!r} on {where} has no data; "
            "it is mounted as an empty folder (as Azure ML mounts a path with no blobs)"
        )
    else:
        raise NotFoundError(
            f"input {name!r}: nothing found at {container}/{path} (path {path or '/'!r} on {where}); upload "
            "the data to the datastore first or correct path_on_datastore"
        )
    target.mkdir(parents=True, exist_ok=True)
    return str(target), [note]


def _transfer_reference(name: str, binding: Mapping[str, Any], job_dir: Path) -> str:
    """The reference the copy driver reads instead of the input's data (see the module docstring)."""
    _safe_relative(name, f"input {name}")
    return write_reference(job_dir / "inputs" / f"{name}{TRANSFER_SUFFIX}", {**binding, "name": name})


def _input_target(name: str, binding: Mapping[str, Any], job_dir: Path, cwd: Path) -> Path:
    on_compute = binding.get("path_on_compute")
    if not on_compute:
        return job_dir / "inputs" / name
    path = Path(str(on_compute))
    return path if path.is_absolute() else cwd / _safe_relative(str(on_compute), f"input {name} path_on_compute")


def prepare_output(name: str, binding: Mapping[str, Any], job_dir: Path) -> str:
    """Create the local location of output ``name`` and return the path the script gets."""
    path = job_dir / "outputs" / name
    if binding.get("transfer"):  # written by the storage service: the runner finds an empty folder to upload
        path.mkdir(parents=True, exist_ok=True)
        write_reference(Path(str(path) + TRANSFER_SUFFIX), {**binding, "name": name})
    elif binding.get("is_directory"):
        path.mkdir(parents=True, exist_ok=True)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


def resolve_arguments(arguments: list[Any], inputs: Mapping[str, str], outputs: Mapping[str, str]) -> list[str]:
    """Replace ``{"kind": "input"|"output", "name"}`` placeholders with local paths."""
    resolved = []
    for arg in arguments:
        if isinstance(arg, Mapping):
            table = inputs if arg.get("kind") == "input" else outputs
            if arg.get("name") not in table:
                raise ValidationError(
                    f"argument {dict(arg)!r} names no staged {arg.get('kind')}; staged: {sorted(table)}"
                )
            resolved.append(table[arg["name"]])
        else:
            resolved.append(str(arg))
    return resolved


# ------------------------------------------------------------------------------------------------ bulk downloads
BULK_FILES = 64
"""An input of at least this many blobs (not a step's intermediate output) is fetched with plain HTTP GETs."""
BULK_CONNECTIONS = 16
_READ = 1024 * 1024


def _list(store: BlobStore, container: str, prefix: str, path: str) -> dict[str, str]:
    """Name -> ETag of the blobs under ``prefix``. A step's intermediate output (``azureml/...``) is listed with ETags,
    which let a blob this node uploaded be copied from its local file; anything else by name only (the SDK parses
    a names-only listing several times faster), with empty ETags."""
    if path.startswith(INTERMEDIATE_PREFIX) or not hasattr(store, "container"):  # (an in-memory store: tests)
        return store.list_etags(container, prefix)
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return dict.fromkeys(store.container(container, create=False).list_blob_names(name_starts_with=prefix), "")
    except ResourceNotFoundError as exc:
        raise NotFoundError(
            f"container {container!r} does not exist in the storage account; check the datastore's container name"
        ) from exc


def _download(store: BlobStore, container: str, pairs: list[tuple[str, Path]], etags: Mapping[str, str]) -> None:
    """Download (blob, local path) pairs: many blobs without ETags through :func:`_bulk_get`, else the store's SDK
    downloads (which copy a blob this node uploaded from its local file)."""
    bulk = len(pairs) >= BULK_FILES and not any(etags.values()) and hasattr(store, "container")
    signed = _signed_url(store.container(container, create=False)) if bulk else None
    if signed is not None and _proxied(signed[0]):  # plain connections would bypass the proxy the SDK uses
        signed = None
    if signed is None:
        store.download_files(container, pairs, etags)
    else:
        _bulk_get(signed[0], signed[1], container, pairs)


def _proxied(url: str) -> bool:
    """Whether requests to ``url`` go through a proxy (HTTP(S)_PROXY, not bypassed by NO_PROXY)."""
    import urllib.request
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    return bool(proxies.get(parts.scheme) or proxies.get("all")) and not urllib.request.proxy_bypass(
        parts.hostname or ""
    )


def _signed_url(client: Any) -> Optional[tuple[str, str]]:
    """(container URL, query string to read its blobs) for plain GETs, or None when the credential is one that
    plain requests cannot use (a service principal or identity: the SDK downloads then)."""
    from datetime import datetime, timedelta, timezone

    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    url, _, query = str(client.url).partition("?")
    credential = client.credential
    if query or credential is None:  # the datastore's own SAS, or a public container
        return url, query
    key = getattr(credential, "account_key", None)
    if not key:
        return None
    now = datetime.now(timezone.utc)
    sas = generate_container_sas(client.account_name, client.container_name, account_key=key,
                                 permission=ContainerSasPermissions(read=True), start=now - timedelta(minutes=5),
                                 expiry=now + timedelta(hours=2))  # fmt: skip
    return url, sas


def _bulk_get(base: str, query: str, container: str, pairs: list[tuple[str, Path]]) -> None:
    """GET each blob with a kept-alive connection per thread (:data:`BULK_CONNECTIONS` threads), streaming it to
    its file; a failure names the blob and the HTTP status (never the query, which holds a SAS)."""
    import http.client
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import quote, urlsplit

    parts = urlsplit(base)
    local = threading.local()
    made: set[Path] = set()
    lock = threading.Lock()

    opened: list[http.client.HTTPConnection] = []

    def connection(fresh: bool = False) -> http.client.HTTPConnection:
        if fresh or getattr(local, "conn", None) is None:
            if getattr(local, "conn", None) is not None:
                local.conn.close()
            kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            local.conn = kind(parts.hostname or "", parts.port, timeout=120)
            with lock:
                opened.append(local.conn)
        return local.conn  # type: ignore[no-any-return]

    def one(pair: tuple[str, Path]) -> None:
        name, path = pair
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            with lock:
                made.add(path.parent)
        target = f"{parts.path}/{quote(name, safe='/~')}" + (f"?{query}" if query else "")
        for attempt in range(4):
            try:
                conn = connection(fresh=attempt > 0)
                conn.request("GET", target, headers={"x-ms-version": "2021-12-02"})
                response = conn.getresponse()
                if response.status == 200:
                    with open(path, "wb") as handle:
                        while chunk := response.read(_READ):
                            handle.write(chunk)
                    return
                response.read()
                if response.status < 500 and response.status != 408:
                    raise OSError(f"downloading {container}/{name} failed: HTTP {response.status} {response.reason}")
            except (http.client.HTTPException, ConnectionError, TimeoutError) as exc:
                if attempt == 3:
                    raise OSError(f"downloading {container}/{name} failed: {type(exc).__name__}") from None
            time.sleep(0.2 * 2**attempt)
        raise OSError(f"downloading {container}/{name} failed: the storage service kept answering an error")

    try:
        with ThreadPoolExecutor(max_workers=min(BULK_CONNECTIONS, len(pairs))) as pool:
            for future in [pool.submit(one, pair) for pair in pairs]:
                future.result()
    finally:
        for conn in opened:
            conn.close()
