"""The :class:`~durableml.client.ServiceClient` operations the service's HTTP API has no route for yet.

Datasets outside a step, models, published pipelines, pipeline endpoints and drafts: each
raises :class:`~durableml.exceptions.NotSupportedError` naming the feature. When a route appears, its
operation moves to :class:`~durableml.http_client.HttpServiceClient` and out of here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from durableml._http_transport import Record
from durableml.exceptions import NotSupportedError

__all__ = ["UnavailableOperations"]


class UnavailableOperations:
    """The operations without a route, as a base of :class:`~durableml.http_client.HttpServiceClient`."""

    def register_model(self, spec: Mapping[str, Any], files: Sequence[tuple[str, str]]) -> Record:
        """Not available yet: the API has no model registry."""
        raise _unavailable("the model registry (Model.register, Run.register_model)")

    def get_model(self, name: str | None, version: int | None, id: str | None) -> Record:
        """Not available yet: the API has no model registry."""
        raise _unavailable("the model registry (Model(ws, name))")

    def list_models(self, name: str | None, tags: Sequence[Any] | None) -> list[Record]:
        """Not available yet: the API has no model registry."""
        raise _unavailable("the model registry (Model.list)")

    def download_model(self, model_id: str, target_path: str) -> str:
        """Not available yet: the API has no model registry."""
        raise _unavailable("the model registry (Model.download)")

    def publish_pipeline(self, document: Mapping[str, Any] | None, spec: Mapping[str, Any]) -> Record:
        """Not available yet: publishing pipelines."""
        raise _unavailable("publishing pipelines")

    def get_published_pipeline(self, id: str) -> Record:
        """Not available yet: publishing pipelines."""
        raise _unavailable("publishing pipelines")

    def list_published_pipelines(self, active_only: bool) -> list[Record]:
        """Not available yet: publishing pipelines."""
        raise _unavailable("publishing pipelines")

    def update_published_pipeline(self, id: str, changes: Mapping[str, Any]) -> Record:
        """Not available yet: publishing pipelines."""
        raise _unavailable("publishing pipelines")

    def submit_published_pipeline(self, id: str, experiment: str, parameters: Mapping[str, Any]) -> Record:
        """Not available yet: publishing pipelines."""
        raise _unavailable("publishing pipelines")

    def create_pipeline_endpoint(self, spec: Mapping[str, Any]) -> Record:
        """Not available yet: pipeline endpoints."""
        raise _unavailable("pipeline endpoints")

    def get_pipeline_endpoint(self, id: str | None, name: str | None) -> Record:
        """Not available yet: pipeline endpoints."""
        raise _unavailable("pipeline endpoints")

    def list_pipeline_endpoints(self, active_only: bool) -> list[Record]:
        """Not available yet: pipeline endpoints."""
        raise _unavailable("pipeline endpoints")

    def update_pipeline_endpoint(self, id: str, changes: Mapping[str, Any]) -> Record:
        """Not available yet: pipeline endpoints."""
        raise _unavailable("pipeline endpoints")

    def submit_pipeline_endpoint(
        self, id: str, experiment: str, version: str | None, parameters: Mapping[str, Any]
    ) -> Record:
        """Not available yet: pipeline endpoints."""
        raise _unavailable("pipeline endpoints")

    def create_draft(self, document: Mapping[str, Any], spec: Mapping[str, Any]) -> Record:
        """Not available yet: pipeline drafts."""
        raise _unavailable("pipeline drafts")

    def get_draft(self, id: str) -> Record:
        """Not available yet: pipeline drafts."""
        raise _unavailable("pipeline drafts")

    def list_drafts(self, tags: Mapping[str, str] | None) -> list[Record]:
        """Not available yet: pipeline drafts."""
        raise _unavailable("pipeline drafts")

    def update_draft(self, id: str, document: Mapping[str, Any] | None, changes: Mapping[str, Any]) -> Record:
        """Not available yet: pipeline drafts."""
        raise _unavailable("pipeline drafts")

    def delete_draft(self, id: str) -> None:
        """Not available yet: pipeline drafts."""
        raise _unavailable("pipeline drafts")

    def submit_draft(self, id: str) -> Record:
        """Not available yet: pipeline drafts."""
        raise _unavailable("pipeline drafts")

    def publish_draft(self, id: str) -> Record:
        """Not available yet: pipeline drafts."""
        raise _unavailable("pipeline drafts")


def _unavailable(feature: str) -> NotSupportedError:
    return NotSupportedError(
        feature,
        "It is not available yet in durableml: the service's HTTP API has no route for it "
        "(see 'The HTTP API' in docs/design/pipeline-runtime.md).",
    )
