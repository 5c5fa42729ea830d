"""Timer schedules as the Functions host understands them: NCRONTAB expressions and TimeSpans.

Supported forms (functions-bindings-timer):

* 6 fields ``{second} {minute} {hour} {day} {month} {day-of-week}``;
* 5 fields ``{minute} {hour} {day} {month} {day-of-week}`` (second 0);
* each field: ``*``, a value, a range ``a-b``, a list ``a,b,c``, steps ``*/n``, ``a-b/n`` and ``a/n``;
  month names ``Jan``..``Dec`` and day names ``Sun``..``Sat`` (matched on their first three letters,
  case-insensitively); day-of-week 0 and 7 both mean Sunday;
* TimeSpan schedules ``hh:mm:ss``, ``hh:mm`` and ``d.hh:mm:ss`` (a fixed interval).

As in NCrontab, a time matches when *both* the day of month and the day of week match.
Times are evaluated in UTC. :func:`parse_timespan` also serves host.json TimeSpan settings.

The occurrences are croniter's (``day_or=False`` for NCrontab's "both day fields" rule, seconds first),
from the allowed values of each field. Two pieces stay here, for stated reasons:

* the field grammar: croniter's is not NCrontab's. It accepts what the Functions host refuses (``L``,
  ``W``, ``#``, ``?``, ``H`` hashes, ``5-1`` wrapping around), so a schedule would run under funchost and
  fail in Azure; it refuses full day names (``Sunday``); and its errors do not say which field is wrong.
  The fields are checked and expanded here and croniter gets plain value lists;
* TimeSpans: croniter has no TimeSpan form.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime, timedelta, timezone

from croniter import CroniterBadDateError, croniter

from funchost.errors import ConfigError

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_FIELDS = [  # name, low, high, names (index 0 = value low)
    ("second", 0, 59, None),
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day", 1, 31, None),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 7, _DAYS),
]
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?$")
_SEARCH_YEARS = 50  # croniter's max_years_between_matches: the rarest possible schedule (29 Feb on a Monday) is 40


def parse_timespan(text: str) -> timedelta:
    """Parse a .NET TimeSpan (``hh:mm``, ``hh:mm:ss[.fffffff]``, ``d.hh:mm:ss``) into a timedelta."""
    match = _TIMESPAN.match(text.strip())
    if not match:
        raise ConfigError(f"'{text}' is not a TimeSpan; write it as hh:mm:ss or d.hh:mm:ss")
    days, hours, minutes, seconds, fraction = match.groups()
    if int(hours) > 23 or int(minutes) > 59 or int(seconds or 0) > 59:
        raise ConfigError(
            f"TimeSpan '{text}' has an hour > 23, or minutes or seconds > 59; "
            "use d.hh:mm:ss for intervals of a day or more"
        )
    micros = int((fraction or "0").ljust(7, "0")[:6])
    return timedelta(
        days=int(days or 0), hours=int(hours), minutes=int(minutes), seconds=int(seconds or 0), microseconds=micros
    )


def _to_utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


class Schedule:
    """A parsed timer schedule; see :func:`parse_schedule`."""

    expression: str

    def next_after(self, dt: datetime) -> datetime:
        """The first occurrence strictly after ``dt`` (a naive ``dt`` is taken as UTC), in UTC."""
        raise NotImplementedError

    def interval_hint(self, now: datetime) -> timedelta:
        """The gap between the next two occurrences (the host uses it to default ``useMonitor``)."""
        first = self.next_after(now)
        return self.next_after(first) - first


@dataclass
class TimeSpanSchedule(Schedule):
    """A fixed-interval schedule: the next occurrence is ``interval`` after the given time."""

    expression: str
    interval: timedelta

    def next_after(self, dt: datetime) -> datetime:
        return _to_utc(dt) + self.interval


@dataclass
class CronSchedule(Schedule):
    """An NCRONTAB schedule: the allowed values of each of the six fields."""

    expression: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: tuple[int, ...]
    weekdays: frozenset[int]

    def next_after(self, dt: datetime) -> datetime:
        try:
            return self._croniter(_to_utc(dt)).get_next(datetime)
        except (CroniterBadDateError, ValueError, OverflowError):  # ValueError: past year 9999
            raise ConfigError(
                f"schedule '{self.expression}' has no occurrence within {_SEARCH_YEARS} years "
                f"after {dt.isoformat()}; check the day and month fields"
            ) from None

    @cached_property
    def cron_text(self) -> str:
        """The schedule as croniter reads it (seconds first; plain value lists)."""
        fields = [self.seconds, self.minutes, self.hours, self.days, self.months, self.weekdays]
        return " ".join(_cron_field(values, spec) for values, spec in zip(fields, _FIELDS, strict=True))

    def _croniter(self, start: datetime) -> croniter[datetime]:
        return croniter(
            self.cron_text,
            start,
            ret_type=datetime,
            day_or=False,
            max_years_between_matches=_SEARCH_YEARS,
            second_at_beginning=True,
        )


def _cron_field(values: Collection[int], spec: tuple[str, int, int, list[str] | None]) -> str:
    """One field for croniter: ``*`` when every value is allowed, else the values."""
    _name, low, high, names = spec
    top = 6 if names is _DAYS else high
    ordered = sorted(values)
    return "*" if ordered == list(range(low, top + 1)) else ",".join(map(str, ordered))


def parse_schedule(expression: str) -> Schedule:
    """Parse a timer trigger ``schedule``: NCRONTAB (5 or 6 fields) or a TimeSpan.

    Raises ConfigError naming the expression and the field that is wrong.
    """
    text = expression.strip()
    if not text:
        raise ConfigError("the timer schedule is empty; give an NCRONTAB expression like '0 */5 * * * *'")
    if " " not in text and ":" in text:
        try:
            interval = parse_timespan(text)
        except ConfigError as exc:
            raise ConfigError(f"timer schedule '{expression}': {exc}") from exc
        if interval <= timedelta(0):
            raise ConfigError(f"timer schedule '{expression}' is a zero TimeSpan; give a positive interval")
        return TimeSpanSchedule(expression, interval)
    parts = text.split()
    if len(parts) == 5:
        parts = ["0", *parts]
    if len(parts) != 6:
        raise ConfigError(
            f"timer schedule '{expression}' has {len(parts)} fields; NCRONTAB needs 6 "
            "('{second} {minute} {hour} {day} {month} {day-of-week}') or 5 (no seconds)"
        )
    values = [_parse_field(expression, part, *spec) for part, spec in zip(parts, _FIELDS, strict=True)]
    weekdays = frozenset(0 if d == 7 else d for d in values[5])
    schedule = CronSchedule(
        expression,
        tuple(values[0]),
        tuple(values[1]),
        tuple(values[2]),
        frozenset(values[3]),
        tuple(values[4]),
        weekdays,
    )
    try:
        schedule._croniter(_NEVER_BEFORE).get_next(datetime)
    except CroniterBadDateError:
        raise ConfigError(
            f"timer schedule '{expression}' can never fire: no allowed month "
            "has the allowed day of month; fix the day or month field"
        ) from None
    return schedule


_NEVER_BEFORE = datetime(2000, 1, 1, tzinfo=timezone.utc)
"""Where :func:`parse_schedule` looks for a first occurrence: a schedule with none in 50 years has none at all."""


def _parse_field(expression: str, text: str, name: str, low: int, high: int, names: list[str] | None) -> list[int]:
    """The sorted allowed values of one field."""
    allowed: set[int] = set()
    for item in text.split(","):
        try:
            allowed.update(_parse_item(item, low, high, names))
        except ValueError as exc:
            raise ConfigError(
                f"timer schedule '{expression}': the {name} field '{text}' is invalid "
                f"({exc}); allowed values are {low}-{high}" + (f" or names like {names[0].title()}" if names else "")
            ) from exc
    return sorted(allowed)


def _parse_item(item: str, low: int, high: int, names: list[str] | None) -> range:
    base, _, step_text = item.partition("/")
    step = 1
    if step_text:
        step = int(step_text) if step_text.isdigit() else 0
        if step <= 0:
            raise ValueError(f"step '{step_text}' must be a positive number")
    if base == "*":
        first, last = low, high
    elif "-" in base:
        start, _, end = base.partition("-")
        first, last = _value(start, low, high, names), _value(end, low, high, names)
        if first > last:
            raise ValueError(f"range '{base}' runs backwards")
    else:
        first = _value(base, low, high, names)
        last = high if step_text else first
    if names is _DAYS and base == "*":
        last = 6  # '*' means Sunday..Saturday once
    return range(first, last + 1, step)


def _value(text: str, low: int, high: int, names: list[str] | None) -> int:
    if text.isdigit():
        value = int(text)
    elif names and len(text) >= 3 and text[:3].lower() in names:
        value = names.index(text[:3].lower()) + (1 if names is _MONTHS else 0)
    else:
        raise ValueError(f"'{text}' is not a number" + (" or a name" if names else ""))
    if not low <= value <= high:
        raise ValueError(f"{value} is out of range")
    return value
