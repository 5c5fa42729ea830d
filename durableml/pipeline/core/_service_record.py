"""The base of the SDK objects that show one record of the service: published pipelines, pipeline
endpoints, pipeline drafts and schedules.

Each subclass is also found by its name (``ServiceRecord.of_kind("PublishedPipeline")``), for the
objects that make one without importing its module: a PipelineRun publishes its pipeline, and
``durableml.pipeline.core.published_pipeline`` imports the run module (its runs are PipelineRuns).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from durableml._handles import WorkspaceHandle


class ServiceRecord:
    """Holds the workspace and the service's record; ``id``, ``name`` and ``description`` come from it."""

    _kinds: ClassVar[dict[str, type[ServiceRecord]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        ServiceRecord._kinds[cls.__name__] = cls

    @staticmethod
    def of_kind(kind: str) -> type[ServiceRecord]:
        """The subclass called ``kind`` (its module is loaded with ``durableml.pipeline.core``)."""
        return ServiceRecord._kinds[kind]

    def __init__(self, workspace: WorkspaceHandle, record: Mapping[str, Any]) -> None:
        self._workspace = workspace
        self._record = dict(record)

    @property
    def id(self) -> str:
        """The id the service gave it."""
        return str(self._record["id"])

    @property
    def name(self) -> str | None:
        """Its name (schedules and endpoints always have one; published pipelines and drafts may not)."""
        return self._record.get("name")

    @property
    def description(self) -> str | None:
        """Its description."""
        return self._record.get("description")
