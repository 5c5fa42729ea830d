"""What a source snapshot holds: the files of a source directory, each with its sha256 and size.

:func:`snapshot_files` walks the directory in name order, leaves out what its ``.amlignore`` (else
``.gitignore``) excludes (:mod:`durableml.ignore_rules`), follows symlinks only while they stay inside
the directory, and refuses a directory past v1's limits (:data:`SNAPSHOT_MAX_FILES`,
:data:`SNAPSHOT_MAX_BYTES`). Uploading the files is the client's job
(:meth:`durableml.http_client.HttpServiceClient.upload_snapshot`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from durableml.exceptions import SnapshotException
from durableml.ignore_rules import IgnoreRules

__all__ = [
    "SnapshotFile",
    "snapshot_files",
    "hash_path_files",
    "file_sha256",
    "snapshot_manifest",
    "SNAPSHOT_MAX_FILES",
    "SNAPSHOT_MAX_BYTES",
]

log = logging.getLogger("durableml.http_client")  # the logger snapshots have always reported to

SNAPSHOT_MAX_FILES = 2000
SNAPSHOT_MAX_BYTES = 300 * 1024 * 1024
"""v1's snapshot limits: a source directory with more is almost always a mistake (a venv, data)."""

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class SnapshotFile:
    """One file of a source snapshot: its relative ``/`` path, where it is, its sha256 and size."""

    path: str
    local_path: str
    sha256: str
    size: int


def snapshot_files(source_directory: str | os.PathLike[str]) -> list[SnapshotFile]:
    """The files a snapshot of ``source_directory`` holds, hashed, sorted by relative path.

    Ignore-file rules apply; symlinks are followed while they stay inside the directory and skipped
    (with a log line) when they lead out of it or nowhere. Raises SnapshotException past v1's limits.
    """
    root = os.path.realpath(os.fspath(source_directory))
    if not os.path.isdir(root):
        raise SnapshotException(
            f"cannot snapshot {os.fspath(source_directory)!r}: it is not a directory "
            f"(working directory {os.getcwd()!r}). Pass the folder that holds the step's script."
        )
    rules = IgnoreRules.for_directory(root)
    files = [_hashed(rel, local) for rel, local in _walk(root, root, "", rules, (root,))]
    _check_limits(os.fspath(source_directory), files)
    return sorted(files, key=lambda file: file.path)


def _walk(
    root: str, directory: str, prefix: str, rules: IgnoreRules, chain: tuple[str, ...]
) -> Iterator[tuple[str, str]]:
    """Yield (relative path, local path) of the files under ``directory`` that the rules keep."""
    with os.scandir(directory) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        rel = prefix + entry.name
        kind = _entry_kind(root, entry)
        if kind is None or rules.matches(rel, kind == "dir"):
            continue
        if kind == "file":
            yield rel, entry.path
            continue
        real = os.path.realpath(entry.path)
        if real in chain:  # a symlink back to a directory we are inside: a loop
            log.info("snapshot: not following %s, a symlink to its own parent %s", entry.path, real)
            continue
        yield from _walk(root, entry.path, rel + "/", rules, (*chain, real))


def _entry_kind(root: str, entry: os.DirEntry[str]) -> str | None:
    """``"file"``, ``"dir"``, or None for what a snapshot leaves out (escaping symlinks, sockets...)."""
    if entry.is_symlink():
        target = os.path.realpath(entry.path)
        if not os.path.exists(target) or os.path.commonpath([root, target]) != root:
            log.info("snapshot: skipping symlink %s, which points outside %s (to %s)", entry.path, root, target)
            return None
    if entry.is_dir():
        return "dir"
    return "file" if entry.is_file() else None


def hash_path_files(
    source_directory: str | os.PathLike[str], hash_paths: Sequence[str], kept: Sequence[SnapshotFile]
) -> list[SnapshotFile]:
    """The files legacy ``hash_paths`` add to a step's reuse key beyond the snapshot's ``kept`` files.

    Each entry is a file or a folder relative to ``source_directory`` (ignore rules do not apply to it, which
    is its point: a file left out of the snapshot can still decide whether the step is reused). Their hashes
    go into the snapshot's manifest; their bytes are not uploaded.
    """
    root = os.path.realpath(os.fspath(source_directory))
    known = {file.path for file in kept}
    found: dict[str, SnapshotFile] = {}
    for entry in hash_paths:
        local = os.path.realpath(os.path.join(root, entry))
        if os.path.commonpath([root, local]) != root or not os.path.exists(local):
            raise SnapshotException(
                f"hash_paths entry {entry!r} is not a file or folder inside the source directory {root!r}; "
                "give paths relative to source_directory (or drop hash_paths: the whole directory is hashed)."
            )
        if os.path.isdir(local):
            pairs = list(_walk(root, local, _relative(root, local) + "/", IgnoreRules(), (root, local)))
        else:
            pairs = [(_relative(root, local), local)]
        for rel, path in pairs:
            if rel not in known and rel not in found:
                found[rel] = _hashed(rel, path)
    return sorted(found.values(), key=lambda file: file.path)


def _relative(root: str, path: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def snapshot_manifest(files: Mapping[str, str], hashed: Mapping[str, str] | None = None) -> tuple[str, bytes]:
    """A snapshot's id and manifest bytes: ``{"files": {path: sha256}, "hashed"?: {...}}`` as sorted JSON, and its
    sha256 (the client and the service compute both the same way, here)."""
    body: dict[str, dict[str, str]] = {"files": dict(sorted(files.items()))}
    if hashed:  # only when present, so that snapshots without hash_paths keep their ids
        body["hashed"] = dict(sorted(hashed.items()))
    manifest = json.dumps(body, sort_keys=True).encode()
    return hashlib.sha256(manifest).hexdigest(), manifest


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _hashed(rel: str, local: str) -> SnapshotFile:
    try:
        return SnapshotFile(rel, local, file_sha256(local), os.path.getsize(local))
    except OSError as exc:
        raise SnapshotException(
            f"cannot read {local!r} for the source snapshot ({exc.strerror or exc}); fix its permissions "
            "or list it in .amlignore.",
            inner_exception=exc,
        ) from exc


def _check_limits(source: str, files: Sequence[SnapshotFile]) -> None:
    total = sum(file.size for file in files)
    if len(files) <= SNAPSHOT_MAX_FILES and total <= SNAPSHOT_MAX_BYTES:
        return
    largest = ", ".join(f"{f.path} ({f.size / 1e6:.1f} MB)" for f in sorted(files, key=lambda f: -f.size)[:5])
    raise SnapshotException(
        f"the source directory {source!r} holds {len(files)} files, {total / 1e6:.1f} MB, more than a snapshot "
        f"may ({SNAPSHOT_MAX_FILES} files, {SNAPSHOT_MAX_BYTES / 1e6:.0f} MB). Largest: {largest}. List what the "
        "steps do not need (data, virtual environments) in .amlignore there (same syntax as .gitignore).",
        details={"files": len(files), "bytes": total},
    )
