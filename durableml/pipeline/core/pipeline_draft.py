"""PipelineDraft: an editable, saved pipeline that can be run or published later.

The draft stores the compiled pipeline document; ``update(pipeline=...)`` replaces it. Service
records carry ``id``, ``name``, ``description``, ``experimentName``, ``tags``, ``properties``,
``pipelineParameters`` and ``continueOnStepFailure``.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from durableml.pipeline import submission  # as a module: imported first, it loads this one before its functions
from durableml.pipeline.core._service_record import ServiceRecord
from durableml.pipeline.core.pipeline_parameter import PipelineParameter
from durableml.pipeline.core.published_pipeline import PublishedPipeline

if TYPE_CHECKING:
    from durableml._handles import WorkspaceHandle
    from durableml.pipeline.core.pipeline import Pipeline
    from durableml.pipeline.core.run import PipelineRun

__all__ = ["PipelineDraft"]


class PipelineDraft(ServiceRecord):
    """A pipeline draft (v1 ``PipelineDraft``)."""

    @staticmethod
    def create(
        workspace: WorkspaceHandle,
        pipeline: Pipeline,
        name: str | None = None,
        description: str | None = None,
        experiment_name: str | None = None,
        pipeline_parameters: Mapping[str, Any] | None = None,
        continue_on_step_failure: bool | None = None,
        tags: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
        _service_endpoint: str | None = None,
    ) -> PipelineDraft:
        """Save ``pipeline`` as a new draft."""
        document = _uploaded_document(workspace, pipeline)
        spec = {
            "name": name,
            "description": description,
            "experimentName": experiment_name,
            "pipelineParameters": submission.parameter_values(document, pipeline_parameters or {}),
            "continueOnStepFailure": continue_on_step_failure,
            "tags": dict(tags or {}),
            "properties": dict(properties or {}),
        }
        return PipelineDraft(workspace, workspace._client.create_draft(document, spec))

    @staticmethod
    def get(workspace: WorkspaceHandle, id: str, _service_endpoint: str | None = None) -> PipelineDraft:
        """Return the draft ``id``."""
        return PipelineDraft(workspace, workspace._client.get_draft(id))

    @staticmethod
    def list(
        workspace: WorkspaceHandle, tags: Mapping[str, str] | None = None, _service_endpoint: str | None = None
    ) -> builtins.list[PipelineDraft]:
        """Return the drafts that carry all of ``tags``."""
        return [PipelineDraft(workspace, r) for r in workspace._client.list_drafts(dict(tags) if tags else None)]

    @property
    def experiment_name(self) -> str | None:
        """The experiment runs of the draft go to."""
        return self._record.get("experimentName")

    @property
    def tags(self) -> dict[str, str]:
        """The draft tags."""
        return dict(self._record.get("tags") or {})

    @property
    def properties(self) -> dict[str, str]:
        """The draft properties."""
        return dict(self._record.get("properties") or {})

    def update(
        self,
        pipeline: Pipeline | None = None,
        name: str | None = None,
        description: str | None = None,
        experiment_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        pipeline_parameters: Mapping[str, Any] | None = None,
        continue_on_step_failure: bool | None = None,
    ) -> None:
        """Change the given parts of the draft (``pipeline`` replaces the saved document)."""
        document = _uploaded_document(self._workspace, pipeline) if pipeline is not None else None
        if pipeline_parameters is not None:  # checked against the saved pipeline by the service
            given = pipeline_parameters
            pipeline_parameters = (
                submission.parameter_values(document, given)
                if document is not None
                else {k: PipelineParameter(k, v).default_to_document() for k, v in given.items()}
            )
        changes = {
            "name": name,
            "description": description,
            "experimentName": experiment_name,
            "tags": tags,
            "pipelineParameters": pipeline_parameters,
            "continueOnStepFailure": continue_on_step_failure,
        }
        self._record = dict(
            self._workspace._client.update_draft(self.id, document, {k: v for k, v in changes.items() if v is not None})
        )

    def submit_run(self) -> PipelineRun:
        """Run the draft; return the PipelineRun."""
        from durableml.core.experiment import Experiment
        from durableml.pipeline.core.run import PipelineRun

        record = self._workspace._client.submit_draft(self.id)
        experiment = Experiment(self._workspace, str(record.get("experimentName") or self.experiment_name))
        return PipelineRun(experiment, str(record["id"]), _record=record)

    def publish(self) -> PublishedPipeline:
        """Publish the draft; return the PublishedPipeline."""
        return PublishedPipeline(self._workspace, self._workspace._client.publish_draft(self.id))

    def delete(self) -> None:
        """Delete the draft."""
        self._workspace._client.delete_draft(self.id)

    def __repr__(self) -> str:
        return f"PipelineDraft(Name: {self.name}, Id: {self.id})"


def _uploaded_document(workspace: WorkspaceHandle, pipeline: Pipeline) -> dict[str, Any]:
    """The pipeline's document with its steps' source snapshots uploaded (a draft runs without this machine)."""
    document = pipeline.to_document()
    submission.attach_snapshots(document, workspace._client)
    return document
