"""ScheduleRecurrence and schedule triggers are checked when authored."""

from __future__ import annotations

import datetime as dt

import pytest

from durableml.core import Datastore, Workspace
from durableml.exceptions import ValidationError
from durableml.pipeline.core import Schedule, ScheduleRecurrence


def test_recurrence_records_its_settings_in_order() -> None:
    recurrence = ScheduleRecurrence(
        frequency="Week",
        interval=1,
        hours=[22, 8],
        minutes=[30],
        week_days=["Friday", "Monday"],
        start_time=dt.datetime(2024, 1, 1, 8, 0),
    )
    assert recurrence.to_dict() == {
        "frequency": "Week",
        "interval": 1,
        "startTime": "2024-01-01T08:00:00",
        "timeZone": None,
        "hours": [8, 22],
        "minutes": [30],
        "weekDays": ["Monday", "Friday"],
        "timeOfDay": None,
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"frequency": "Daily", "interval": 1}, "frequency 'Daily' must be one of Minute, Hour, Day, Week, Month"),
        ({"frequency": "Day", "interval": 0}, "interval must be a positive integer, got 0"),
        ({"frequency": "Hour", "interval": 1, "hours": [1]}, "need frequency 'Day' or 'Week'"),
        ({"frequency": "Day", "interval": 1, "week_days": ["Friday"]}, "week_days need frequency 'Week'"),
        ({"frequency": "Day", "interval": 1, "hours": [24]}, "hours must be integers from 0 to 23"),
        ({"frequency": "Week", "interval": 1, "week_days": ["Fri"]}, r"week_days \['Fri'\] are not day names"),
    ],
)
def test_bad_recurrences_are_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ScheduleRecurrence(**kwargs)  # type: ignore[arg-type]


def test_a_schedule_needs_exactly_one_trigger(ws: Workspace, blob_store: Datastore) -> None:
    recurrence = ScheduleRecurrence(frequency="Day", interval=1)
    with pytest.raises(ValidationError, match="exactly one trigger"):
        Schedule.create(ws, name="s", pipeline_id="p", experiment_name="e")
    with pytest.raises(ValidationError, match="exactly one trigger"):
        Schedule.create(ws, name="s", pipeline_id="p", experiment_name="e", recurrence=recurrence, datastore=blob_store)
    with pytest.raises(ValidationError, match="only apply to data-change schedules"):
        Schedule.create(
            ws, name="s", pipeline_id="p", experiment_name="e", recurrence=recurrence, path_on_datastore="in/"
        )


def test_both_create_paths_send_the_same_spec_but_their_target(ws: Workspace) -> None:
    sent: list[dict[str, object]] = []

    def create_schedule(spec: dict[str, object]) -> dict[str, object]:
        sent.append(dict(spec))
        return {"id": f"sched-{len(sent)}", **spec}

    ws._client.create_schedule = create_schedule  # type: ignore[attr-defined]  # the double is per test
    hourly = ScheduleRecurrence(frequency="Hour", interval=1)
    Schedule.create(
        ws, name="s1", pipeline_id="p1", experiment_name="e", recurrence=hourly, pipeline_parameters={"a": 1}
    )
    Schedule.create_for_pipeline_endpoint(
        ws, name="s2", pipeline_endpoint_id="pe1", experiment_name="e", recurrence=hourly
    )
    by_pipeline, by_endpoint = sent
    assert by_pipeline["pipelineId"] == "p1" and "pipelineEndpointId" not in by_pipeline
    assert by_endpoint["pipelineEndpointId"] == "pe1" and "pipelineId" not in by_endpoint
    assert set(by_pipeline) - {"pipelineId"} == set(by_endpoint) - {"pipelineEndpointId"}
    assert (by_pipeline["name"], by_pipeline["parameterAssignments"], by_endpoint["parameterAssignments"]) == (
        "s1",
        {"ParameterAssignments": {"a": 1}},
        {},
    )
