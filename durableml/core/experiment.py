"""Experiment: a named group of runs in a workspace; ``submit`` starts a pipeline run.

``submit`` accepts a Pipeline (``pipeline_parameters=``, ``regenerate_outputs=``,
``continue_on_step_failure=``, ``tags=``), a PublishedPipeline, or a PipelineEndpoint
(``pipeline_version=``). The experiment is created by the service on first submission.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from durableml._names import check_experiment_name
from durableml.exceptions import NotSupportedError, ValidationError

if TYPE_CHECKING:
    from durableml.core.run import Run
    from durableml.core.workspace import Workspace

__all__ = ["Experiment"]


class Experiment:
    """An experiment of a workspace (v1 ``Experiment(workspace, name)``)."""

    def __init__(
        self,
        workspace: Workspace,
        name: str,
        _skip_name_validation: bool = False,
        _id: str | None = None,
        _archived_time: Any = None,
        _create_in_cloud: bool = True,
        _experiment_dto: Any = None,
        **kwargs: Any,
    ) -> None:
        self._workspace = workspace
        self._name = name if _skip_name_validation else check_experiment_name(name)

    @property
    def name(self) -> str:
        """The experiment name."""
        return self._name

    @property
    def workspace(self) -> Workspace:
        """The workspace the experiment belongs to."""
        return self._workspace

    @property
    def id(self) -> str:
        """The experiment id (its name: names are unique in a workspace)."""
        return self._name

    def submit(self, config: Any, tags: Mapping[str, str] | None = None, **kwargs: Any) -> Run:
        """Submit a Pipeline, PublishedPipeline or PipelineEndpoint; return its PipelineRun."""
        from durableml.pipeline.core.pipeline import Pipeline
        from durableml.pipeline.core.pipeline_endpoint import PipelineEndpoint
        from durableml.pipeline.core.published_pipeline import PublishedPipeline
        from durableml.pipeline.submission import submit_pipeline

        parameters = kwargs.pop("pipeline_parameters", None)
        if isinstance(config, Pipeline):
            return submit_pipeline(self, config, parameters, tags=tags, **kwargs)
        if isinstance(config, PublishedPipeline):
            return config.submit(self._workspace, self._name, pipeline_parameters=parameters, **kwargs)
        if isinstance(config, PipelineEndpoint):
            return config.submit(self._name, pipeline_parameters=parameters, **kwargs)
        if type(config).__name__ == "ScriptRunConfig":
            raise NotSupportedError(
                "Experiment.submit(ScriptRunConfig)", "Wrap the script in a PythonScriptStep and submit a Pipeline."
            )
        raise ValidationError(
            f"Experiment.submit needs a Pipeline, PublishedPipeline or PipelineEndpoint, got {type(config).__name__}."
        )

    def get_runs(
        self, type: str | None = None, tags: Any = None, properties: Any = None, include_children: bool = False
    ) -> builtins.list[Run]:
        """Return the runs of this experiment, newest first."""
        from durableml.pipeline.core.run import PipelineRun

        records = self._workspace._client.list_runs(self._name)
        return [PipelineRun(self, record["id"], _record=record) for record in records]

    @staticmethod
    def list(
        workspace: Workspace, experiment_name: str | None = None, view_type: str = "ActiveOnly", tags: Any = None
    ) -> builtins.list[Experiment]:
        """Return the experiments of ``workspace`` (optionally only ``experiment_name``)."""
        return [e for name, e in sorted(workspace.experiments.items()) if experiment_name in (None, name)]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Experiment) and (self._workspace, self._name) == (other._workspace, other._name)

    def __hash__(self) -> int:
        return hash(self._name)

    def __repr__(self) -> str:
        return f"Experiment(Name: {self._name}, Workspace: {self._workspace.name})"
