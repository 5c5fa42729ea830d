"""Model registry operations of :class:`~durableml.http_client.HttpServiceClient` (routes in ``triggers/models.py``).

Registering uploads each file by its sha256 (``PUT /api/model-files/<sha256>``, idempotent, so retried)
and then posts the record (``POST /api/models``, never retried): the service writes the record only when
every file is stored, so a failed upload leaves nothing registered.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from durableml._http_transport import HttpTransport, Record, download_destination
from durableml.exceptions import ValidationError

__all__ = ["ModelOperations"]


class ModelOperations(HttpTransport):
    """Register, find, list and download registered models."""

    def register_model(self, spec: Mapping[str, Any], files: Sequence[tuple[str, str]]) -> Record:
        """Upload ``(local path, path in the model)`` pairs and register them as a new version of ``spec["name"]``.

        With ``spec["runPath"]`` (``Run.register_model``) the service takes the files the run captured.
        """
        manifest = {}
        for local, name in files:
            manifest[name] = self._upload_model_file(local)
        body = {**dict(spec), "files": manifest} if files else dict(spec)
        return self._record("register_model", "POST", "/api/models", json=body, retry=False)

    def _upload_model_file(self, local: str) -> str:
        try:
            with open(local, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise ValidationError(f"Model.register: cannot read {local!r}: {exc.strerror or exc}.") from exc
        sha = hashlib.sha256(data).hexdigest()
        self._request("register_model", "PUT", f"/api/model-files/{sha}", data=data, retry=True).close()
        return sha

    def get_model(self, name: str | None, version: int | None, id: str | None) -> Record:
        """A model version by name (latest unless ``version``) or by id ``name:version``."""
        params = {"version": str(version)} if version is not None else {}
        path = f"/api/models/{quote(name, safe='')}" if name and not id else "/api/models"
        if id:
            params = {"id": id}
        return self._record("get_model", "GET", path, params=params)

    def list_models(self, name: str | None, tags: Sequence[Any] | None) -> list[Record]:
        """Model versions, newest first, optionally only ``name`` and those matching ``tags``."""
        params = {k: v for k, v in (("name", name), ("tags", json.dumps(list(tags)) if tags else None)) if v}
        return self._records("list_models", "/api/models", params=params)

    def download_model(self, model_id: str, target_path: str) -> str:
        """Download the model's files under ``target_path``; return the path of its registered file or folder."""
        record = self.get_model(None, None, model_id)
        files: Mapping[str, str] = record.get("files") or {}
        destinations = {name: download_destination(target_path, name) for name in files}  # all checked before any write
        for name, sha in files.items():
            self._download("download_model", f"/api/model-files/{quote(sha, safe='')}", destinations[name])
        return os.path.join(target_path, str(record["item"]))
