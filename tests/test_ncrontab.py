"""NCRONTAB and TimeSpan timer schedules: parsing, next occurrences (UTC), errors."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from funchost.errors import ConfigError
from funchost.triggers.ncrontab import CronSchedule, TimeSpanSchedule, parse_schedule, parse_timespan

UTC = timezone.utc


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "expression, after, expected",
    [
        ("*/1 * * * * *", "2024-01-01T00:00:00", "2024-01-01T00:00:01"),
        ("*/1 * * * * *", "2024-12-31T23:59:59.900000", "2025-01-01T00:00:00"),
        ("0 */5 * * * *", "2024-01-01T10:02:00", "2024-01-01T10:05:00"),
        ("0 */5 * * * *", "2024-01-01T10:05:00", "2024-01-01T10:10:00"),
        ("5 4 * * *", "2024-01-01T04:05:00", "2024-01-02T04:05:00"),  # 5 fields: second 0
        ("0 30 9 * * Mon-Fri", "2024-03-08T10:00:00", "2024-03-11T09:30:00"),  # Fri after 9:30 -> Mon
        ("0 30 9 * * mon-fri", "2024-03-09T00:00:00", "2024-03-11T09:30:00"),
        ("0 0 12 * * 0", "2024-03-04T00:00:00", "2024-03-10T12:00:00"),  # 0 = Sunday
        ("0 0 12 * * 7", "2024-03-04T00:00:00", "2024-03-10T12:00:00"),  # 7 = Sunday
        ("0 0 12 * * Sunday", "2024-03-04T00:00:00", "2024-03-10T12:00:00"),
        ("0 0 0 1 Jan *", "2024-06-01T00:00:00", "2025-01-01T00:00:00"),
        ("0 0 0 1 jan,Jul *", "2024-06-01T00:00:00", "2024-07-01T00:00:00"),
        ("0 0 0 29 Feb *", "2024-03-01T00:00:00", "2028-02-29T00:00:00"),
        ("0 0 0 29 2 Mon", "2024-01-01T00:00:00", "2044-02-29T00:00:00"),  # day AND day-of-week
        ("0 0 0 31 * *", "2024-04-01T00:00:00", "2024-05-31T00:00:00"),
        ("0 0 8-18/2 * * *", "2024-01-01T18:00:00", "2024-01-02T08:00:00"),
        ("0 0 8-18/4 * * *", "2024-01-01T12:00:01", "2024-01-01T16:00:00"),
        ("0 15,45 * * * *", "2024-01-01T00:16:00", "2024-01-01T00:45:00"),
        ("10/20 * * * * *", "2024-01-01T00:00:31", "2024-01-01T00:00:50"),  # a/n = a-max/n
        ("0 0 0 * * *", "2024-03-31T01:30:00", "2024-04-01T00:00:00"),  # no DST shift in UTC
    ],
)
def test_next_occurrence(expression: str, after: str, expected: str) -> None:
    assert parse_schedule(expression).next_after(at(after)) == at(expected)


def test_naive_and_other_zone_inputs_are_treated_as_instants() -> None:
    schedule = parse_schedule("0 0 * * * *")
    assert schedule.next_after(datetime(2024, 1, 1, 10, 30)) == at("2024-01-01T11:00:00")
    plus2 = timezone(timedelta(hours=2))
    assert schedule.next_after(datetime(2024, 1, 1, 12, 30, tzinfo=plus2)) == at("2024-01-01T11:00:00")


def test_occurrences_are_strictly_increasing_and_match_the_fields() -> None:
    schedule = parse_schedule("*/15 10-12 */6 * Mar-May Tue,Thu")
    assert isinstance(schedule, CronSchedule)
    t = at("2024-01-01T00:00:00")
    for _ in range(200):
        nxt = schedule.next_after(t)
        assert nxt > t
        assert nxt.second % 15 == 0 and 10 <= nxt.minute <= 12 and nxt.hour % 6 == 0
        assert nxt.month in (3, 4, 5) and nxt.weekday() in (1, 3)
        t = nxt


def test_rare_schedule_finds_the_right_years() -> None:
    schedule = parse_schedule("0 0 0 29 Feb Mon")
    t, years = at("2000-01-01T00:00:00"), []
    for _ in range(5):
        t = schedule.next_after(t)
        years.append(t.year)
    assert years == [2016, 2044, 2072, 2112, 2140]  # 2100 is not a leap year


def test_timespan_schedules() -> None:
    schedule = parse_schedule("01:30:00")
    assert isinstance(schedule, TimeSpanSchedule)
    assert schedule.next_after(at("2024-01-01T00:00:00")) == at("2024-01-01T01:30:00")
    assert parse_schedule("1.02:00:00").next_after(at("2024-01-01T00:00:00")) == at("2024-01-02T02:00:00")
    assert parse_timespan("00:00:02.5") == timedelta(seconds=2.5)
    assert parse_timespan("00:05") == timedelta(minutes=5)


def test_interval_hint_drives_the_monitor_default() -> None:
    now = at("2024-01-01T00:00:00")
    assert parse_schedule("*/1 * * * * *").interval_hint(now) == timedelta(seconds=1)
    assert parse_schedule("0 */5 * * * *").interval_hint(now) == timedelta(minutes=5)
    assert parse_schedule("00:00:30").interval_hint(now) == timedelta(seconds=30)


@pytest.mark.parametrize(
    "expression, message",
    [
        ("", "empty"),
        ("* * *", "has 3 fields"),
        ("* * * * * * *", "has 7 fields"),
        ("60 * * * * *", "second field '60'"),
        ("0 60 * * * *", "minute field '60'"),
        ("0 0 24 * * *", "hour field '24'"),
        ("0 0 0 0 * *", "day field '0'"),
        ("0 0 0 32 * *", "day field '32'"),
        ("0 0 0 * 13 *", "month field '13'"),
        ("0 0 0 * Foo *", "month field 'Foo'"),
        ("0 0 0 * * 8", "day-of-week field '8'"),
        ("0 0 0 * * Xyz", "day-of-week field 'Xyz'"),
        ("0 */0 * * * *", "step '0'"),
        ("0 5-1 * * * *", "runs backwards"),
        ("0 1-2-3 * * * *", "minute field"),
        ("0 0 0 30 Feb *", "can never fire"),
        ("25:00:00", "TimeSpan"),
        ("1:2:3:4", "TimeSpan"),
    ],
)
def test_invalid_expressions_name_the_bad_field(expression: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_schedule(expression)
    if expression:
        assert expression in str(info.value)
