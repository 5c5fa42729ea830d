"""What funchost.triggers.ncrontab relies on from croniter, and the NCrontab grammar it keeps in front of it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funchost.errors import ConfigError
from funchost.triggers.ncrontab import CronSchedule, parse_schedule

UTC = timezone.utc


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def fires_at(schedule: CronSchedule, t: datetime) -> bool:
    return (
        t.second in schedule.seconds
        and t.minute in schedule.minutes
        and t.hour in schedule.hours
        and t.day in schedule.days
        and t.month in schedule.months
        and (t.weekday() + 1) % 7 in schedule.weekdays
    )


@pytest.mark.parametrize(
    ("expression", "field"),
    [
        ("0 0 0 L * *", "day field 'L'"),  # croniter: last day of the month
        ("0 0 0 15W * *", "day field '15W'"),  # croniter: nearest weekday
        ("0 0 0 * * 5#2", "day-of-week field '5#2'"),  # croniter: second Friday
        ("0 0 0 * * 5L", "day-of-week field '5L'"),
        ("0 0 0 ? * *", "day field '?'"),
        ("H * * * * *", "second field 'H'"),  # croniter: a hashed value
        ("0 0 22-2 * * *", "hour field '22-2'"),  # croniter: wraps around midnight
    ],
)
def test_croniter_syntax_the_functions_host_refuses_is_refused(expression: str, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        parse_schedule(expression)


def test_croniter_gets_plain_value_lists() -> None:
    schedule = parse_schedule("*/20 0 9-17/4 * Jan,jul Sunday,7,Sat")
    assert isinstance(schedule, CronSchedule)
    assert schedule.cron_text == "0,20,40 0 9,13,17 * 1,7 0,6"
    every = parse_schedule("* * * * * *")
    assert isinstance(every, CronSchedule) and every.cron_text == "* * * * * *"  # 0-6 days of week is "*"


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("59 59 23 31 12 *", "2024-12-31T23:59:59", "2025-12-31T23:59:59"),  # a year later, to the second
        ("0 0 0 31 * *", "2024-01-31T00:00:00", "2024-03-31T00:00:00"),  # months without a 31st are skipped
        ("0 0 12 29 2 *", "2100-01-01T00:00:00", "2104-02-29T12:00:00"),  # 2100 is not a leap year
        ("0 0 0 13 * Fri", "2024-01-01T00:00:00", "2024-09-13T00:00:00"),  # day AND day of week (not OR)
        ("0 0 0 * * Mon", "2024-01-01T00:00:00", "2024-01-08T00:00:00"),  # strictly after a match
        ("30 * * * * *", "2024-01-01T00:00:30.000001", "2024-01-01T00:01:30"),
    ],
)
def test_calendar_edges(expression: str, after: str, expected: str) -> None:
    assert parse_schedule(expression).next_after(at(after)) == at(expected)


def test_no_occurrence_in_fifty_years_is_a_config_error() -> None:
    schedule = parse_schedule("0 0 0 29 2 Mon")
    assert schedule.next_after(at("2073-01-01T00:00:00")) == at("2112-02-29T00:00:00")  # the longest gap: 39 years
    with pytest.raises(ConfigError, match="no occurrence within 50 years"):
        schedule.next_after(at("9990-03-01T00:00:00"))  # none before year 10000


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    value = st.integers(low, high)
    item = st.one_of(
        value.map(str),
        st.tuples(value, value).map(lambda ab: f"{min(ab)}-{max(ab)}"),
        st.integers(1, high - low + 1).map(lambda n: f"*/{n}"),
        st.tuples(value, st.integers(1, 10)).map(lambda vn: f"{vn[0]}/{vn[1]}"),
    )
    return st.one_of(st.just("*"), st.lists(item, min_size=1, max_size=3).map(",".join))


@settings(max_examples=150, deadline=None)
@given(
    fields=st.tuples(_field(0, 59), _field(0, 59), _field(0, 23), _field(1, 28), _field(1, 12), _field(0, 7)),
    after=st.datetimes(datetime(2000, 1, 1), datetime(2090, 1, 1)),
)
def test_next_occurrence_is_the_first_time_that_matches(fields: tuple[str, ...], after: datetime) -> None:
    schedule = parse_schedule(" ".join(fields))
    assert isinstance(schedule, CronSchedule)
    start = after.replace(tzinfo=UTC)
    found = schedule.next_after(start)
    assert found > start and found.microsecond == 0 and fires_at(schedule, found)
    if found - start <= timedelta(hours=2):  # no earlier second matches (scanned where that is cheap)
        t = start.replace(microsecond=0) + timedelta(seconds=1)
        while t < found:
            assert not fires_at(schedule, t), t
            t += timedelta(seconds=1)
    assert schedule.next_after(found - timedelta(microseconds=1)) == found
