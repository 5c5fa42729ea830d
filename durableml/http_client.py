"""The real :class:`~durableml.client.ServiceClient`: the durableml HTTP API, spoken with ``requests``.

Each operation is one call (or, for files and snapshots, a few calls) to a route that ``triggers/api.py``
serves; see "The HTTP API" in docs/design/pipeline-runtime.md. :class:`HttpServiceClient` holds the
operations that have a route; it is built from

- :mod:`durableml._http_transport`: the session, the key header, timeouts and retries (idempotent
  requests only: submitting a run or logging metrics is never retried);
- :mod:`durableml._http_errors`: the one place where the service's error answers
  (``{"error": {"code", "message", "details"}}``) become :mod:`durableml.exceptions`;
- :mod:`durableml._http_unavailable`: the operations without a route yet, which raise NotSupportedError.

Source snapshots (:mod:`durableml.source_snapshot`) honour ``.amlignore`` (else ``.gitignore``) at the top
of the source directory, with git's syntax (:mod:`durableml.ignore_rules`), skip symlinks that lead out of
the directory, and upload only the files whose sha256 the service does not hold yet.

The function key travels in the ``x-functions-key`` header only: never in a URL, a log line, an
exception message or a repr. ``requests`` is imported on the first request, not with ``durableml``.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from durableml._http_transport import DEFAULT_TIMEOUT, RETRY_DELAYS, HttpTransport, Record, download_destination
from durableml._http_models import ModelOperations
from durableml._http_published import PublishedOperations
from durableml._http_schedules import ScheduleOperations
from durableml._http_unavailable import UnavailableOperations
from durableml._names import check_blob_name
from durableml.exceptions import ExperimentNotFoundError, ServiceError, SnapshotException, ValidationError
from durableml.source_snapshot import SnapshotFile, hash_path_files, snapshot_files

__all__ = ["HttpServiceClient", "DEFAULT_TIMEOUT", "RETRY_DELAYS", "LONG_POLL_HEADER"]

LONG_POLL_HEADER = "Durableml-Long-Poll"
"""Set by the service on answers to a long poll (``?wait=``): it did wait for news."""


class HttpServiceClient(ModelOperations, ScheduleOperations, PublishedOperations, HttpTransport, UnavailableOperations):
    """The :class:`~durableml.client.ServiceClient` over the durableml HTTP API at ``config.endpoint``.

    ``timeout`` is (connect, read) seconds per request; ``retry_delays`` the pauses before each retry
    of an idempotent request. Use it as a context manager, or call :meth:`close`, to close its
    connections early; they are closed when the client is garbage-collected otherwise.
    """

    def __repr__(self) -> str:
        return f"HttpServiceClient(endpoint={self.endpoint!r})"

    def __enter__(self) -> HttpServiceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- workspace and datastores
    def get_workspace(self) -> Record:
        """The workspace record (name, subscriptionId, resourceGroup, location, defaultDatastore)."""
        return self._record("get_workspace", "GET", "/api/workspace")

    def list_datastores(self) -> list[Record]:
        """Every datastore record."""
        return self._records("list_datastores", "/api/datastores")

    def get_datastore(self, name: str | None) -> Record:
        """Return the datastore ``name``, or the workspace default when ``name`` is None."""
        if not name:
            name = self._default_datastore_name()
        return self._record("get_datastore", "GET", f"/api/datastores/{_segment(name)}")

    def _default_datastore_name(self) -> str:
        name = self._record("get_datastore", "GET", "/api/workspace").get("defaultDatastore")
        if not isinstance(name, str) or not name:
            raise ServiceError(f"the workspace record of {self.endpoint} names no 'defaultDatastore' (got {name!r}).")
        return name

    def register_datastore(self, spec: Mapping[str, Any], overwrite: bool) -> Record:
        """Register (or, with ``overwrite``, replace) the datastore ``spec["name"]``."""
        name = str(spec.get("name") or "")
        if not name:
            raise ValidationError(f"a datastore spec needs a 'name'; got the keys {sorted(spec)}.")
        path = f"/api/datastores/{_segment(name)}"
        return self._record("register_datastore", "PUT", path, json=dict(spec), params=_flag("overwrite", overwrite))

    def set_default_datastore(self, name: str) -> None:
        """Make the datastore ``name`` the workspace default."""
        self._request("set_default_datastore", "POST", f"/api/datastores/{_segment(name)}/default", retry=True).close()

    def unregister_datastore(self, name: str) -> None:
        """Unregister the datastore ``name`` (its storage is left as it is)."""
        self._request("unregister_datastore", "DELETE", f"/api/datastores/{_segment(name)}").close()

    def upload_files(
        self, datastore: str, files: Sequence[tuple[str, str]], overwrite: bool, show_progress: bool
    ) -> int:
        """Upload ``(local path, path on datastore)`` pairs; return the number of files uploaded."""
        total = len(files)
        _progress(show_progress, f"Uploading an estimated of {total} files")
        for count, (local, remote) in enumerate(files, 1):
            self._upload_file(datastore, local, remote, overwrite)
            _progress(show_progress, f"Uploaded {local}, {count} files out of an estimated total of {total}")
        _progress(show_progress, f"Uploaded {total} files")
        return total

    def _upload_file(self, datastore: str, local: str, remote: str, overwrite: bool) -> None:
        target = remote.replace("\\", "/").lstrip("/")
        if not target or target.endswith("/"):
            raise ValidationError(f"upload_files: {remote!r} is not a file path on the datastore (for {local!r}).")
        # "./data" or "data//x" name the same place as "data" and "data/x" (a URL would lose the "."); the rest
        # of the service's blob name rules are checked here too ("..", which a URL would resolve, NUL...)
        target = check_blob_name(
            "/".join(part for part in target.split("/") if part not in ("", ".")), f"upload_files: path for {local!r}"
        )
        try:
            with open(local, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise ValidationError(f"upload_files: cannot read {local!r}: {exc.strerror or exc}.") from exc
        path = f"/api/datastores/{_segment(datastore)}/files/{_file_path(target)}"
        try:
            self._request("upload_files", "PUT", path, data=data, params=_flag("overwrite", overwrite)).close()
        except ValidationError as exc:
            raise ValidationError(f"upload_files: {local!r} ({len(data)} bytes) was refused: {exc}") from exc

    def download_files(
        self, datastore: str, prefix: str | None, target_path: str, overwrite: bool, show_progress: bool
    ) -> int:
        """Download blobs under ``prefix`` to ``target_path/<blob path>``; return the file count.

        Files that exist locally are kept (and not counted) unless ``overwrite``.
        """
        names = self._datastore_files(datastore, prefix or "")
        destinations = {name: download_destination(target_path, name) for name in names}  # all checked before any write
        _progress(show_progress, f"Downloading {len(names)} files from {datastore}")
        count = 0
        for name, destination in destinations.items():
            if not overwrite and os.path.exists(destination):
                _progress(show_progress, f"Skipping {name}: {destination} exists (overwrite=False)")
                continue
            remote = f"/api/datastores/{_segment(datastore)}/files/{_file_path(name)}"
            self._download("download_files", remote, destination)
            count += 1
            _progress(show_progress, f"Downloaded {name}, {count} files out of an estimated total of {len(names)}")
        return count

    def _datastore_files(self, datastore: str, prefix: str) -> list[str]:
        names = self._records(
            "download_files", f"/api/datastores/{_segment(datastore)}/files", params={"prefix": prefix}
        )
        # Filtered here as well: downloading exactly the prefix asked for must not depend on the server.
        return [str(n) for n in names if str(n).startswith(prefix.lstrip("/")) and not str(n).endswith("/")]

    # ---- compute targets
    def list_compute(self) -> list[Record]:
        """Every compute target record."""
        return self._records("list_compute", "/api/computes")

    def get_compute(self, name: str) -> Record:
        """The compute target ``name`` (ComputeTargetNotFoundError when there is none)."""
        return self._record("get_compute", "GET", f"/api/computes/{_segment(name)}")

    def create_compute(self, name: str, spec: Mapping[str, Any]) -> Record:
        """Create (or update) the compute target ``name`` from ``{"type", ...settings}``."""
        return self._record("create_compute", "PUT", f"/api/computes/{_segment(name)}", json=dict(spec))

    def attach_compute(self, name: str, spec: Mapping[str, Any]) -> Record:
        """Attach an external compute under ``name`` (the same route as create)."""
        return self._record("attach_compute", "PUT", f"/api/computes/{_segment(name)}", json=dict(spec))

    def delete_compute(self, name: str) -> None:
        """Delete (or detach) the compute target ``name``."""
        self._request("delete_compute", "DELETE", f"/api/computes/{_segment(name)}").close()

    # ---- datasets
    def list_datasets(self) -> list[Record]:
        """The latest version of every registered dataset."""
        return self._records("list_datasets", "/api/datasets")

    def get_dataset(self, name: str | None = None, version: str | int | None = None, id: str | None = None) -> Record:
        """A registered dataset by name (latest version unless ``version``) or by id."""
        params = {k: str(v) for k, v in (("version", version), ("id", id)) if v is not None}
        return self._record("get_dataset", "GET", f"/api/datasets/{_segment(name) if name else ''}", params=params)

    def register_dataset(
        self,
        definition: Mapping[str, Any],
        name: str,
        description: str | None,
        tags: Mapping[str, str] | None,
        create_new_version: bool,
    ) -> Record:
        """Register ``definition`` as dataset ``name`` (v1 versioning rules)."""
        body = {
            "definition": dict(definition),
            "name": name,
            "description": description,
            "tags": dict(tags or {}),
            "createNewVersion": create_new_version,
        }
        return self._record("register_dataset", "POST", "/api/datasets", json=body)

    def list_dataset_files(self, definition: Mapping[str, Any]) -> list[str]:
        """The dataset's files, relative to its root (as ``FileDataset.to_path`` shows them)."""
        return ["/" + str(f["relative"]) for f in self._dataset_files("list_dataset_files", definition)]

    def download_dataset(self, definition: Mapping[str, Any], target_path: str, overwrite: bool) -> list[str]:
        """Download the dataset's files under ``target_path`` (relative to the dataset's root)."""
        local = []
        for item in self._dataset_files("download_dataset", definition):
            destination = download_destination(target_path, str(item["relative"]))
            if overwrite or not os.path.exists(destination):
                remote = f"/api/datastores/{_segment(str(item['datastore']))}/files/{_file_path(str(item['path']))}"
                self._download("download_dataset", remote, destination)
            local.append(destination)
        return local

    def _dataset_files(self, operation: str, definition: Mapping[str, Any]) -> list[Any]:
        value = self._json(operation, "POST", "/api/dataset-files", json={"definition": dict(definition)})
        if not isinstance(value, list):
            raise ServiceError(f"'{operation}': POST /api/dataset-files returned {type(value).__name__}, not a list.")
        return value

    # ---- experiments, snapshots, runs
    def list_experiments(self) -> list[Record]:
        """Every experiment record (``{"name", "createdUtc"}``)."""
        return self._records("list_experiments", "/api/experiments")

    def get_experiment(self, name: str) -> Record:
        """The experiment ``name``, from the experiment list (the API has no route for one)."""
        for record in self.list_experiments():
            if record.get("name") == name:
                return dict(record)
        raise ExperimentNotFoundError(f"no experiment named {name!r} in the workspace at {self.endpoint}.")

    def upload_snapshot(self, source_directory: str, hash_paths: Sequence[str] = ()) -> str:
        """Upload a source directory (honouring .amlignore/.gitignore); return the snapshot id.

        Files named by legacy ``hash_paths`` that the snapshot leaves out count for reuse: their hashes are
        sent with the manifest, not their bytes.
        """
        files = snapshot_files(source_directory)
        hashed = hash_path_files(source_directory, hash_paths, files) if hash_paths else []
        manifest: dict[str, Any] = {"files": {file.path: file.sha256 for file in files}}
        if hashed:
            manifest["hashed"] = {file.path: file.sha256 for file in hashed}
        answer = self._record("upload_snapshot", "POST", "/api/snapshots/missing", json=manifest, retry=True)
        if answer.get("id"):  # the service holds this snapshot already
            return str(answer["id"])
        missing = set(answer.get("missing") or [])
        for file in {file.sha256: file for file in files if file.sha256 in missing}.values():
            self._upload_snapshot_file(file)
        created = self._record("upload_snapshot", "POST", "/api/snapshots", json=manifest, retry=True)
        return str(created["id"])

    def _upload_snapshot_file(self, file: SnapshotFile) -> None:
        try:
            with open(file.local_path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise SnapshotException(f"cannot read {file.local_path!r} for the snapshot: {exc}") from exc
        if hashlib.sha256(data).hexdigest() != file.sha256:
            raise SnapshotException(
                f"{file.local_path!r} changed while it was being snapshotted; submit again once it is written."
            )
        self._request("upload_snapshot", "PUT", f"/api/snapshots/files/{file.sha256}", data=data).close()

    def submit_pipeline(
        self,
        document: Mapping[str, Any],
        experiment: str,
        parameters: Mapping[str, Any],
        *,
        regenerate_outputs: bool,
        continue_on_step_failure: bool,
        tags: Mapping[str, str],
        properties: Mapping[str, str] | None = None,
        step_properties: Mapping[str, Mapping[str, str]] | None = None,
    ) -> Record:
        """Submit a pipeline document as a run of ``experiment``; never retried."""
        body = {
            "document": dict(document),
            "parameters": dict(parameters),
            "tags": dict(tags),
            "properties": dict(properties or {}),
            "stepProperties": {k: dict(v) for k, v in (step_properties or {}).items()},
            "continueOnStepFailure": bool(continue_on_step_failure),
            "regenerateOutputs": bool(regenerate_outputs),
        }
        path = f"/api/experiments/{_segment(experiment)}/runs"
        return self._record("submit_pipeline", "POST", path, json=body, retry=False)

    def resume_run(self, run_id: str) -> Record:
        """Start a run that resumes the ended pipeline run ``run_id``; never retried."""
        return self._record("resume_run", "POST", f"/api/runs/{_segment(run_id)}/resume", retry=False)

    def get_reuse_explanation(self, run_id: str) -> Record:
        """Why the step run ``run_id`` was (not) reused."""
        return self._record("get_reuse_explanation", "GET", f"/api/runs/{_segment(run_id)}/reuse")

    def get_run(self, run_id: str) -> Record:
        """The run record ``run_id`` (a pipeline run or a step run)."""
        return self._record("get_run", "GET", f"/api/runs/{_segment(run_id)}")

    def wait_for_run_change(
        self, run_id: str, known_status: str | None, wait: float, steps: bool = False
    ) -> tuple[Record, bool]:
        """``GET /api/runs/{id}?wait=S&status=X``: the long poll (see :class:`~durableml.client.ServiceClient`)."""
        params = {"wait": f"{wait:g}", **({"status": known_status} if known_status else {})}
        if steps:
            params["steps"] = "true"
        record, headers = self._record_and_headers("get_run", "GET", f"/api/runs/{_segment(run_id)}", params=params)
        return record, headers.get(LONG_POLL_HEADER) == "1"

    def list_runs(self, experiment: str) -> list[Record]:
        """The pipeline runs of ``experiment``, newest first."""
        return self._records("list_runs", f"/api/experiments/{_segment(experiment)}/runs")

    def list_step_runs(self, run_id: str) -> list[Record]:
        """The step runs of the pipeline run ``run_id``."""
        return self._records("list_step_runs", f"/api/runs/{_segment(run_id)}/steps")

    def cancel_run(self, run_id: str) -> None:
        """Ask for the run to be canceled (repeating the request is harmless)."""
        self._request("cancel_run", "POST", f"/api/runs/{_segment(run_id)}/cancel", retry=True).close()

    def get_run_log(self, run_id: str, offset: int) -> str:
        """The run's driver log from character ``offset``."""
        path = f"/api/runs/{_segment(run_id)}/logs"
        response = self._request("get_run_log", "GET", path, params={"offset": int(offset)})
        try:
            return response.content.decode("utf-8", errors="replace")
        finally:
            response.close()

    def get_run_metrics(self, run_id: str) -> dict[str, Any]:
        """The metrics logged by the run, by name."""
        return self._record("get_run_metrics", "GET", f"/api/runs/{_segment(run_id)}/metrics")

    def log_metrics(self, run_id: str, metrics: Sequence[Mapping[str, Any]]) -> None:
        """Record metric entries (``{"kind", "name", "value", "description"}``) for the run; never retried."""
        path = f"/api/runs/{_segment(run_id)}/metrics"
        body = {"metrics": [dict(metric) for metric in metrics]}
        self._request("log_metrics", "POST", path, json=body, retry=False).close()

    def list_run_files(self, run_id: str) -> list[str]:
        """The names of the files the run captured (``outputs/...``, ``logs/...``)."""
        return [str(name) for name in self._records("list_run_files", f"/api/runs/{_segment(run_id)}/files")]

    def download_run_file(self, run_id: str, name: str, target_path: str) -> None:
        """Download the captured file ``name`` to ``target_path`` (into it, when it is a directory)."""
        if os.path.isdir(target_path):
            target_path = os.path.join(target_path, os.path.basename(name))
        path = f"/api/runs/{_segment(run_id)}/files/{_file_path(name.lstrip('/'))}"
        self._download("download_run_file", path, target_path)


# ------------------------------------------------------------------------------------------ helpers
def _segment(value: str) -> str:
    """One path segment of a route (a name or an id), percent-encoded, slashes included."""
    if not value:
        raise ValidationError("a name or id in a service route must not be empty.")
    return quote(value, safe="")


def _file_path(path: str) -> str:
    """A ``{*path}`` route tail: percent-encoded, slashes kept."""
    return quote(path, safe="/")


def _flag(name: str, value: bool) -> dict[str, str]:
    return {name: "true" if value else "false"}


def _progress(show: bool, message: str) -> None:
    if show:
        print(message, file=sys.stdout, flush=True)
