"""The :class:`~durableml.client.ServiceClient` operations the service's HTTP API has no route for yet.

Datasets outside a step and models: each
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



def _unavailable(feature: str) -> NotSupportedError:
    return NotSupportedError(
        feature,
        "It is not available yet in durableml: the service's HTTP API has no route for it "
        "(see 'The HTTP API' in docs/design/pipeline-runtime.md).",
    )
