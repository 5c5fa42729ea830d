"""The model registry: versioned model records in Azure Tables, their files content-addressed in a blob container.

A model version is registered in two steps, so that nothing is ever half-registered:

1. its files are stored by content (:func:`put_file`: ``durableml-models/files/<sha256>``; storing the same
   bytes again is a no-op, so an interrupted upload is simply repeated);
2. :func:`register` checks the record's manifest (``{"<item>/rel/path": sha256}``, every path under one
   registered item: the file or folder that was registered) against the stored files and only then
   writes the record. Versions count up from 1 per name; concurrent registrations each get their own.

Records (table ``dmlModels``, one partition, row key ``<name>:<version, 8 digits>``) hold ``id``
(``name:version``, as v1), ``name``, ``version``, ``tags``, ``properties``, ``description``,
``createdTime``, ``framework``, ``frameworkVersion``, ``datasets``, ``runId``, ``item`` and ``files``.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Mapping, Optional, Sequence

from durableml._names import check_relative_path
from durableml.exceptions import ModelNotFoundException, ValidationError
from durableml.service import runs
from durableml.service.records import blob_container, records
from durableml.service.runs import utc_now

TABLE, PARTITION, CONTAINER = "dmlModels", "model", "durableml-models"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_INSERT_TRIES = 20


def put_file(sha256: str, data: bytes) -> dict[str, Any]:
    """Store one model file under its content hash (which is checked)."""
    if not _SHA256.match(sha256 or ""):
        raise ValidationError(f"model file id {sha256!r} is not a sha256 (64 lowercase hex digits)")
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise ValidationError(f"the uploaded bytes have sha256 {actual}, not {sha256}; upload the file again")
    blob = blob_container(CONTAINER).get_blob_client(f"files/{sha256}")
    if not blob.exists():
        blob.upload_blob(data, overwrite=True)
    return {"sha256": sha256, "size": len(data)}


def read_file(sha256: str) -> bytes:
    """The bytes of a stored model file."""
    from azure.core.exceptions import ResourceNotFoundError

    if not _SHA256.match(sha256 or ""):
        raise ValidationError(f"model file id {sha256!r} is not a sha256 (64 lowercase hex digits)")
    try:
        return bytes(blob_container(CONTAINER).download_blob(f"files/{sha256}").readall())
    except ResourceNotFoundError as exc:
        raise ModelNotFoundException(f"no model file with sha256 {sha256} is stored") from exc


def register(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Record a new version of model ``spec["name"]`` over the stored files ``spec["files"]``.

    With ``runPath`` instead of ``files`` (``Run.register_model``), the files are those run ``runId``
    captured under that path (``outputs/model.pkl``, ``outputs/model/``).
    """
    name = _check_name(spec.get("name"))
    raw = _run_files(spec) if spec.get("runPath") is not None else spec.get("files")
    files = _check_files(name, raw)
    missing = sorted(path for path, sha in files.items() if not _stored(sha))
    if missing:
        raise ValidationError(
            f"model {name!r}: {len(missing)} file(s) were not uploaded: {', '.join(missing[:10])}; upload each "
            "file (PUT /api/model-files/<sha256>) before registering. Nothing was registered.",
            details={"missing": missing},
        )
    record = {
        "name": name,
        "tags": _string_map(spec.get("tags"), "tags"),
        "properties": _string_map(spec.get("properties"), "properties"),
        "description": _optional_text(spec.get("description"), "description"),
        "framework": _optional_text(spec.get("framework"), "framework"),
        "frameworkVersion": _optional_text(spec.get("frameworkVersion"), "frameworkVersion"),
        "datasets": _datasets(spec.get("datasets")),
        "runId": _optional_text(spec.get("runId"), "runId"),
        "item": next(iter(files)).split("/", 1)[0],
        "files": files,
    }
    return _insert_next_version(name, record)


def _run_files(spec: Mapping[str, Any]) -> dict[str, str]:
    """Store the files run ``spec["runId"]`` captured under ``spec["runPath"]``; their manifest."""
    run_id = str(spec.get("runId") or "")
    run_path = str(spec.get("runPath") or "outputs").strip().removeprefix("./").strip("/")
    captured = runs.list_run_files(run_id)  # RunNotFoundError for an unknown run
    chosen = [f for f in captured if f == run_path or f.startswith(run_path + "/")]
    if not chosen:
        raise ValidationError(
            f"run {run_id!r} captured no file at {run_path!r} (it has {len(captured)} file(s): "
            f"{', '.join(captured[:10]) or 'none'}); a step's ./outputs are captured when its script ends, so "
            "register them from the finished run, or use Model.register with a local path inside the step."
        )
    parent = run_path.rsplit("/", 1)[0] + "/" if "/" in run_path else ""
    files = {}
    for path in chosen:
        data = runs.download_run_file(run_id, path)
        sha = hashlib.sha256(data).hexdigest()
        put_file(sha, data)
        files[path[len(parent) :]] = sha
    return files


def get(name: Optional[str], version: Optional[int | str] = None, model_id: Optional[str] = None) -> dict[str, Any]:
    """A model version by name (latest unless ``version``) or by id ``name:version``."""
    if model_id:
        name, _, version = str(model_id).rpartition(":")
        if not name or not version.isdigit():
            raise ValidationError(f"model id {model_id!r} is not of the form '<name>:<version>'")
    if not name:
        raise ValidationError("give a model name or id, e.g. Model(ws, name='model') or Model(ws, id='model:1')")
    found = _versions(str(name))
    if not found:
        raise ModelNotFoundException(
            f"Model with name {name!r} not found in the workspace; register it with "
            f"Model.register(ws, model_path=..., model_name={name!r})"
        )
    if version in (None, "", "latest"):
        return found[-1]
    match = [r for r in found if str(r["version"]) == str(version)]
    if not match:
        raise ModelNotFoundException(
            f"Model {name!r} has no version {version}; its versions are {', '.join(str(r['version']) for r in found)}"
        )
    return match[0]


def list_models(name: Optional[str] = None, tags: Optional[Sequence[Any]] = None) -> list[dict[str, Any]]:
    """Registered model versions, newest first; v1's ``tags`` filter: ``["key", ["key", "value"], ...]``."""
    wanted = _check_filter(tags)
    found = _versions(name) if name else records().query(TABLE, PARTITION)
    chosen = [r for r in found if _matches(r.get("tags") or {}, wanted)]
    return sorted(chosen, key=lambda r: (r["createdTime"], r["version"]), reverse=True)


def parse_tags(text: Optional[str]) -> Optional[list[Any]]:
    """The ``tags`` filter of a query string: JSON, ``["key", ["key", "value"], ...]``."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValidationError(f'the tags filter must be a JSON list like ["key", ["key", "value"]]: {exc}') from exc
    return _check_filter(value)


# ---------------------------------------------------------------------------------------------- helpers
def _versions(name: str) -> list[dict[str, Any]]:
    return sorted(records().query(TABLE, PARTITION, "name eq @name", {"name": name}), key=lambda r: int(r["version"]))


def _insert_next_version(name: str, record: dict[str, Any]) -> dict[str, Any]:
    for _ in range(_INSERT_TRIES):
        versions = _versions(name)
        version = int(versions[-1]["version"]) + 1 if versions else 1
        full = {**record, "id": f"{name}:{version}", "version": version, "createdTime": utc_now()}
        if records().insert(TABLE, PARTITION, f"{name}:{version:08d}", full):
            return full
    raise RuntimeError(
        f"model {name!r}: could not claim a new version in {_INSERT_TRIES} tries (many concurrent "
        "registrations); register it again"
    )


def _stored(sha256: str) -> bool:
    return bool(blob_container(CONTAINER).get_blob_client(f"files/{sha256}").exists())


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValidationError(
            f"model name {name!r} is not valid: use 1-255 letters, digits, '-', '_' or '.', starting with a "
            "letter or digit"
        )
    return name


def _check_files(name: str, files: Any) -> dict[str, str]:
    if not isinstance(files, dict) or not files:
        raise ValidationError(
            f"model {name!r}: 'files' must map each file's path to its sha256, and the model needs at least one file"
        )
    items = set()
    for path, sha in files.items():
        parts = str(path).split("/")
        if not isinstance(path, str) or any(p in ("", ".", "..") for p in parts) or "\\" in path:
            raise ValidationError(f"model {name!r}: file path {path!r} must be relative, with '/' separators")
        check_relative_path(path, f"model {name!r}: file path", "model/model.pkl")  # also encoded '..', NUL...
        if not isinstance(sha, str) or not _SHA256.match(sha):
            raise ValidationError(f"model {name!r}: file {path!r} has {sha!r}, not a sha256")
        items.add(parts[0])
    if len(items) != 1:
        raise ValidationError(
            f"model {name!r}: every file must lie under one registered item (the file or folder "
            f"given as model_path); got {sorted(items)}"
        )
    return dict(sorted(files.items()))


def _string_map(value: Any, what: str) -> dict[str, str]:
    if value in (None, {}):
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValidationError(f"model {what} must be an object with string keys, got {value!r}")
    return {k: str(v) for k, v in value.items()}


def _optional_text(value: Any, what: str) -> Optional[str]:
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"model {what} must be a string, got {type(value).__name__} {value!r}")
    return value


def _datasets(value: Any) -> list[list[str]]:
    if not value:
        return []
    if not isinstance(value, list) or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in value):
        raise ValidationError(f"model datasets must be a list of [label, dataset id] pairs, got {value!r}")
    return [[str(label), str(ref)] for label, ref in value]


def _check_filter(wanted: Any) -> list[Any]:
    if wanted is None:
        return []
    if not isinstance(wanted, (list, tuple)):
        raise ValidationError(f"the tags filter must be a list of keys and [key, value] pairs, not {wanted!r}")
    for item in wanted:
        if not (isinstance(item, str) or (isinstance(item, (list, tuple)) and len(item) in (1, 2))):
            raise ValidationError(f"a tags filter item is a key or a [key, value] pair, not {item!r}")
    return list(wanted)


def _matches(values: Mapping[str, Any], wanted: Sequence[Any]) -> bool:
    for item in wanted:
        if isinstance(item, str) or len(item) == 1:
            key = item if isinstance(item, str) else item[0]
            if str(key) not in values:
                return False
        elif values.get(str(item[0])) != str(item[1]):
            return False
    return True
