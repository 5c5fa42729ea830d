"""Schedule and ScheduleRecurrence: run a published pipeline (or endpoint) on a timer or when data
changes on a datastore.

ScheduleRecurrence is pure authoring and is checked when built. Schedules themselves live in
the service (its timer and blob triggers run them); records carry ``id``, ``name``,
``description``, ``status`` (``Active``/``Disabled``), ``pipelineId`` or ``pipelineEndpointId``,
``recurrence`` and the datastore-trigger settings.
"""

from __future__ import annotations

import builtins
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from durableml import recurrence
from durableml._http_errors import v1_lookup_error
from durableml._names import check_non_empty
from durableml._parameter_values import v1_run_body
from durableml.exceptions import PipelineNotFoundError, ValidationError

from durableml.pipeline.core._service_record import ServiceRecord

if TYPE_CHECKING:
    from durableml._handles import WorkspaceHandle
    from durableml.pipeline.core.run import PipelineRun

__all__ = ["Schedule", "ScheduleRecurrence", "TimeZone"]


class TimeZone:
    """v1's ``TimeZone`` names: each attribute is a Windows time zone id ("Pacific Standard Time")."""

    UTC = "UTC"


for _zone_id in recurrence.WINDOWS_TIME_ZONES:
    setattr(TimeZone, re.sub(r"[^A-Za-z0-9]", "", _zone_id.replace("UTC-", "UTCMinus")), _zone_id)


class ScheduleRecurrence:
    """How often a schedule fires (v1 signature); ``hours``/``minutes``/``week_days`` narrow it.

    Checked when built with the rules the service fires it by (durableml.recurrence).
    """

    def __init__(
        self,
        frequency: str,
        interval: int,
        start_time: dt.datetime | str | None = None,
        time_zone: str | None = None,
        hours: Sequence[int] | None = None,
        minutes: Sequence[int] | None = None,
        week_days: Sequence[str] | None = None,
        time_of_day: str | None = None,
    ) -> None:
        self.frequency = frequency
        self.interval = interval
        self.start_time = start_time
        self.time_zone = time_zone
        self.hours = list(hours or [])
        self.minutes = list(minutes or [])
        self.week_days = list(week_days or [])
        self.time_of_day = time_of_day
        recurrence.check(self.to_dict())
        self.hours, self.minutes = sorted(set(self.hours)), sorted(set(self.minutes))
        self.week_days = sorted(set(self.week_days), key=recurrence.WEEK_DAYS.index)

    def to_dict(self) -> dict[str, Any]:
        """Return the recurrence as a JSON-able dict (start_time as a wall-clock 'YYYY-MM-DDThh:mm:ss')."""
        start = recurrence.parse_start_time(self.start_time, self.time_zone) if self.start_time else None
        return {
            "frequency": self.frequency,
            "interval": self.interval,
            "startTime": start.strftime(recurrence.START_TIME_FORMAT) if start else None,
            "timeZone": self.time_zone,
            "hours": self.hours,
            "minutes": self.minutes,
            "weekDays": self.week_days,
            "timeOfDay": self.time_of_day,
        }

    @staticmethod
    def _from_dict(data: Mapping[str, Any]) -> ScheduleRecurrence:
        return ScheduleRecurrence(
            data["frequency"],
            int(data["interval"]),
            data.get("startTime"),
            data.get("timeZone"),
            data.get("hours"),
            data.get("minutes"),
            data.get("weekDays"),
            data.get("timeOfDay"),
        )

    def __repr__(self) -> str:
        return f"ScheduleRecurrence(frequency={self.frequency!r}, interval={self.interval})"


def _trigger_spec(
    recurrence: ScheduleRecurrence | None,
    datastore: Any,
    polling_interval: float,
    data_path_parameter_name: str | None,
    path_on_datastore: str | None,
    options: Mapping[str, Any],
) -> dict[str, Any]:
    if (recurrence is None) == (datastore is None):
        raise ValidationError(
            "A schedule needs exactly one trigger: "
            "recurrence=ScheduleRecurrence(...) or datastore= (data-change trigger)."
        )
    if datastore is None and (data_path_parameter_name or path_on_datastore):
        raise ValidationError(
            "data_path_parameter_name and path_on_datastore only apply to data-change schedules (datastore=)."
        )
    if isinstance(polling_interval, bool) or not isinstance(polling_interval, (int, float)) or polling_interval <= 0:
        raise ValidationError(f"polling_interval must be a positive number of minutes, got {polling_interval!r}.")
    if datastore is None and any(options.get(k) for k in ("debounceSeconds", "includeSubfolders", "suffixes")):
        raise ValidationError(
            "debounce_seconds, include_subfolders and suffixes only apply to data-change schedules (datastore=)."
        )
    return {
        "recurrence": recurrence.to_dict() if recurrence else None,
        "datastore": getattr(datastore, "name", datastore),
        "pollingInterval": polling_interval,
        "dataPathParameterName": data_path_parameter_name,
        "pathOnDatastore": path_on_datastore,
        **options,
    }


def _assignments(experiment_name: str, pipeline_parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """``pipeline_parameters`` as the v1 run request's assignment sections (what a REST caller would send)."""
    body = v1_run_body(experiment_name, dict(pipeline_parameters or {}))
    return {k: v for k, v in body.items() if k.endswith("Assignments") and v}


def _options(
    debounce_seconds: float | None,
    include_subfolders: bool | None,
    suffixes: Sequence[str] | None,
    notification_url: str | None,
) -> dict[str, Any]:
    """The settings durableml adds to v1's (None: not given)."""
    given = {
        "debounceSeconds": debounce_seconds,
        "includeSubfolders": include_subfolders,
        "suffixes": list(suffixes) if suffixes is not None else None,
        "notificationUrl": notification_url,
    }
    return {k: v for k, v in given.items() if v is not None}


class Schedule(ServiceRecord):
    """A schedule of a published pipeline or pipeline endpoint (v1 ``Schedule``)."""

    @staticmethod
    def create(
        workspace: WorkspaceHandle,
        name: str,
        pipeline_id: str,
        experiment_name: str,
        recurrence: ScheduleRecurrence | None = None,
        description: str | None = None,
        pipeline_parameters: Mapping[str, Any] | None = None,
        wait_for_provisioning: bool = False,
        wait_timeout: int = 3600,
        datastore: Any = None,
        polling_interval: float = 5,
        data_path_parameter_name: str | None = None,
        continue_on_step_failure: bool | None = None,
        path_on_datastore: str | None = None,
        _workflow_provider: Any = None,
        _service_endpoint: str | None = None,
        *,
        debounce_seconds: float | None = None,
        include_subfolders: bool | None = None,
        suffixes: Sequence[str] | None = None,
        notification_url: str | None = None,
    ) -> Schedule:
        """Create a schedule for the published pipeline ``pipeline_id``."""
        target = {"pipelineId": check_non_empty(pipeline_id, "pipeline_id")}
        options = _options(debounce_seconds, include_subfolders, suffixes, notification_url)
        trigger = _trigger_spec(
            recurrence, datastore, polling_interval, data_path_parameter_name, path_on_datastore, options
        )
        return Schedule._create(
            workspace,
            target,
            name,
            experiment_name,
            description,
            pipeline_parameters,
            continue_on_step_failure,
            trigger,
        )

    @staticmethod
    def create_for_pipeline_endpoint(
        workspace: WorkspaceHandle,
        name: str,
        pipeline_endpoint_id: str,
        experiment_name: str,
        recurrence: ScheduleRecurrence | None = None,
        description: str | None = None,
        pipeline_parameters: Mapping[str, Any] | None = None,
        wait_for_provisioning: bool = False,
        wait_timeout: int = 3600,
        datastore: Any = None,
        polling_interval: float = 5,
        data_path_parameter_name: str | None = None,
        continue_on_step_failure: bool | None = None,
        path_on_datastore: str | None = None,
        _workflow_provider: Any = None,
        _service_endpoint: str | None = None,
        *,
        debounce_seconds: float | None = None,
        include_subfolders: bool | None = None,
        suffixes: Sequence[str] | None = None,
        notification_url: str | None = None,
    ) -> Schedule:
        """Create a schedule that runs the default version of a pipeline endpoint."""
        target = {"pipelineEndpointId": check_non_empty(pipeline_endpoint_id, "pipeline_endpoint_id")}
        options = _options(debounce_seconds, include_subfolders, suffixes, notification_url)
        trigger = _trigger_spec(
            recurrence, datastore, polling_interval, data_path_parameter_name, path_on_datastore, options
        )
        return Schedule._create(
            workspace,
            target,
            name,
            experiment_name,
            description,
            pipeline_parameters,
            continue_on_step_failure,
            trigger,
        )

    @staticmethod
    def _create(
        workspace: WorkspaceHandle,
        target: Mapping[str, Any],
        name: str,
        experiment_name: str,
        description: str | None,
        pipeline_parameters: Mapping[str, Any] | None,
        continue_on_step_failure: bool | None,
        trigger: Mapping[str, Any],
    ) -> Schedule:
        """The one place a schedule spec is built, for a published pipeline or a pipeline endpoint."""
        spec = {
            "name": check_non_empty(name, "Schedule name"),
            **target,
            "experimentName": experiment_name,
            "description": description,
            "parameterAssignments": _assignments(experiment_name, pipeline_parameters),
            "continueOnStepFailure": continue_on_step_failure,
            **trigger,
        }
        return Schedule(workspace, workspace._client.create_schedule(spec))

    @staticmethod
    def get(
        workspace: WorkspaceHandle, id: str, _workflow_provider: Any = None, _service_endpoint: str | None = None
    ) -> Schedule:
        """Return the schedule ``id``; a missing one raises ``PipelineNotFoundError`` (a ``UserErrorException``;
        also msrest's ``HttpOperationError`` once v1 code has imported msrest, as v1's ``ErrorResponseException``)."""
        try:
            record = workspace._client.get_schedule(id)
        except PipelineNotFoundError as exc:
            raise v1_lookup_error(exc, "", http_operation_error=True) from exc
        return Schedule(workspace, record)

    @staticmethod
    def list(
        workspace: WorkspaceHandle,
        active_only: bool = True,
        pipeline_id: str | None = None,
        pipeline_endpoint_id: str | None = None,
        _workflow_provider: Any = None,
        _service_endpoint: str | None = None,
    ) -> builtins.list[Schedule]:
        """Return schedules, optionally only those of a pipeline or endpoint."""
        filters = {"activeOnly": active_only, "pipelineId": pipeline_id, "pipelineEndpointId": pipeline_endpoint_id}
        return [Schedule(workspace, r) for r in workspace._client.list_schedules(filters)]

    @staticmethod
    def get_schedules_for_pipeline_id(workspace: WorkspaceHandle, pipeline_id: str) -> builtins.list[Schedule]:
        """Return the schedules of a published pipeline."""
        return Schedule.list(workspace, active_only=False, pipeline_id=pipeline_id)

    @staticmethod
    def get_schedules_for_pipeline_endpoint_id(
        workspace: WorkspaceHandle, pipeline_endpoint_id: str
    ) -> builtins.list[Schedule]:
        """Return the schedules of a pipeline endpoint."""
        return Schedule.list(workspace, active_only=False, pipeline_endpoint_id=pipeline_endpoint_id)

    @property
    def status(self) -> str:
        """``Active`` or ``Disabled``."""
        return str(self._record.get("status", "Active"))

    @property
    def pipeline_id(self) -> str | None:
        """The published pipeline run by the schedule."""
        return self._record.get("pipelineId")

    @property
    def pipeline_endpoint_id(self) -> str | None:
        """The pipeline endpoint run by the schedule."""
        return self._record.get("pipelineEndpointId")

    @property
    def recurrence(self) -> ScheduleRecurrence | None:
        """The timer of a time-based schedule."""
        data = self._record.get("recurrence")
        return ScheduleRecurrence._from_dict(data) if data else None

    @property
    def datastore_name(self) -> str | None:
        """The datastore watched by a data-change schedule."""
        return self._record.get("datastore")

    @property
    def polling_interval(self) -> int:
        """Minutes between checks of a data-change schedule."""
        return int(self._record.get("pollingInterval", 5))

    @property
    def data_path_parameter_name(self) -> str | None:
        """The DataPath parameter that receives the changed path."""
        return self._record.get("dataPathParameterName")

    @property
    def path_on_datastore(self) -> str | None:
        """The folder watched by a data-change schedule."""
        return self._record.get("pathOnDatastore")

    def _update(self, changes: Mapping[str, Any]) -> None:
        self._record = dict(
            self._workspace._client.update_schedule(self.id, {k: v for k, v in changes.items() if v is not None})
        )

    def enable(self, wait_for_provisioning: bool = False, wait_timeout: int = 3600) -> None:
        """Activate the schedule."""
        self._update({"status": "Active"})

    def disable(self, wait_for_provisioning: bool = False, wait_timeout: int = 3600) -> None:
        """Deactivate the schedule."""
        self._update({"status": "Disabled"})

    def update(
        self,
        name: str | None = None,
        description: str | None = None,
        recurrence: ScheduleRecurrence | None = None,
        pipeline_parameters: Mapping[str, Any] | None = None,
        status: str | None = None,
        wait_for_provisioning: bool = False,
        wait_timeout: int = 3600,
        datastore: Any = None,
        polling_interval: int | None = None,
        data_path_parameter_name: str | None = None,
        continue_on_step_failure: bool | None = None,
        path_on_datastore: str | None = None,
        *,
        debounce_seconds: float | None = None,
        include_subfolders: bool | None = None,
        suffixes: Sequence[str] | None = None,
        notification_url: str | None = None,
    ) -> None:
        """Change the given settings of the schedule; the service applies them from its next tick."""
        if status not in (None, "Active", "Disabled"):
            raise ValidationError(f"Schedule status must be 'Active' or 'Disabled', got {status!r}.")
        self._update(
            {
                "name": name,
                "description": description,
                "recurrence": recurrence.to_dict() if recurrence else None,
                "parameterAssignments": (
                    _assignments("update", pipeline_parameters) if pipeline_parameters is not None else None
                ),
                "status": status,
                "datastore": getattr(datastore, "name", datastore),
                "pollingInterval": polling_interval,
                "dataPathParameterName": data_path_parameter_name,
                "continueOnStepFailure": continue_on_step_failure,
                "pathOnDatastore": path_on_datastore,
                **_options(debounce_seconds, include_subfolders, suffixes, notification_url),
            }
        )

    def get_pipeline_runs(self) -> builtins.list[PipelineRun]:
        """The runs this schedule started, newest first."""
        from durableml.core.experiment import Experiment
        from durableml.pipeline.core.run import PipelineRun

        return [
            PipelineRun(Experiment(self._workspace, str(record["experimentName"])), str(record["id"]), _record=record)
            for record in self._workspace._client.list_schedule_runs(self.id)
        ]

    def get_last_pipeline_run(self) -> PipelineRun | None:
        """The most recent run this schedule started, or None."""
        runs = self.get_pipeline_runs()
        return runs[0] if runs else None

    @property
    def last_error(self) -> str | None:
        """The last error the service met running this schedule (e.g. its datastore was removed)."""
        return self._record.get("lastError")

    @property
    def poisoned(self) -> builtins.list[dict[str, Any]]:
        """(durableml) Firings set aside after 5 failed attempts: what caused each (blobs or time) and its error."""
        return [dict(p) for p in self._record.get("poisoned") or []]

    @property
    def next_run_time(self) -> str | None:
        """When a time-based schedule fires next (UTC, ISO 8601)."""
        return self._record.get("nextRunTime")

    def __repr__(self) -> str:
        return f"Schedule(Name: {self.name}, Id: {self.id}, Status: {self.status}, Pipeline Id: {self.pipeline_id})"
