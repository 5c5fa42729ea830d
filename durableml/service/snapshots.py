"""Content-addressed snapshots of steps' source directories.

Files are stored once per content hash (``durableml-snapshots/files/<sha256>``), so an unchanged file is
never uploaded twice; a snapshot is a manifest ``{"files": {"rel/path": sha256}}`` whose id is the hash
of the manifest (``manifests/<id>.json``).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Iterable, Mapping, Optional

from durableml._names import check_relative_path
from durableml.exceptions import NotFoundError, ValidationError
from durableml.service.records import blob_container
from durableml.source_snapshot import snapshot_manifest

CONTAINER = "durableml-snapshots"
_SHA = re.compile(r"^[0-9a-f]{64}$")
MAX_FILE_BYTES = 300 * 1024 * 1024


def _container() -> Any:
    return blob_container(CONTAINER)


def _check_sha(sha: str) -> str:
    if not isinstance(sha, str) or not _SHA.match(sha):
        raise ValidationError(f"{sha!r} is not a sha256 hex digest (64 lowercase hex characters)")
    return sha


def missing(hashes: Iterable[str]) -> list[str]:
    """Which of ``hashes`` the store does not have yet."""
    wanted = {_check_sha(h) for h in hashes}
    container = _container()
    if len(wanted) <= 64:  # a few HEAD requests beat listing a store that only grows
        return sorted(h for h in wanted if not container.get_blob_client(f"files/{h}").exists())
    present = {b.name.removeprefix("files/") for b in container.list_blobs(name_starts_with="files/")}
    return sorted(wanted - present)


def put_file(sha: str, data: bytes) -> dict[str, Any]:
    from azure.core.exceptions import ResourceExistsError

    _check_sha(sha)
    if hashlib.sha256(data).hexdigest() != sha:
        raise ValidationError(f"the uploaded content does not hash to {sha}; upload the file's exact bytes")
    try:
        _container().upload_blob(f"files/{sha}", data)
    except ResourceExistsError:
        pass
    return {"sha256": sha, "size": len(data)}


def get_file(sha: str) -> bytes:
    """The stored file with content hash ``sha`` (404 when the store has none)."""
    from azure.core.exceptions import ResourceNotFoundError

    _check_sha(sha)
    try:
        return bytes(_container().download_blob(f"files/{sha}").readall())
    except ResourceNotFoundError as exc:
        raise NotFoundError(f"no snapshot file with sha256 '{sha}'") from exc


def check(files: Mapping[str, str], hashed: Optional[Mapping[str, str]] = None) -> dict[str, Any]:
    """For a manifest about to be uploaded: ``{"id", "missing": []}`` when the snapshot exists already (one
    request, no listing: the common case of an unchanged source directory), else ``{"id": None, "missing"}``."""
    _check_manifest(files, hashed)
    snapshot_id, _manifest = snapshot_manifest(files, hashed)
    if _exists(snapshot_id):
        return {"id": snapshot_id, "missing": []}
    return {"id": None, "missing": missing(files.values())}


def _exists(snapshot_id: str) -> bool:
    return bool(_container().get_blob_client(f"manifests/{snapshot_id}.json").exists())


def _check_manifest(files: Mapping[str, str], hashed: Optional[Mapping[str, str]]) -> None:
    if not isinstance(files, Mapping) or not isinstance(hashed or {}, Mapping):
        raise ValidationError("'files' (and 'hashed') must map relative paths to sha256 digests")
    for path, sha in [*files.items(), *(hashed or {}).items()]:
        _check_sha(sha)
        check_relative_path(path, "snapshot file path")  # staged below the step's working folder


def create(files: Mapping[str, str], hashed: Optional[Mapping[str, str]] = None) -> str:
    """Record a manifest; every file must have been uploaded. Returns the snapshot id.

    ``hashed`` lists files that count for reuse but are not part of the snapshot (legacy ``hash_paths``
    naming files the ignore rules leave out): their hashes are in the manifest, their bytes are not stored.
    """
    _check_manifest(files, hashed)
    absent = missing(files.values())
    if absent:
        raise ValidationError(
            f"{len(absent)} snapshot file(s) were not uploaded (first: {absent[0]}); upload them "
            "with PUT /api/snapshots/files/<sha256> first"
        )
    snapshot_id, manifest = snapshot_manifest(files, hashed)
    if _exists(snapshot_id):
        return snapshot_id
    from azure.core.exceptions import ResourceExistsError

    try:
        _container().upload_blob(f"manifests/{snapshot_id}.json", manifest)
    except ResourceExistsError:
        pass
    return snapshot_id


def manifest(snapshot_id: str) -> dict[str, Any]:
    """The manifest of snapshot ``snapshot_id``: ``{"files": {path: sha256}, "hashed"?: {path: sha256}}``."""
    from azure.core.exceptions import ResourceNotFoundError

    _check_sha(snapshot_id)
    try:
        return dict(json.loads(_container().download_blob(f"manifests/{snapshot_id}.json").readall()))
    except ResourceNotFoundError as exc:
        raise NotFoundError(
            f"no snapshot with id '{snapshot_id}'; snapshots are created by submitting a pipeline (POST /api/snapshots)"
        ) from exc
