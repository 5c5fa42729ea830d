"""When a v1 ``ScheduleRecurrence`` fires: occurrence times in UTC, time zones and daylight saving.

Shared by the SDK (which checks a recurrence when it is built) and the service (whose timer trigger asks
which occurrences fell due). The rules are v1's:

* ``Minute`` and ``Hour`` recurrences fire every ``interval`` units from the anchor, in absolute time.
* ``Day`` / ``Week`` recurrences fire on the anchor's wall-clock time in ``time_zone``, or at every
  ``hours`` x ``minutes`` (or ``time_of_day``) of each ``interval``-th day / week, on ``week_days`` (default:
  the anchor's weekday) for ``Week``. Wall-clock times keep their local time across daylight saving; a
  time that does not exist that day (spring forward) fires at the same offset one hour later, an
  ambiguous one (fall back) fires once, at its first instance.
* ``Month`` recurrences fire on the anchor's day of month (the last day in shorter months) and time.
* The anchor is ``start_time`` (a wall-clock time in ``time_zone``), else the schedule's creation time.
  Without ``start_time`` the first run starts at once; with one, the first occurrence is the first
  computed time at or after it (strictly after it when hours/minutes/time_of_day/week_days are given,
  as v1 documents), and never before the schedule was created.

The times are ``dateutil.rrule``'s (MINUTELY/HOURLY in UTC; DAILY/WEEKLY/MONTHLY on the wall clock, with
byhour/byminute/byweekday, and ``bymonthday=(28..day), bysetpos=-1`` for "the day, else the month's last").
Kept here, each for a reason: turning a wall-clock time into an instant (the daylight-saving rule above,
with ``fold=0``; a day's instants are sorted and each fires once, since a time moved past a 30-minute gap can
pass or meet a listed one); the anchor's microseconds, which rrule drops; and starting the rule a whole
number of periods after the anchor, just before the times asked for: rrule counts its intervals one
occurrence at a time from its start, which took 1.3 s for the next run of a year-old every-minute schedule
(tens of microseconds this way).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator, Mapping
from itertools import groupby
from typing import Any

from dateutil.rrule import DAILY, HOURLY, MINUTELY, MO, MONTHLY, WEEKLY, rrule

from durableml.exceptions import ValidationError

__all__ = ["FREQUENCIES", "MAX_INTERVAL", "WEEK_DAYS", "WINDOWS_TIME_ZONES", "check", "occurrences", "time_zone", "utc"]

FREQUENCIES = ("Minute", "Hour", "Day", "Week", "Month")
WEEK_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
START_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"

# Windows time zone ids (the values of v1's TimeZone enum) and their IANA zones (CLDR windowsZones, "001").
WINDOWS_TIME_ZONES: dict[str, str] = {
    "Dateline Standard Time": "Etc/GMT+12",
    "UTC-11": "Etc/GMT+11",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Alaskan Standard Time": "America/Anchorage",
    "Pacific Standard Time (Mexico)": "America/Tijuana",
    "Pacific Standard Time": "America/Los_Angeles",
    "US Mountain Standard Time": "America/Phoenix",
    "Mountain Standard Time (Mexico)": "America/Mazatlan",
    "Mountain Standard Time": "America/Denver",
    "Central America Standard Time": "America/Guatemala",
    "Central Standard Time": "America/Chicago",
    "Central Standard Time (Mexico)": "America/Mexico_City",
    "Canada Central Standard Time": "America/Regina",
    "SA Pacific Standard Time": "America/Bogota",
    "Eastern Standard Time": "America/New_York",
    "Eastern Standard Time (Mexico)": "America/Cancun",
    "US Eastern Standard Time": "America/Indianapolis",
    "Venezuela Standard Time": "America/Caracas",
    "Atlantic Standard Time": "America/Halifax",
    "Central Brazilian Standard Time": "America/Cuiaba",
    "SA Western Standard Time": "America/La_Paz",
    "Pacific SA Standard Time": "America/Santiago",
    "Newfoundland Standard Time": "America/St_Johns",
    "E. South America Standard Time": "America/Sao_Paulo",
    "Argentina Standard Time": "America/Buenos_Aires",
    "SA Eastern Standard Time": "America/Cayenne",
    "Greenland Standard Time": "America/Godthab",
    "Montevideo Standard Time": "America/Montevideo",
    "UTC-02": "Etc/GMT+2",
    "Azores Standard Time": "Atlantic/Azores",
    "Cape Verde Standard Time": "Atlantic/Cape_Verde",
    "UTC": "Etc/UTC",
    "Coordinated Universal Time": "Etc/UTC",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "Morocco Standard Time": "Africa/Casablanca",
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Romance Standard Time": "Europe/Paris",
    "Central European Standard Time": "Europe/Warsaw",
    "W. Central Africa Standard Time": "Africa/Lagos",
    "GTB Standard Time": "Europe/Bucharest",
    "Middle East Standard Time": "Asia/Beirut",
    "Egypt Standard Time": "Africa/Cairo",
    "South Africa Standard Time": "Africa/Johannesburg",
    "FLE Standard Time": "Europe/Kiev",
    "Israel Standard Time": "Asia/Jerusalem",
    "E. Europe Standard Time": "Europe/Chisinau",
    "Turkey Standard Time": "Europe/Istanbul",
    "Jordan Standard Time": "Asia/Amman",
    "Arabic Standard Time": "Asia/Baghdad",
    "Arab Standard Time": "Asia/Riyadh",
    "Russian Standard Time": "Europe/Moscow",
    "E. Africa Standard Time": "Africa/Nairobi",
    "Iran Standard Time": "Asia/Tehran",
    "Arabian Standard Time": "Asia/Dubai",
    "Azerbaijan Standard Time": "Asia/Baku",
    "Afghanistan Standard Time": "Asia/Kabul",
    "West Asia Standard Time": "Asia/Tashkent",
    "Pakistan Standard Time": "Asia/Karachi",
    "India Standard Time": "Asia/Calcutta",
    "Sri Lanka Standard Time": "Asia/Colombo",
    "Nepal Standard Time": "Asia/Katmandu",
    "Central Asia Standard Time": "Asia/Almaty",
    "Bangladesh Standard Time": "Asia/Dhaka",
    "Myanmar Standard Time": "Asia/Rangoon",
    "SE Asia Standard Time": "Asia/Bangkok",
    "N. Central Asia Standard Time": "Asia/Novosibirsk",
    "China Standard Time": "Asia/Shanghai",
    "North Asia Standard Time": "Asia/Krasnoyarsk",
    "Singapore Standard Time": "Asia/Singapore",
    "W. Australia Standard Time": "Australia/Perth",
    "Taipei Standard Time": "Asia/Taipei",
    "Ulaanbaatar Standard Time": "Asia/Ulaanbaatar",
    "Tokyo Standard Time": "Asia/Tokyo",
    "Korea Standard Time": "Asia/Seoul",
    "Cen. Australia Standard Time": "Australia/Adelaide",
    "AUS Central Standard Time": "Australia/Darwin",
    "E. Australia Standard Time": "Australia/Brisbane",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "West Pacific Standard Time": "Pacific/Port_Moresby",
    "Tasmania Standard Time": "Australia/Hobart",
    "Vladivostok Standard Time": "Asia/Vladivostok",
    "Central Pacific Standard Time": "Pacific/Guadalcanal",
    "New Zealand Standard Time": "Pacific/Auckland",
    "Fiji Standard Time": "Pacific/Fiji",
    "Tonga Standard Time": "Pacific/Tongatapu",
    "Samoa Standard Time": "Pacific/Apia",
}


def time_zone(name: str | None) -> zoneinfo.ZoneInfo:
    """The zone of a v1 ``time_zone`` (a Windows id such as "Pacific Standard Time", or an IANA name)."""
    if not name:
        return zoneinfo.ZoneInfo("Etc/UTC")
    iana = WINDOWS_TIME_ZONES.get(name) or WINDOWS_TIME_ZONES.get(_spaced(name)) or name
    try:
        return zoneinfo.ZoneInfo(iana)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"ScheduleRecurrence time_zone {name!r} is not a known time zone; use a Windows id such as "
            "'Pacific Standard Time' (TimeZone.PacificStandardTime) or an IANA name such as 'Europe/Berlin'."
        ) from None


def _spaced(name: str) -> str:
    """``PacificStandardTime`` (a TimeZone attribute name) -> ``Pacific Standard Time``."""
    return "".join(f" {c}" if c.isupper() and i and name[i - 1].islower() else c for i, c in enumerate(name))


def utc(value: dt.datetime) -> dt.datetime:
    """An aware datetime in UTC (naive values are taken as UTC)."""
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def parse_start_time(value: Any, zone_name: str | None = None) -> dt.datetime | None:
    """``start_time`` as a naive wall-clock datetime in the recurrence's time zone.

    v1 takes a naive datetime or 'YYYY-MM-DDThh:mm:ss'; an aware datetime is converted to that zone's
    wall clock rather than refused, so the instant the user meant is kept.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.astimezone(time_zone(zone_name)).replace(tzinfo=None)
        return value
    if isinstance(value, str):
        for fmt in (START_TIME_FORMAT, "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
            try:
                return dt.datetime.strptime(value, fmt)
            except ValueError:
                continue
    raise ValidationError(
        f"ScheduleRecurrence start_time {value!r} must be a datetime or a string "
        "'YYYY-MM-DDThh:mm:ss' (wall-clock time in time_zone)."
    )


def parse_time_of_day(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        hour, minute = (int(part) for part in str(value).split(":"))
    except ValueError:
        hour = minute = -1
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValidationError(f"ScheduleRecurrence time_of_day {value!r} must be 'hh:mm', e.g. '15:30'.")
    return hour, minute


MAX_INTERVAL = {"Minute": 72_000, "Hour": 12_000, "Day": 500, "Week": 71, "Month": 16}
"""The largest ``interval`` per frequency (about 16 months each). v1 documents no limit; these are Azure Logic
Apps' recurrence limits, so that every occurrence stays a computable date and a typo (10**12) is refused
before the schedule is saved."""


def check(spec: Mapping[str, Any]) -> None:
    """Raise ValidationError, naming the setting and the fix, for a recurrence v1 would reject (or whose interval
    is beyond :data:`MAX_INTERVAL`)."""
    if not isinstance(spec, Mapping):
        raise ValidationError(
            "a schedule's recurrence must be an object such as {'frequency': 'Day', 'interval': 1}, got "
            f"{type(spec).__name__} {str(spec)[:60]!r}."
        )
    frequency, interval = spec.get("frequency"), spec.get("interval")
    if frequency not in FREQUENCIES:
        raise ValidationError(f"ScheduleRecurrence frequency {frequency!r} must be one of {', '.join(FREQUENCIES)}.")
    if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
        raise ValidationError(f"ScheduleRecurrence interval must be a positive integer, got {interval!r}.")
    if interval > MAX_INTERVAL[frequency]:
        raise ValidationError(
            f"ScheduleRecurrence interval {interval} is too large for frequency {frequency!r}: use 1 to "
            f"{MAX_INTERVAL[frequency]} (at most about 16 months between runs)."
        )
    hours, minutes, time_of_day = spec.get("hours") or [], spec.get("minutes") or [], spec.get("timeOfDay")
    if (hours or minutes or time_of_day) and frequency not in ("Day", "Week"):
        raise ValidationError(
            f"ScheduleRecurrence hours/minutes/time_of_day need frequency 'Day' or 'Week', not {frequency!r}."
        )
    if time_of_day and (hours or minutes):
        raise ValidationError("ScheduleRecurrence takes time_of_day or hours and minutes, not both (as in v1).")
    if spec.get("weekDays") and frequency != "Week":
        raise ValidationError(f"ScheduleRecurrence week_days need frequency 'Week', not {frequency!r}.")
    _numbers(hours, 23, "hours")
    _numbers(minutes, 59, "minutes")
    bad_days = [d for d in spec.get("weekDays") or [] if d not in WEEK_DAYS]
    if bad_days:
        raise ValidationError(
            f"ScheduleRecurrence week_days {bad_days!r} are not day names; use e.g. ['Monday', 'Friday']."
        )
    parse_time_of_day(time_of_day)
    parse_start_time(spec.get("startTime"))
    time_zone(spec.get("timeZone"))


def _numbers(values: Any, top: int, what: str) -> None:
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= top for v in values):
        raise ValidationError(f"ScheduleRecurrence {what} must be integers from 0 to {top}, got {values!r}.")


def occurrences(
    spec: Mapping[str, Any], created: dt.datetime, after: dt.datetime, until: dt.datetime
) -> Iterator[dt.datetime]:
    """The occurrences (aware, UTC, ascending) in ``(after, until]`` of a recurrence created at ``created``."""
    check(spec)
    created, after, until = utc(created), utc(after), utc(until)
    zone = time_zone(spec.get("timeZone"))
    start = parse_start_time(spec.get("startTime"))
    anchor = _from_wall(start, zone) if start is not None else created
    narrowed = bool(spec.get("hours") or spec.get("minutes") or spec.get("timeOfDay") or spec.get("weekDays"))
    floor = max(after, created)
    if start is not None:  # v1: at start_time itself only when nothing narrows the times
        floor = max(floor, anchor if narrowed else anchor - _TICK)
    for moment in _candidates(spec, anchor, zone, floor):
        if moment > until:
            return
        yield moment


_TICK = dt.timedelta(microseconds=1)


def _candidates(
    spec: Mapping[str, Any], anchor: dt.datetime, zone: zoneinfo.ZoneInfo, floor: dt.datetime
) -> Iterator[dt.datetime]:
    """Every occurrence after ``floor``, ascending and unbounded."""
    frequency, interval = spec["frequency"], spec["interval"]
    if frequency in ("Minute", "Hour"):  # absolute time, in UTC
        step = dt.timedelta(minutes=interval) if frequency == "Minute" else dt.timedelta(hours=interval)
        k = (floor - anchor) // step + 1 if floor >= anchor else 0
        first = (anchor + k * step).astimezone(dt.timezone.utc).replace(tzinfo=None)
        rule = rrule(MINUTELY if frequency == "Minute" else HOURLY, interval=interval, dtstart=first)
        fraction = dt.timedelta(microseconds=anchor.microsecond)
        yield from (moment.replace(tzinfo=dt.timezone.utc) + fraction for moment in rule)
        return
    local_anchor = anchor.astimezone(zone).replace(tzinfo=None, fold=0)
    hours, minutes, seconds, fraction = _times_of_day(spec, local_anchor)
    rule = rrule(
        DAILY if frequency == "Day" else WEEKLY if frequency == "Week" else MONTHLY,
        interval=interval,
        dtstart=_period_start(frequency, interval, local_anchor, floor.astimezone(zone).replace(tzinfo=None)),
        wkst=MO,
        byweekday=_week_day_numbers(spec, local_anchor) if frequency == "Week" else None,
        bymonthday=tuple(range(min(local_anchor.day, 28), local_anchor.day + 1)) if frequency == "Month" else None,
        bysetpos=-1 if frequency == "Month" else None,  # the anchor's day, else the month's last
        byhour=hours,
        byminute=minutes,
        bysecond=seconds,
    )
    last = floor
    for _day, wall_times in groupby(rule, key=dt.datetime.date):
        # sorted within the day: a time moved past the spring-forward gap can pass a later one (30-minute gaps)
        for moment in sorted(_from_wall(local + fraction, zone) for local in wall_times):
            if moment > last:  # once: a moved time can land on a listed one
                yield moment
                last = moment


def _period_start(frequency: str, interval: int, local_anchor: dt.datetime, local_floor: dt.datetime) -> dt.datetime:
    """Midnight starting the anchor's day / week (Monday) / month, moved on by whole periods to just before
    ``local_floor`` (rrule counts its intervals from its dtstart, one occurrence after another)."""
    if frequency == "Month":
        months = (local_floor.year - local_anchor.year) * 12 + local_floor.month - local_anchor.month
        total = local_anchor.month - 1 + max(0, months // interval - 1) * interval
        return dt.datetime(local_anchor.year + total // 12, total % 12 + 1, 1)
    period_days = interval if frequency == "Day" else 7 * interval
    first_day = local_anchor.date() - dt.timedelta(days=local_anchor.weekday() if frequency == "Week" else 0)
    k = max(0, (local_floor.date() - first_day).days // period_days - 1)
    return dt.datetime.combine(first_day + dt.timedelta(days=k * period_days), dt.time())


def _times_of_day(
    spec: Mapping[str, Any], local_anchor: dt.datetime
) -> tuple[list[int], list[int], list[int], dt.timedelta]:
    """rrule's byhour, byminute and bysecond, and the fraction of a second to add (the anchor's, when its time
    of day is the occurrences' own: rrule drops microseconds)."""
    of_day = parse_time_of_day(spec.get("timeOfDay"))
    if of_day:
        return [of_day[0]], [of_day[1]], [0], dt.timedelta(0)
    if not (spec.get("hours") or spec.get("minutes")):
        a = local_anchor
        return [a.hour], [a.minute], [a.second], dt.timedelta(microseconds=a.microsecond)
    return sorted(spec.get("hours") or [local_anchor.hour]), sorted(spec.get("minutes") or [0]), [0], dt.timedelta(0)


def _week_day_numbers(spec: Mapping[str, Any], local_anchor: dt.datetime) -> list[int]:
    days = spec.get("weekDays") or [WEEK_DAYS[local_anchor.weekday()]]
    return sorted(WEEK_DAYS.index(d) for d in days)


def _from_wall(local: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """A wall-clock time in ``zone`` as UTC. fold=0: a time in a spring-forward gap comes out one gap later
    (02:30 -> 03:30), an ambiguous fall-back time at its first instance."""
    return local.replace(tzinfo=zone, fold=0).astimezone(dt.timezone.utc)
