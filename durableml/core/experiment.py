"""Experiment: a named group of runs in a workspace; ``submit`` starts a pipeline run.

``submit`` accepts a Pipeline (``pipeline_parameters=``, ``regenerate_outputs=``,
``continue_on_step_failure=``, ``tags=``), a PublishedPipeline, or a PipelineEndpoint
(``pipeline_version=``). The experiment is created by the service on first submission.

What ``submit`` does with its config is the config's own ``_submit_to_experiment`` (v1 lets each
submittable class register its submit function the same way): the pipeline classes import this module,
so it does not import them.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from durableml._names import check_experiment_name
from durableml.exceptions import NotSupportedError, ValidationError

if TYPE_CHECKING:
    from durableml._handles import WorkspaceHandle
    from durableml.core.run import Run

__all__ = ["Experiment"]


class Experiment:
    """An experiment of a workspace (v1 ``Experiment(workspace, name)``)."""

    def __init__(
        self,
        workspace: WorkspaceHandle,
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
    def workspace(self) -> WorkspaceHandle:
        """The workspace the experiment belongs to."""
        return self._workspace

    @property
    def id(self) -> str:
        """The experiment id (its name: names are unique in a workspace)."""
        return self._name

    def submit(self, config: Any, tags: Mapping[str, str] | None = None, **kwargs: Any) -> Run:
        """Submit a Pipeline, PublishedPipeline or PipelineEndpoint; return its PipelineRun."""
        parameters = kwargs.pop("pipeline_parameters", None)
        submit = None if isinstance(config, type) else getattr(config, "_submit_to_experiment", None)
        if submit is not None:
            run: Run = submit(self, parameters, tags, **kwargs)
            return run
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
        from durableml.pipeline.core.run import PipelineRun  # here: durableml.pipeline.core imports Experiment

        records = self._workspace._client.list_runs(self._name)
        return [PipelineRun(self, record["id"], _record=record) for record in records]

    @staticmethod
    def list(
        workspace: WorkspaceHandle,
        experiment_name: str | None = None,
        view_type: str = "ActiveOnly",
        tags: Any = None,
    ) -> builtins.list[Experiment]:
        """Return the experiments of ``workspace`` by name (optionally only ``experiment_name``)."""
        found = {
            record["name"]: Experiment(workspace, record["name"]) for record in workspace._client.list_experiments()
        }
        return [e for name, e in sorted(found.items()) if experiment_name in (None, name)]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Experiment) and (self._workspace, self._name) == (other._workspace, other._name)

    def __hash__(self) -> int:
        return hash(self._name)

    def __repr__(self) -> str:
        return f"Experiment(Name: {self._name}, Workspace: {self._workspace.name})"
