"""The one interface through which SDK objects talk to the durableml service.

Workspace, Datastore, Dataset, Experiment, ComputeTarget, Model and the run/publish objects never
do I/O of their own against the service: they call a :class:`ServiceClient`. The real client speaks
the Function App's HTTP API; tests pass their own small double. Records are plain JSON objects
(``dict``) as the HTTP API returns them, camelCase (their shapes: ``durableml/service/record_types.py``); the
keys each SDK object reads are listed in its module.

Unless a factory is installed (see :func:`set_client_factory`), a workspace holds an
:class:`~durableml.http_client.HttpServiceClient` for its configured endpoint; when the service
cannot be reached, every operation that needs it raises
:class:`~durableml.exceptions.ServiceNotConnectedError` naming the operation and the endpoint.
Authoring and compiling pipelines never needs the service.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, Protocol, runtime_checkable

from durableml.config import WorkspaceConfig
from durableml.exceptions import ServiceNotConnectedError

__all__ = [
    "Record",
    "ServiceClient",
    "UnconnectedClient",
    "ClientFactory",
    "set_client_factory",
    "create_client",
]

Record = dict[str, Any]
"""A JSON object returned by the service (a datastore, a run, a compute target...)."""


@runtime_checkable
class ServiceClient(Protocol):
    """Everything the SDK asks of the durableml service.

    Methods raise the errors of :mod:`durableml.exceptions`: ``DatastoreNotFoundError``,
    ``ComputeTargetNotFoundError``, ``RunNotFoundError``, ``ValidationError`` for rejected input,
    ``AuthenticationException``, ``ServiceError`` for transport failures.
    """

    # workspace and datastores
    def get_workspace(self) -> Record: ...
    def list_datastores(self) -> list[Record]: ...
    def get_datastore(self, name: str | None) -> Record:
        """Return the datastore ``name``, or the workspace default when ``name`` is None."""

    def register_datastore(self, spec: Mapping[str, Any], overwrite: bool) -> Record: ...
    def set_default_datastore(self, name: str) -> None: ...
    def unregister_datastore(self, name: str) -> None: ...
    def upload_files(
        self, datastore: str, files: Sequence[tuple[str, str]], overwrite: bool, show_progress: bool
    ) -> int:
        """Upload ``(local path, path on datastore)`` pairs; return the number of files uploaded."""

    def download_files(
        self, datastore: str, prefix: str | None, target_path: str, overwrite: bool, show_progress: bool
    ) -> int:
        """Download blobs under ``prefix`` to ``target_path/<blob path>``; return the file count."""

    # compute targets
    def list_compute(self) -> list[Record]: ...
    def get_compute(self, name: str) -> Record: ...
    def create_compute(self, name: str, spec: Mapping[str, Any]) -> Record: ...
    def attach_compute(self, name: str, spec: Mapping[str, Any]) -> Record: ...
    def delete_compute(self, name: str) -> None: ...

    # datasets
    def list_datasets(self) -> list[Record]: ...
    def get_dataset(
        self, name: str | None = None, version: str | int | None = None, id: str | None = None
    ) -> Record: ...
    def register_dataset(
        self,
        definition: Mapping[str, Any],
        name: str,
        description: str | None,
        tags: Mapping[str, str] | None,
        create_new_version: bool,
    ) -> Record: ...
    def list_dataset_files(self, definition: Mapping[str, Any]) -> list[str]: ...
    def download_dataset(self, definition: Mapping[str, Any], target_path: str, overwrite: bool) -> list[str]:
        """Materialize the dataset's files under ``target_path``; return the local file paths."""

    # experiments, snapshots, runs
    def list_experiments(self) -> list[Record]: ...
    def get_experiment(self, name: str) -> Record: ...
    def upload_snapshot(self, source_directory: str, hash_paths: Sequence[str] = ()) -> str:
        """Upload a source directory (honouring .amlignore/.gitignore); return the snapshot id.

        Files under legacy ``hash_paths`` (relative to the directory) count for reuse even when ignored.
        """

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
    ) -> Record: ...
    def resume_run(self, run_id: str) -> Record:
        """Start a new run of the ended pipeline run ``run_id`` that reuses its finished steps."""

    def get_reuse_explanation(self, run_id: str) -> Record:
        """``{"stepRunId", "reused", "reusedFrom", "comparedWith", "reasons", "changes", "message"}`` of a step run."""

    def get_run(self, run_id: str) -> Record: ...
    def wait_for_run_change(
        self, run_id: str, known_status: str | None, wait: float, steps: bool = False
    ) -> tuple[Record, bool]:
        """The run record as soon as its status is not ``known_status`` or its record (with ``steps``: or one
        of its steps' records) is written, or after ``wait`` seconds; the flag says whether the service did
        wait (False: it answered at once, as a service without long polling does, so the caller paces
        itself)."""

    def list_runs(self, experiment: str) -> list[Record]: ...
    def list_step_runs(self, run_id: str) -> list[Record]: ...
    def cancel_run(self, run_id: str) -> None: ...
    def get_run_log(self, run_id: str, offset: int) -> str: ...
    def get_run_metrics(self, run_id: str) -> dict[str, Any]: ...
    def log_metrics(self, run_id: str, metrics: Sequence[Mapping[str, Any]]) -> None: ...
    def list_run_files(self, run_id: str) -> list[str]: ...
    def download_run_file(self, run_id: str, name: str, target_path: str) -> None: ...

    # models
    def register_model(self, spec: Mapping[str, Any], files: Sequence[tuple[str, str]]) -> Record: ...
    def get_model(self, name: str | None, version: int | None, id: str | None) -> Record: ...
    def list_models(self, name: str | None, tags: Sequence[Any] | None) -> list[Record]: ...
    def download_model(self, model_id: str, target_path: str) -> str: ...

    # published pipelines, endpoints, schedules, drafts
    def publish_pipeline(self, document: Mapping[str, Any] | None, spec: Mapping[str, Any]) -> Record:
        """Publish ``document``, or (document None) the pipeline of run ``spec["sourceRunId"]``."""

    def get_published_pipeline(self, id: str) -> Record: ...
    def list_published_pipelines(self, active_only: bool) -> list[Record]: ...
    def update_published_pipeline(self, id: str, changes: Mapping[str, Any]) -> Record: ...
    def submit_published_pipeline(self, id: str, experiment: str, parameters: Mapping[str, Any]) -> Record: ...
    def create_pipeline_endpoint(self, spec: Mapping[str, Any]) -> Record: ...
    def get_pipeline_endpoint(self, id: str | None, name: str | None) -> Record: ...
    def list_pipeline_endpoints(self, active_only: bool) -> list[Record]: ...
    def update_pipeline_endpoint(self, id: str, changes: Mapping[str, Any]) -> Record: ...
    def submit_pipeline_endpoint(
        self, id: str, experiment: str, version: str | None, parameters: Mapping[str, Any]
    ) -> Record: ...
    def create_schedule(self, spec: Mapping[str, Any]) -> Record: ...
    def get_schedule(self, id: str) -> Record: ...
    def list_schedules(self, filters: Mapping[str, Any]) -> list[Record]: ...
    def update_schedule(self, id: str, changes: Mapping[str, Any]) -> Record: ...
    def list_schedule_runs(self, id: str) -> list[Record]: ...
    def create_draft(self, document: Mapping[str, Any], spec: Mapping[str, Any]) -> Record: ...
    def get_draft(self, id: str) -> Record: ...
    def list_drafts(self, tags: Mapping[str, str] | None) -> list[Record]: ...
    def update_draft(self, id: str, document: Mapping[str, Any] | None, changes: Mapping[str, Any]) -> Record: ...
    def delete_draft(self, id: str) -> None: ...
    def submit_draft(self, id: str) -> Record: ...
    def publish_draft(self, id: str) -> Record: ...


class UnconnectedClient:
    """A client for a workspace whose service is not reachable from this process (yet).

    Every method raises ServiceNotConnectedError; it never pretends to succeed.
    """

    def __init__(self, config: WorkspaceConfig) -> None:
        self.config = config

    def __getattr__(self, operation: str) -> Callable[..., NoReturn]:
        if operation.startswith("_"):
            raise AttributeError(operation)

        def unavailable(*args: Any, **kwargs: Any) -> NoReturn:
            raise ServiceNotConnectedError(
                f"'{operation}' needs the durableml service at {self.config.endpoint} "
                f"(workspace {self.config.workspace_name!r}), but no service client is configured "
                "in this process. Start the service (funchost) and install its client with "
                "durableml.client.set_client_factory(...), or pass client= to Workspace.",
                details={"operation": operation, "endpoint": self.config.endpoint},
            )

        return unavailable

    def __repr__(self) -> str:
        return f"UnconnectedClient(endpoint={self.config.endpoint!r})"


ClientFactory = Callable[[WorkspaceConfig], ServiceClient]
_factory: ClientFactory | None = None


def set_client_factory(factory: ClientFactory | None) -> ClientFactory | None:
    """Install the factory that builds a client for each workspace; return the previous one.

    ``None`` restores the default, which builds an :class:`~durableml.http_client.HttpServiceClient`.
    """
    global _factory
    previous, _factory = _factory, factory
    return previous


def create_client(config: WorkspaceConfig) -> ServiceClient:
    """Build the service client for ``config``: the installed factory's, else the HTTP API client."""
    if _factory is None:
        from durableml.http_client import HttpServiceClient  # here, so that importing durableml stays light

        return HttpServiceClient(config)
    return _factory(config)
