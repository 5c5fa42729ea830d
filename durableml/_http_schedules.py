"""Schedule operations of :class:`~durableml.http_client.HttpServiceClient` (routes in ``triggers/schedules.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from durableml._http_transport import HttpTransport, Record

__all__ = ["ScheduleOperations"]


class ScheduleOperations(HttpTransport):
    """Create, read, change and list pipeline schedules and the runs they started."""

    def create_schedule(self, spec: Mapping[str, Any]) -> Record:
        """Record a schedule; a recurrence without start_time starts its first run at once (v1)."""
        return self._record("create_schedule", "POST", "/api/schedules", json=dict(spec), retry=False)

    def get_schedule(self, id: str) -> Record:
        """The schedule ``id`` (with ``nextRunTime`` and ``lastError``)."""
        return self._record("get_schedule", "GET", f"/api/schedules/{_id(id)}")

    def list_schedules(self, filters: Mapping[str, Any]) -> list[Record]:
        """Schedules, filtered by ``activeOnly``, ``pipelineId`` and ``pipelineEndpointId``."""
        params = {k: str(v).lower() if isinstance(v, bool) else v for k, v in filters.items() if v is not None}
        return self._records("list_schedules", "/api/schedules", params=params)

    def update_schedule(self, id: str, changes: Mapping[str, Any]) -> Record:
        """Change settings (status, recurrence, ...); the service applies them from its next tick."""
        return self._record("update_schedule", "PATCH", f"/api/schedules/{_id(id)}", json=dict(changes), retry=True)

    def list_schedule_runs(self, id: str) -> list[Record]:
        """The runs the schedule started, newest first."""
        return self._records("list_schedule_runs", f"/api/schedules/{_id(id)}/runs")


def _id(value: str) -> str:
    return quote(str(value), safe="")
