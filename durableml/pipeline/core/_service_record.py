"""The base of the SDK objects that show one record of the service: published pipelines, pipeline
endpoints, pipeline drafts and schedules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from durableml.core.workspace import Workspace


class ServiceRecord:
    """Holds the workspace and the service's record; ``id``, ``name`` and ``description`` come from it."""

    def __init__(self, workspace: Workspace, record: Mapping[str, Any]) -> None:
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
