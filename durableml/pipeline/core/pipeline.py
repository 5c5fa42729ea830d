"""Pipeline: a set of steps (plus everything upstream of them), validated and compiled.

``Pipeline(ws, steps=[compare_step])`` is enough: steps that write the data ``compare_step``
reads, and ``run_after`` predecessors, are included transitively. ``validate()`` checks the
graph, ``to_document()`` compiles it into the pipeline document the service runs, ``submit``
and ``publish`` hand that document to the service.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from durableml.core.experiment import Experiment
from durableml.exceptions import ValidationError
from durableml.pipeline.core.published_pipeline import PublishedPipeline

if TYPE_CHECKING:
    from durableml.core.datastore import Datastore
    from durableml.core.workspace import Workspace
    from durableml.pipeline.core.run import PipelineRun

__all__ = ["Pipeline"]


class Pipeline:
    """A pipeline (v1 ``Pipeline(workspace, steps, description=None, ...)``).

    ``steps`` may nest lists and StepSequences. ``default_datastore`` is where PipelineData
    without a datastore is written (the workspace default otherwise); ``default_source_directory``
    applies to steps without one; ``resolve_closure=False`` requires every step to be listed.
    ``reuse_policy="content"`` keys every step's inputs by their content (steps may set their own).
    """

    def __init__(
        self,
        workspace: Workspace,
        steps: Any,
        description: str | None = None,
        default_datastore: Datastore | str | None = None,
        default_source_directory: str | None = None,
        resolve_closure: bool = True,
        reuse_policy: str | None = None,
        _workflow_provider: Any = None,
        _service_endpoint: str | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise TypeError(f"Pipeline() got unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
        if description is not None and not isinstance(description, str):
            raise ValidationError(f"Pipeline description must be a string, got {description!r}.")
        self._workspace = workspace
        self._steps = steps
        self._description = description
        self._default_datastore: str | None = (
            default_datastore
            if default_datastore is None or isinstance(default_datastore, str)
            else default_datastore.name
        )
        self._default_source_directory = default_source_directory
        self._resolve_closure = bool(resolve_closure)
        from durableml.pipeline.core.pipeline_step import check_reuse_policy

        self._reuse_policy = check_reuse_policy(reuse_policy, "Pipeline")

    @property
    def workspace(self) -> Workspace:
        """The workspace the pipeline runs in."""
        return self._workspace

    @property
    def description(self) -> str | None:
        """The pipeline description."""
        return self._description

    def validate(self) -> list[str]:
        """Check the graph; return an empty list, or raise PipelineValidationError listing every problem.

        (v1 returned the problems as a list; durableml raises so that none goes unnoticed.)
        """
        from durableml.pipeline.resolve import (
            resolve_graph,
        )  # imported here: pipeline.core must not import the compiler at load

        resolve_graph(self._steps, self._resolve_closure)
        return []

    def to_document(self) -> dict[str, Any]:
        """Compile the pipeline into its JSON document (deterministic; see ``durableml.pipeline.compiler``)."""
        from durableml.pipeline.compiler import compile_pipeline

        return compile_pipeline(
            self._steps,
            self._description,
            self._default_datastore,
            self._default_source_directory,
            self._resolve_closure,
            self._reuse_policy,
        )

    compile = to_document

    def submit(
        self,
        experiment_name: str,
        pipeline_parameters: Mapping[str, Any] | None = None,
        continue_on_step_failure: bool = False,
        regenerate_outputs: bool = False,
        parent_run_id: str | None = None,
        credential_passthrough: Any = None,
        **kwargs: Any,
    ) -> PipelineRun:
        """Submit a run of this pipeline in experiment ``experiment_name``."""
        from durableml.pipeline.submission import submit_pipeline  # here: it loads durableml.pipeline.core first

        return submit_pipeline(
            Experiment(self._workspace, experiment_name),
            self,
            pipeline_parameters,
            continue_on_step_failure=continue_on_step_failure,
            regenerate_outputs=regenerate_outputs,
            tags=kwargs.get("tags"),
        )

    def publish(
        self,
        name: str | None = None,
        description: str | None = None,
        version: str | None = None,
        continue_on_step_failure: bool | None = None,
    ) -> PublishedPipeline:
        """Publish the pipeline so that it can be run by id or over REST."""
        from durableml.pipeline.submission import attach_snapshots

        document = self.to_document()
        attach_snapshots(document, self._workspace._client)
        spec = {
            "name": name,
            "description": description or self._description,
            "version": version,
            "continueOnStepFailure": continue_on_step_failure,
        }
        return PublishedPipeline(self._workspace, self._workspace._client.publish_pipeline(document, spec))

    def _submit_to_experiment(
        self, experiment: Experiment, pipeline_parameters: Mapping[str, Any] | None, tags: Any, **kwargs: Any
    ) -> PipelineRun:
        """What ``Experiment.submit(pipeline)`` does: the submit path, with ``tags`` and the submit options."""
        from durableml.pipeline.submission import submit_pipeline

        return submit_pipeline(experiment, self, pipeline_parameters, tags=tags, **kwargs)

    def __repr__(self) -> str:
        return f"Pipeline(workspace={getattr(self._workspace, 'name', None)!r}, description={self._description!r})"
