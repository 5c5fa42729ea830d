"""PipelineEndpoint: a stable REST endpoint in front of versions of published pipelines.

Versions are strings starting at ``"0"``. Service records carry ``id``, ``name``,
``description``, ``status``, ``defaultVersion``, ``endpoint`` (``.../PipelineEndpointSubmit/Id/<id>``)
and ``versions`` (``[{"version", "pipelineId"}]``).

``publish``, ``add``, ``add_default`` and ``set_default`` take a ``PublishedPipeline`` or a ``Pipeline``. A
Pipeline is published first, as v1's ``PipelineEndpoint.publish`` does: named
``<endpoint name>-<%m-%d-%Y-%H-%M, local time>-Pipeline``, described ``Description for <that name>``, no
version. (v1 did this in ``publish`` only; its ``add``/``add_default``/``set_default`` read ``pipeline.id``,
which a Pipeline lacks.) ``set_default(pipeline)`` with a Pipeline adds it as a new default version: a
pipeline just published is in no version yet.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from durableml._http_errors import v1_lookup_error
from durableml.core.experiment import Experiment
from durableml.exceptions import NotFoundError, PipelineNotFoundError, ValidationError
from durableml.pipeline.core._service_record import ServiceRecord
from durableml.pipeline.core.pipeline import Pipeline
from durableml.pipeline.core.published_pipeline import PublishedPipeline
from durableml.pipeline.core.run import PipelineRun

if TYPE_CHECKING:
    from durableml._handles import WorkspaceHandle

__all__ = ["PipelineEndpoint", "PipelineEndpointVersion"]


class PipelineEndpointVersion:
    """One version of an endpoint: ``.version`` (a string) and ``.pipeline`` (a PublishedPipeline)."""

    def __init__(self, workspace: WorkspaceHandle, version: str, pipeline_id: str) -> None:
        self._workspace = workspace
        self.version = version
        self.pipeline_id = pipeline_id

    @property
    def pipeline(self) -> PublishedPipeline:
        """The published pipeline behind this version."""
        return PublishedPipeline.get(self._workspace, self.pipeline_id)

    def __repr__(self) -> str:
        return f"PipelineEndpointVersion(version={self.version!r}, pipeline_id={self.pipeline_id!r})"


def _pipeline_id(pipeline: Any, endpoint_name: str | None) -> str:
    """The id of ``pipeline``: a PublishedPipeline's own, or that of a Pipeline published now (v1's naming)."""
    if isinstance(pipeline, PublishedPipeline):
        return pipeline.id
    if isinstance(pipeline, Pipeline):
        name = f"{endpoint_name}-{datetime.now().strftime('%m-%d-%Y-%H-%M')}-Pipeline"
        return pipeline.publish(name=name, description=f"Description for {name}").id
    raise ValidationError(
        f"pipeline should be either type Pipeline or PublishedPipeline, got {type(pipeline).__name__}: {pipeline!r}."
    )


class PipelineEndpoint(ServiceRecord):
    """A versioned pipeline endpoint (v1 ``PipelineEndpoint``)."""

    @staticmethod
    def publish(
        workspace: WorkspaceHandle,
        name: str,
        description: str,
        pipeline: Any,
        _workflow_provider: Any = None,
        _service_endpoint: str | None = None,
        *,
        notification_url: str | None = None,
    ) -> PipelineEndpoint:
        """Create endpoint ``name`` whose version "0" is ``pipeline`` (a PublishedPipeline, or a Pipeline: it is
        published first, see the module docstring).

        ``notification_url`` (durableml): a URL that receives a POST when a run the endpoint started finishes.
        """
        spec: dict[str, Any] = {"name": name, "description": description, "pipelineId": _pipeline_id(pipeline, name)}
        if notification_url is not None:
            spec["notificationUrl"] = notification_url
        return PipelineEndpoint(workspace, workspace._client.create_pipeline_endpoint(spec))

    @staticmethod
    def get(
        workspace: WorkspaceHandle,
        id: str | None = None,
        name: str | None = None,
        _workflow_provider: Any = None,
        _service_endpoint: str | None = None,
    ) -> PipelineEndpoint:
        """Return the endpoint with ``id`` or ``name``.

        A missing one raises ``PipelineNotFoundError`` (a ``UserErrorException``; also msrest's
        ``HttpOperationError`` once v1 code has imported msrest: v1 raised an ``ErrorResponseException``).
        """
        if id is None and name is None:
            raise ValidationError("PipelineEndpoint.get needs id= or name=.")
        try:
            record = workspace._client.get_pipeline_endpoint(id, name)
        except PipelineNotFoundError as exc:
            v1 = "PipelineEndpoint name not found" if id is None else ""
            raise v1_lookup_error(exc, v1, http_operation_error=True) from exc
        return PipelineEndpoint(workspace, record)

    @staticmethod
    def list(
        workspace: WorkspaceHandle,
        active_only: bool = True,
        _workflow_provider: Any = None,
        _service_endpoint: str | None = None,
    ) -> builtins.list[PipelineEndpoint]:
        """Return the endpoints of ``workspace``."""
        return [PipelineEndpoint(workspace, r) for r in workspace._client.list_pipeline_endpoints(active_only)]

    @property
    def status(self) -> str:
        """``Active``, ``Disabled`` or ``Archived``."""
        return str(self._record.get("status", "Active"))

    @property
    def default_version(self) -> str:
        """The version submitted when none is named."""
        return str(self._record.get("defaultVersion", "0"))

    @property
    def endpoint(self) -> str:
        """The REST endpoint (``.../PipelineEndpointSubmit/Id/<id>``)."""
        return str(self._record.get("endpoint", ""))

    @property
    def swaggerurl(self) -> str:
        """The URL of the endpoint's parameter schema."""
        return str(self._record.get("swaggerUrl", ""))

    def _update(self, **changes: Any) -> None:
        self._record = dict(self._workspace._client.update_pipeline_endpoint(self.id, changes))

    def add(self, pipeline: Any) -> None:
        """Add ``pipeline`` (a PublishedPipeline, or a Pipeline: published first) as a new version."""
        self._update(addPipelineId=_pipeline_id(pipeline, self.name))

    def add_default(self, pipeline: Any) -> None:
        """Add ``pipeline`` (a PublishedPipeline, or a Pipeline: published first) as a new version, the default."""
        self._update(addPipelineId=_pipeline_id(pipeline, self.name), makeDefault=True)

    def set_default(self, pipeline: Any) -> None:
        """Make the version holding the PublishedPipeline ``pipeline`` the default; a Pipeline is published and
        added as a new default version (``add_default``)."""
        if isinstance(pipeline, Pipeline):
            self.add_default(pipeline)
            return
        self._update(defaultPipelineId=_pipeline_id(pipeline, self.name))

    def set_default_version(self, version: str | int) -> None:
        """Make ``version`` the default."""
        self._update(defaultVersion=str(version))

    def get_default_version(self) -> str:
        """Return the default version."""
        return self.default_version

    def set_name(self, name: str) -> None:
        """Rename the endpoint."""
        self._update(name=name)

    def set_notification_url(self, url: str | None) -> None:
        """(durableml) POST a notice to ``url`` when a run this endpoint started finishes; None or "" stops them."""
        self._update(notificationUrl=url or "")

    @property
    def notification_url(self) -> str | None:
        """(durableml) Where notices of finished runs go, or None."""
        return self._record.get("notificationUrl")

    def list_versions(self) -> builtins.list[PipelineEndpointVersion]:
        """Return the versions, oldest first."""
        return [
            PipelineEndpointVersion(self._workspace, str(v["version"]), str(v["pipelineId"]))
            for v in self._record.get("versions") or []
        ]

    def get_pipeline(self, version: str | int | None = None) -> PublishedPipeline:
        """Return the published pipeline of ``version`` (the default one when omitted)."""
        wanted = self.default_version if version is None else str(version)
        for item in self.list_versions():
            if item.version == wanted:
                return item.pipeline
        raise NotFoundError(
            f"Pipeline endpoint {self.name!r} has no version {wanted!r}; "
            f"versions: {[v.version for v in self.list_versions()]}."
        )

    def list_pipelines(self, active_only: bool = True) -> builtins.list[PublishedPipeline]:
        """Return the published pipelines behind the versions."""
        pipelines = [item.pipeline for item in self.list_versions()]
        return [p for p in pipelines if p.status == "Active"] if active_only else pipelines

    def submit(
        self,
        experiment_name: str,
        pipeline_parameters: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
        pipeline_version: str | None = None,
    ) -> PipelineRun:
        """Start a run of the default version (or ``pipeline_version``)."""
        record = self._workspace._client.submit_pipeline_endpoint(
            self.id,
            experiment_name,
            None if pipeline_version is None else str(pipeline_version),
            dict(pipeline_parameters or {}),
        )
        return PipelineRun(Experiment(self._workspace, experiment_name), str(record["id"]), _record=record)

    def _submit_to_experiment(
        self, experiment: Experiment, pipeline_parameters: Mapping[str, Any] | None, tags: Any, **kwargs: Any
    ) -> PipelineRun:
        """What ``Experiment.submit(endpoint)`` does: ``submit`` in that experiment (no tags)."""
        return self.submit(experiment.name, pipeline_parameters=pipeline_parameters, **kwargs)

    def disable(self) -> None:
        """Refuse new runs."""
        self._update(status="Disabled")

    def enable(self) -> None:
        """Accept runs again."""
        self._update(status="Active")

    def archive(self) -> None:
        """Archive the endpoint (it disappears from list())."""
        self._update(status="Archived")

    def __repr__(self) -> str:
        return f"PipelineEndpoint(Name: {self.name}, Id: {self.id}, Status: {self.status}, Endpoint: {self.endpoint})"
