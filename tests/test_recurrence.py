"""When schedules fire: durableml.recurrence (v1 ScheduleRecurrence rules, time zones, daylight saving)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from durableml.exceptions import ValidationError
from durableml.pipeline.core.schedule import ScheduleRecurrence, TimeZone
from durableml.recurrence import occurrences, time_zone

UTC = dt.timezone.utc
LA = zoneinfo.ZoneInfo("America/Los_Angeles")


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def fire(
    recurrence: ScheduleRecurrence, created: dt.datetime, days: float = 3, after: dt.datetime | None = None
) -> list[dt.datetime]:
    return list(occurrences(recurrence.to_dict(), created, after or created, created + dt.timedelta(days=days)))


def test_minute_and_hour_recurrences_step_from_the_creation_time() -> None:
    created = at(2026, 11, 22, 10, 7, 30)
    assert fire(ScheduleRecurrence("Minute", 15), created, days=1 / 24)[:3] == [
        at(2026, 11, 22, 10, 22, 30),
        at(2026, 11, 22, 10, 37, 30),
        at(2026, 11, 22, 10, 52, 30),
    ]
    assert fire(ScheduleRecurrence("Hour", 6), created, days=1) == [
        at(2026, 11, 22, 16, 7, 30),
        at(2026, 11, 22, 22, 7, 30),
        at(2026, 11, 23, 4, 7, 30),
        at(2026, 11, 23, 10, 7, 30),
    ]


def test_occurrences_resume_after_a_given_time_without_repeating_earlier_ones() -> None:
    created = at(2026, 11, 22, 10, 0)
    later = list(
        occurrences(
            ScheduleRecurrence("Minute", 10).to_dict(), created, at(2026, 11, 22, 11, 5), at(2026, 11, 22, 11, 40)
        )
    )
    assert later == [
        at(2026, 11, 22, 11, 10),
        at(2026, 11, 22, 11, 20),
        at(2026, 11, 22, 11, 30),
        at(2026, 11, 22, 11, 40),
    ]


def test_day_hours_and_minutes_in_a_time_zone_keep_wall_clock_time_across_daylight_saving() -> None:
    recurrence = ScheduleRecurrence("Day", 1, hours=[9], minutes=[0, 30], time_zone=TimeZone.PacificStandardTime)
    times = fire(recurrence, at(2026, 3, 7, 20, 0), days=2.5)  # US DST starts 2026-03-08
    assert [t.astimezone(LA).strftime("%m-%d %H:%M %Z") for t in times] == [
        "03-08 09:00 PDT",
        "03-08 09:30 PDT",
        "03-09 09:00 PDT",
        "03-09 09:30 PDT",
    ]
    assert times[0] == at(2026, 3, 8, 16, 0)  # 09:00 PDT is UTC-7; the day before it was UTC-8


def test_a_time_in_the_spring_forward_gap_fires_an_hour_later_and_a_fall_back_time_fires_once() -> None:
    gap = fire(
        ScheduleRecurrence("Day", 1, time_of_day="02:30", time_zone="Pacific Standard Time"),
        at(2026, 3, 7, 20, 0),
        days=2,
    )
    assert [t.astimezone(LA).strftime("%m-%d %H:%M") for t in gap] == ["03-08 03:30", "03-09 02:30"]
    fold = fire(
        ScheduleRecurrence("Day", 1, time_of_day="01:30", time_zone="America/Los_Angeles"),
        at(2026, 10, 31, 20, 0),
        days=1.5,
    )  # US DST ends 2026-11-01: 01:30 happens twice
    assert fold == [at(2026, 11, 1, 8, 30)]  # the first 01:30 (PDT), not both


def test_week_days_with_an_interval_and_a_start_time() -> None:
    recurrence = ScheduleRecurrence(
        "Week", 2, start_time="2026-11-02T00:00:00", week_days=["Friday", "Monday"], time_of_day="06:15"
    )
    assert fire(recurrence, at(2026, 11, 1), days=30) == [
        at(2026, 11, 2, 6, 15),
        at(2026, 11, 6, 6, 15),
        at(2026, 11, 16, 6, 15),
        at(2026, 11, 20, 6, 15),
        at(2026, 11, 30, 6, 15),
    ]


def test_month_keeps_the_day_of_month_and_clamps_to_short_months() -> None:
    recurrence = ScheduleRecurrence("Month", 1, start_time=dt.datetime(2026, 1, 31, 6, 0))
    assert fire(recurrence, at(2026, 1, 1), days=125) == [
        at(2026, 1, 31, 6),
        at(2026, 2, 28, 6),
        at(2026, 3, 31, 6),
        at(2026, 4, 30, 6),
    ]


def test_start_time_rules_of_v1() -> None:
    created = at(2026, 11, 22, 12, 0)
    future = ScheduleRecurrence("Day", 1, start_time="2026-11-24T08:00:00")
    assert fire(future, created)[0] == at(2026, 11, 24, 8, 0)  # a future start_time is the first occurrence
    past = ScheduleRecurrence("Hour", 1, start_time="2026-11-01T00:20:00")
    assert fire(past, created)[0] == at(2026, 11, 22, 12, 20)  # a past one: the next computed time
    narrowed = ScheduleRecurrence("Day", 1, start_time="2026-11-24T08:00:00", hours=[8], minutes=[0])
    assert fire(narrowed, created)[0] == at(2026, 11, 25, 8, 0)  # matching hours/minutes: not at start_time


def test_start_time_is_wall_clock_time_in_the_time_zone() -> None:
    recurrence = ScheduleRecurrence("Day", 1, start_time="2026-11-24T08:00:00", time_zone="China Standard Time")
    assert fire(recurrence, at(2026, 11, 22))[0] == at(2026, 11, 24, 0, 0)
    aware = ScheduleRecurrence(
        "Day", 1, start_time=dt.datetime(2026, 11, 24, 0, 0, tzinfo=UTC), time_zone="China Standard Time"
    )
    assert aware.to_dict()["startTime"] == "2026-11-24T08:00:00"  # the same instant, as that zone's wall clock


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"frequency": "Fortnight", "interval": 1}, "frequency 'Fortnight' must be one of"),
        ({"frequency": "Day", "interval": 0}, "interval must be a positive integer"),
        ({"frequency": "Hour", "interval": 1, "hours": [3]}, "need frequency 'Day' or 'Week'"),
        ({"frequency": "Day", "interval": 1, "week_days": ["Monday"]}, "week_days need frequency 'Week'"),
        ({"frequency": "Week", "interval": 1, "week_days": ["Funday"]}, "are not day names"),
        ({"frequency": "Day", "interval": 1, "hours": [24]}, "hours must be integers from 0 to 23"),
        ({"frequency": "Day", "interval": 1, "minutes": [60]}, "minutes must be integers from 0 to 59"),
        ({"frequency": "Day", "interval": 1, "time_of_day": "25:00"}, "time_of_day '25:00' must be 'hh:mm'"),
        ({"frequency": "Day", "interval": 1, "time_of_day": "10:00", "minutes": [5]}, "time_of_day or hours and"),
        ({"frequency": "Day", "interval": 1, "time_zone": "Atlantis Time"}, "not a known time zone"),
        ({"frequency": "Day", "interval": 1, "start_time": "next tuesday"}, "'YYYY-MM-DDThh:mm:ss'"),
    ],
)
def test_invalid_recurrences_name_the_setting_and_the_fix(kwargs: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ScheduleRecurrence(**kwargs)


def test_time_zones_by_windows_id_attribute_or_iana_name() -> None:
    assert TimeZone.PacificStandardTime == "Pacific Standard Time"
    assert time_zone(TimeZone.ChinaStandardTime) == zoneinfo.ZoneInfo("Asia/Shanghai")
    assert time_zone("PacificStandardTime") == LA
    assert time_zone("Europe/Berlin") == zoneinfo.ZoneInfo("Europe/Berlin")
    assert time_zone(None) == zoneinfo.ZoneInfo("Etc/UTC")
