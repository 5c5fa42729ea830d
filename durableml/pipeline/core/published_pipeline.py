"""PublishedPipeline: a frozen pipeline document with an id and a REST endpoint.

Service records carry ``id``, ``name``, ``description``, ``version``, ``status`` (``Active`` /
``Disabled``), ``endpoint`` (the v1-shaped ``.../PipelineRuns/PipelineSubmit/<id>`` URL) and
``continueOnStepFailure``. ``Pipeline.publish`` and ``PipelineRun.publish_pipeline`` create them.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from durableml._http_errors import v1_lookup_error
from durableml.core.experiment import Experiment
from durableml.core.workspace import Workspace
from durableml.exceptions import NotSupportedError, PipelineNotFoundError
from durableml.pipeline.core._service_record import ServiceRecord
from durableml.pipeline.core.run import PipelineRun

if TYPE_CHECKING:
    from durableml._handles import WorkspaceHandle

__all__ = ["PublishedPipeline"]


class PublishedPipeline(ServiceRecord):
    """A published pipeline (v1 ``PublishedPipeline``); get one with ``get``/``list`` or ``publish``."""

    @staticmethod
    def get(
        workspace: WorkspaceHandle,
        id: str | None = None,
        _service_endpoint: str | None = None,
        *,
        name: str | None = None,
    ) -> PublishedPipeline:
        """Return the published pipeline ``id`` (or, durableml extension, the newest active one called ``name``).

        ``workspace`` may be given as a string (one of the seed articles passes ``workspace="ws"``): it then
        means the workspace of config.json, ``Workspace.from_config()``. A missing one raises
        ``PipelineNotFoundError`` (a ``UserErrorException``; also msrest's ``HttpOperationError`` once v1 code has
        imported msrest: v1 raised an ``ErrorResponseException``).
        """
        workspace = _workspace(workspace)
        if id is not None:
            try:
                record = workspace._client.get_published_pipeline(id)
            except PipelineNotFoundError as exc:
                raise v1_lookup_error(exc, "", http_operation_error=True) from exc
            return PublishedPipeline(workspace, record)
        matches = [p for p in PublishedPipeline.list(workspace) if p.name == name]
        if not matches:
            raise PipelineNotFoundError(
                f"No active published pipeline is named {name!r}; pass its id: PublishedPipeline.get(ws, id=...)."
            )
        return matches[0]

    @staticmethod
    def list(
        workspace: WorkspaceHandle, active_only: bool = True, _service_endpoint: str | None = None
    ) -> builtins.list[PublishedPipeline]:
        """Return the published pipelines of ``workspace``, newest first (only Active ones when ``active_only``)."""
        workspace = _workspace(workspace)
        return [PublishedPipeline(workspace, r) for r in workspace._client.list_published_pipelines(active_only)]

    get_all = list

    @property
    def version(self) -> str | None:
        """The version label given at publishing."""
        return self._record.get("version")

    @property
    def status(self) -> str:
        """``Active`` or ``Disabled``."""
        return str(self._record.get("status", "Active"))

    @property
    def endpoint(self) -> str:
        """The REST endpoint that starts runs."""
        return str(self._record.get("endpoint", ""))

    @property
    def continue_on_step_failure(self) -> bool:
        """Whether runs continue past failed steps."""
        return bool(self._record.get("continueOnStepFailure", False))

    def submit(
        self,
        workspace: WorkspaceHandle,
        experiment_name: str,
        pipeline_parameters: Mapping[str, Any] | None = None,
        _workflow_provider: Any = None,
        _service_endpoint: str | None = None,
        parent_run_id: str | None = None,
        continue_on_step_failure: bool | None = None,
    ) -> PipelineRun:
        """Start a run of this published pipeline in ``experiment_name``."""
        workspace = _workspace(workspace)
        if continue_on_step_failure is not None or parent_run_id is not None:
            raise NotSupportedError(
                "PublishedPipeline.submit(continue_on_step_failure=..., parent_run_id=...)",
                "A published pipeline runs with the continue_on_step_failure it was published with; publish "
                "it again to change it.",
            )
        record = workspace._client.submit_published_pipeline(self.id, experiment_name, dict(pipeline_parameters or {}))
        return PipelineRun(Experiment(workspace, experiment_name), str(record["id"]), _record=record)

    def _submit_to_experiment(
        self, experiment: Experiment, pipeline_parameters: Mapping[str, Any] | None, tags: Any, **kwargs: Any
    ) -> PipelineRun:
        """What ``Experiment.submit(published_pipeline)`` does: ``submit`` in that experiment (no tags)."""
        return self.submit(experiment.workspace, experiment.name, pipeline_parameters=pipeline_parameters, **kwargs)

    def enable(self) -> None:
        """Accept runs again."""
        self._record = dict(self._workspace._client.update_published_pipeline(self.id, {"status": "Active"}))

    def disable(self) -> None:
        """Refuse new runs (existing runs continue)."""
        self._record = dict(self._workspace._client.update_published_pipeline(self.id, {"status": "Disabled"}))

    def __repr__(self) -> str:
        return f"PublishedPipeline(Name: {self.name}, Id: {self.id}, Status: {self.status}, Endpoint: {self.endpoint})"


def _workspace(workspace: Any) -> WorkspaceHandle:
    if isinstance(workspace, str):
        return Workspace.from_config()
    return workspace  # type: ignore[no-any-return]
