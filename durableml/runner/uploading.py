"""Uploading what a step produced: its outputs to their datastore paths, ``./outputs`` and ``./logs``.

* Output ``name`` written as a directory: each file goes to ``<path_on_datastore>/<relative path>``;
  written as a single file: to ``<path_on_datastore>`` itself; not written: nothing is uploaded
  and the result says ``"kind": "missing"`` (v1 does not fail a step for an unwritten output).
* ``./outputs`` and ``./logs`` of the script's working directory go to
  ``durableml-artifacts/<step run id>/outputs/...`` and ``.../logs/...``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from durableml.runner.storage import ARTIFACTS_CONTAINER, BlobStore, walk_files

__all__ = ["upload_outputs", "upload_artifacts", "CAPTURED_DIRS"]

CAPTURED_DIRS = ("outputs", "logs")


def upload_outputs(
    bindings: Mapping[str, Mapping[str, Any]], local_paths: Mapping[str, str], store: BlobStore
) -> dict[str, dict[str, Any]]:
    """Upload every output; returns name -> ``{"container", "path", "kind", "files"}``."""
    uploaded: dict[str, dict[str, Any]] = {}
    for name, binding in bindings.items():
        container = str(binding["container"])
        prefix = str(binding["path_on_datastore"]).strip("/")
        local = Path(local_paths[name])
        if local.is_file():
            count, kind = store.upload_files(container, [(local, prefix)]), "file"
        elif local.is_dir():
            count, kind = store.upload_tree(container, prefix, local), "directory"
        else:
            count, kind = 0, "missing"
        uploaded[name] = {"container": container, "path": prefix, "kind": kind, "files": count}
    return uploaded


def upload_artifacts(step_run_id: str, cwd: Path, store: BlobStore) -> int:
    """Upload ``./outputs`` and ``./logs`` of ``cwd``; returns how many files went up."""
    pairs = []
    for folder in CAPTURED_DIRS:
        pairs += [(path, f"{step_run_id}/{folder}/{rel}") for path, rel in walk_files(cwd / folder)]
    return store.upload_files(ARTIFACTS_CONTAINER, pairs) if pairs else 0
