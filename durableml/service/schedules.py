"""Schedules: run a published pipeline (or a pipeline endpoint's default version) on a recurrence or when
data changes under a datastore path.

The Function App's ``schedule_tick`` timer calls :func:`tick` every few seconds. Every run a schedule
starts is one *firing*, recorded before the run is started under a key that names what caused it (the
occurrence time, or the changed blobs), and the run's id derives from that key. So each occurrence starts
exactly one run even when two hosts tick at once or a host dies between claiming and starting: the next
tick finds the claim and finishes it.

* Recurrences (v1 semantics, ``durableml.recurrence``): without ``start_time`` the first run starts when
  the schedule is created; after a downtime that skipped occurrences, one catch-up run starts for the
  latest of them and its firing records the skipped times. Disabling stops firings; enabling again, or
  changing the recurrence, fires only occurrences after that moment.
* Data changes: every ``polling_interval`` the watched path is listed (one folder level, or every
  subfolder with ``include_subfolders``; optional name ``suffixes``) and blobs added or changed since the
  last look (newer Last-Modified, or a new ETag) are pending. With ``debounce_seconds`` 0 (v1) each one
  starts its own run; otherwise all blobs that arrive within the window after the first start one run.
  The DataPath parameter ``data_path_parameter_name`` receives the changed blob (or, for a batch, the
  folder holding them all), and the run's firing lists every blob (name, ETag) that caused it.
* Blob-created events (Azure): when the ``DURABLEML_BLOB_EVENTS_QUEUE`` setting names the queue Event Grid
  delivers the storage account's ``Microsoft.Storage.BlobCreated`` events to, :func:`on_blob_events` looks at
  the data-change schedules watching that blob's container and path at once (the same listing, watermark,
  debounce and firing as a poll: an event is only a reason to look now, so a duplicate or late event starts
  nothing twice), and the regular polling of data-change schedules backs off to once every
  ``EVENTS_SAFETY_POLL_MINUTES`` (or their own ``polling_interval`` when longer), catching events that were
  lost. Without the setting (locally) schedules poll every ``polling_interval``, as in v1.

Every "now" of this module (creating, updating and showing schedules, and each tick) is :func:`clock`: the
real time, unless the ``DURABLEML_SCHEDULE_CLOCK`` setting names a clock file (tests only), whose number is
added to it in seconds. A test moves the clock of a running host by rewriting that file, so it can step a
minute schedule past its next occurrences without waiting for them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import posixpath
import re
import uuid
from urllib.parse import unquote, urlparse
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from azure.core.exceptions import ResourceNotFoundError

from durableml import recurrence
from durableml._names import check_blob_prefix
from durableml.data import layout
from durableml.exceptions import PipelineNotFoundError, ValidationError
from durableml.service import datastores
from durableml.service.notification_urls import check_url
from durableml.service.records import blob_container, records
from durableml.service.runs import utc_now

TABLE, PARTITION, FIRINGS = "dmlSchedules", "schedule", "dmlScheduleFirings"
ACTIVE, DISABLED = "Active", "Disabled"
POISON_AFTER = 5  # failed attempts before a firing is set aside (the Functions host's poisonBlobThreshold)
POISONED_KEPT = 50  # poisoned firings listed on a schedule
BLOBS_KEPT = 1000  # changed blobs listed per firing (the count is always kept)
SKIPPED_KEPT = 100  # skipped occurrence times recorded per catch-up firing (the count is always kept)
CLAIM_GRACE_S = 60  # a claimed firing whose run does not exist after this long is started by the next tick
_ASSIGNMENTS = ("ParameterAssignments", "DataPathAssignments", "DataSetDefinitionValueAssignments")
_RUN_NAMESPACE = uuid.UUID("0b6d1f43-5f0e-4a59-9d8e-3c1f2a7b9e21")
CLOCK_SETTING = "DURABLEML_SCHEDULE_CLOCK"  # the path of a clock file (tests); unset: the real time
EVENTS_SETTING = "DURABLEML_BLOB_EVENTS_QUEUE"  # set by infra/: blob-created events arrive in that queue
EVENTS_SAFETY_POLL_MINUTES = 60.0
BLOB_CREATED = "Microsoft.Storage.BlobCreated"
_EVENT_SUBJECT = re.compile(r"^/blobServices/default/containers/([^/]+)/blobs/(.+)$")
log = logging.getLogger("durableml.schedules")


def clock() -> dt.datetime:
    """Now, in UTC, for the schedules: the real time plus the seconds in the ``DURABLEML_SCHEDULE_CLOCK`` file.

    Without the setting (production) it is the real time. The file is read at every call, so a test that
    rewrites it moves the clock of a running host; an empty or missing file means no offset.
    """
    now = dt.datetime.now(dt.timezone.utc)
    path = os.environ.get(CLOCK_SETTING)
    if not path:
        return now
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read().strip()
    except FileNotFoundError:
        return now
    return now + dt.timedelta(seconds=float(text or 0))


_SETTINGS = (
    "name",
    "description",
    "status",
    "experimentName",
    "parameterAssignments",
    "continueOnStepFailure",
    "recurrence",
    "datastore",
    "pathOnDatastore",
    "pollingInterval",
    "dataPathParameterName",
    "debounceSeconds",
    "includeSubfolders",
    "suffixes",
    "notificationUrl",
)


@dataclass
class Firing:
    """One run a schedule starts: what caused it and the run's deterministic id."""

    schedule: dict[str, Any]
    key: str
    cause: dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return str(uuid.uuid5(_RUN_NAMESPACE, f"{self.schedule['id']}/{self.key}"))


Starter = Callable[[Firing], Mapping[str, Any]]
"""Starts the firing's run with id ``firing.run_id`` (idempotent: an existing run is returned as it is)."""


# ---------------------------------------------------------------------------------------------- records
def create(spec: Mapping[str, Any], now: Optional[dt.datetime] = None) -> dict[str, Any]:
    """Validate and record a schedule (its pipeline or endpoint must exist and accept its parameters)."""
    now = recurrence.utc(now or clock())
    record = _checked(
        {
            **{k: spec.get(k) for k in _SETTINGS},
            "status": spec.get("status") or ACTIVE,
            "pipelineId": spec.get("pipelineId"),
            "pipelineEndpointId": spec.get("pipelineEndpointId"),
        }
    )
    check_target(record)
    record.update(id=str(uuid.uuid4()), created=_iso(now), updated=_iso(now), lastError=None)
    _reset_clock(record, now)
    if record["recurrence"] and not record["recurrence"].get("startTime"):
        record["firstRunPending"] = _iso(now)  # v1: without start_time the first run starts at once
    records().put(TABLE, PARTITION, record["id"], record)
    return describe(record, now)


def get(schedule_id: str, now: Optional[dt.datetime] = None) -> dict[str, Any]:
    """The schedule as the API shows it; ``nextRunTime`` is the first occurrence after ``now`` (default: the clock)."""
    return describe(_get(schedule_id), now)


def _get(schedule_id: str) -> dict[str, Any]:
    record = records().get(TABLE, PARTITION, schedule_id) if schedule_id else None
    if record is None:
        raise PipelineNotFoundError(f"no schedule with id '{schedule_id}'; list them with Schedule.list(ws)")
    return record


def list_schedules(filters: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = records().query(TABLE, PARTITION)
    if filters.get("activeOnly", True) not in (False, "false", "0"):
        found = [r for r in found if r["status"] == ACTIVE]
    for key in ("pipelineId", "pipelineEndpointId"):
        if filters.get(key):
            found = [r for r in found if r.get(key) == filters[key]]
    return [describe(r) for r in sorted(found, key=lambda r: r["created"])]


def update(schedule_id: str, changes: Mapping[str, Any], now: Optional[dt.datetime] = None) -> dict[str, Any]:
    """Change settings; takes effect at the next tick. Enabling or a new recurrence fires only later times."""
    now = recurrence.utc(now or clock())
    unknown = sorted(set(changes) - set(_SETTINGS))
    if unknown:
        raise ValidationError(f"schedule settings {unknown} cannot be changed; changeable: {list(_SETTINGS)}")

    def change(record: dict[str, Any]) -> None:
        before = dict(record)
        record.update({k: v for k, v in changes.items() if v is not None})
        _checked(record)
        if {"parameterAssignments", "dataPathParameterName"} & set(changes):
            check_target(record)
        trigger = ("status", "recurrence", "datastore", "pathOnDatastore", "includeSubfolders", "suffixes")
        if record["status"] == ACTIVE and any(record[k] != before.get(k) for k in trigger):
            _reset_clock(record, now)  # a changed trigger fires only for what happens from now on
        record["updated"] = _iso(now)

    _get(schedule_id)
    return describe(records().update(TABLE, PARTITION, schedule_id, change), now)


def firings(schedule_id: str) -> list[dict[str, Any]]:
    """What the schedule started, newest first: run id, when, and what caused it."""
    _get(schedule_id)
    return sorted(records().query(FIRINGS, schedule_id), key=lambda f: f["created"], reverse=True)


def describe(record: Mapping[str, Any], now: Optional[dt.datetime] = None) -> dict[str, Any]:
    """A schedule as the API shows it, with the next time a recurrence fires."""
    shown = {k: v for k, v in record.items() if k not in ("boundary", "pending", "firstRunPending", "attempts")}
    shown["pendingChanges"] = len(record.get("pending") or [])
    if record.get("recurrence") and record["status"] == ACTIVE and _valid(record["recurrence"]):
        after = _time(record.get("lastOccurrence")) or _time(record["created"])
        upcoming = recurrence.occurrences(
            record["recurrence"],
            _time(record["created"]),
            max(after, recurrence.utc(now or clock())),
            dt.datetime.max.replace(tzinfo=dt.timezone.utc),
        )
        shown["nextRunTime"] = _iso(next(upcoming, None))
    return shown


def _valid(spec: Any) -> bool:
    try:
        recurrence.check(spec)
    except ValidationError:
        return False
    return True


def _checked(record: dict[str, Any]) -> dict[str, Any]:
    """Raise ValidationError naming the setting and the fix; fill defaults."""
    if not isinstance(record.get("name"), str) or not record["name"].strip():
        raise ValidationError("a schedule needs a name, e.g. Schedule.create(ws, name='nightly', ...)")
    if bool(record.get("pipelineId")) == bool(record.get("pipelineEndpointId")):
        raise ValidationError(
            "a schedule runs exactly one published pipeline (pipeline_id) or pipeline endpoint (pipeline_endpoint_id)"
        )
    if not isinstance(record.get("experimentName"), str) or not record["experimentName"].strip():
        raise ValidationError("a schedule needs experiment_name: the experiment its runs are recorded under")
    if record["status"] not in (ACTIVE, DISABLED):
        raise ValidationError(f"schedule status must be 'Active' or 'Disabled', got {record['status']!r}")
    if bool(record.get("recurrence")) == bool(record.get("datastore")):
        raise ValidationError(
            "a schedule needs exactly one trigger: recurrence=ScheduleRecurrence(...) or "
            "datastore= (a data-change schedule)"
        )
    if record.get("recurrence"):
        recurrence.check(record["recurrence"])
    else:
        if not isinstance(record["datastore"], str):
            raise ValidationError(f"a schedule's datastore must be a datastore name, got {record['datastore']!r}")
        datastores.get_datastore(record["datastore"])  # DatastoreNotFoundError names the fix
        path = check_blob_prefix(record.get("pathOnDatastore") or "", "path_on_datastore")
        record["pathOnDatastore"] = path.strip("/")
        record["dataPathParameterName"] = record.get("dataPathParameterName") or None
    record["pollingInterval"] = _number(
        record.get("pollingInterval"), 5, "polling_interval (minutes)", 0.05, MAX_POLLING_MINUTES
    )
    record["debounceSeconds"] = _number(record.get("debounceSeconds"), 0, "debounce_seconds", 0, MAX_DEBOUNCE_SECONDS)
    record["includeSubfolders"] = bool(record.get("includeSubfolders"))
    suffixes = record.get("suffixes") or []
    if not isinstance(suffixes, list) or not all(isinstance(s, str) and s for s in suffixes):
        raise ValidationError(f"suffixes must be a list of file name endings such as ['.csv'], got {suffixes!r}")
    record["suffixes"] = suffixes
    assignments = record.get("parameterAssignments") or {}
    if not isinstance(assignments, dict) or set(assignments) - set(_ASSIGNMENTS):
        raise ValidationError(
            "parameterAssignments must be an object with the v1 run request's sections "
            f"{list(_ASSIGNMENTS)}, e.g. {{'ParameterAssignments': {{'count': 3}}}}"
        )
    record["parameterAssignments"] = assignments
    record["notificationUrl"] = check_url(record.get("notificationUrl"))
    return record


MAX_POLLING_MINUTES = 7 * 24 * 60  # a data-change schedule looks at least once a week
MAX_DEBOUNCE_SECONDS = 24 * 60 * 60


def _number(value: Any, default: float, what: str, least: float, most: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not least <= value <= most:  # NaN too
        raise ValidationError(f"{what} must be a number from {least:g} to {most:g}, got {value!r}")
    return value


def _reset_clock(record: dict[str, Any], now: dt.datetime) -> None:
    """Fire only what happens after ``now``: recurrences from now on, data changes newer than now.

    Blob Last-Modified times have whole-second resolution, so the data watermark is ``now`` rounded down
    to the second, and the blobs already there in that second are remembered as seen (``boundary``).
    """
    record["lastOccurrence"] = _iso(now)
    record["pending"], record["lastPoll"] = [], None
    record["watermark"], record["boundary"] = _iso(now.replace(microsecond=0)), []
    if record.get("datastore"):
        store = datastores.get_datastore(record["datastore"])
        record["boundary"] = [
            [b["name"], b["etag"]]
            for b in _listing(store["container_name"], record)
            if b["modified"] >= record["watermark"]
        ]


# ---------------------------------------------------------------------------------------------- runs
def _runnable(record: Mapping[str, Any]) -> tuple[dict[str, Any], Optional[str]]:
    """(published pipeline a run of the schedule starts, endpoint id or None); 404/410 as for REST callers."""
    from durableml.service import endpoints, published

    if record.get("pipelineId"):
        return published.runnable(record["pipelineId"]), None
    endpoint = endpoints.get(record["pipelineEndpointId"])
    return endpoints.runnable(endpoint, None), endpoint["id"]


def _run_request(record: Mapping[str, Any], data_paths: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """The v1 run request a firing makes: the schedule's assignments, plus the changed path if any."""
    body: dict[str, Any] = {
        "ExperimentName": record["experimentName"],
        "RunSource": "Schedule",
        **{k: dict(v) for k, v in record["parameterAssignments"].items()},
    }
    if record.get("continueOnStepFailure") is not None:
        body["ContinueOnStepFailure"] = bool(record["continueOnStepFailure"])
    for name, where in data_paths.items():
        body.setdefault("DataPathAssignments", {})[name] = {
            "DataStoreName": where["datastore"],
            "RelativePath": where["path"],
        }
    return body


def check_target(record: Mapping[str, Any]) -> None:
    """The schedule's pipeline or endpoint exists, and its parameters and data path parameter fit it."""
    from durableml.service import published, submissions

    declared = published.document(_any_version(record)["id"])["parameters"]
    name = record.get("dataPathParameterName")
    if name and (declared.get(name) or {}).get("type") != "datapath":
        datapaths = sorted(n for n, p in declared.items() if p["type"] == "datapath")
        raise ValidationError(
            f"data_path_parameter_name '{name}' is not a DataPath parameter of the pipeline; "
            f"its DataPath parameters: {datapaths or 'none'}"
        )
    submissions.from_rest(_run_request(record, {}), declared)  # 400 naming a wrongly typed parameter


def _any_version(record: Mapping[str, Any]) -> dict[str, Any]:
    from durableml.service import endpoints, published

    if record.get("pipelineId"):
        return published.get(record["pipelineId"])
    endpoint = endpoints.get(record["pipelineEndpointId"])
    return published.get(endpoints._version(endpoint, endpoint["defaultVersion"])["pipelineId"])


def create_run(firing: Firing) -> tuple[dict[str, Any], dict[str, Any]]:
    """Record the run of a firing (id ``firing.run_id``); returns (run record, execution plan)."""
    import json

    from durableml.service import published, submissions

    schedule = firing.schedule
    pipeline, endpoint_id = _runnable(schedule)
    document = published.document(pipeline["id"])
    submission = submissions.from_rest(_run_request(schedule, firing.parameters), document["parameters"])
    properties = {
        "azureml.scheduleId": schedule["id"],
        "azureml.scheduleName": schedule["name"],
        "durableml.trigger": json.dumps(firing.cause, sort_keys=True),
    }
    return submissions.create(
        document,
        submission,
        bool(pipeline.get("continueOnStepFailure")),
        pipeline["id"],
        endpoint_id,
        firing.run_id,
        properties,
    )


# ---------------------------------------------------------------------------------------------- ticking
def tick(
    start: Starter, now: Optional[dt.datetime] = None, only: Optional[str] = None, poll: bool = False
) -> list[dict[str, Any]]:
    """Start every run that fell due (of every schedule, or of schedule ``only``); ``poll``: a data-change
    schedule lists its path now, whenever it last did (a blob event says something arrived).

    A firing whose run cannot start is retried at the next ticks; after ``POISON_AFTER`` failed attempts it is
    set aside (``poisoned`` on the schedule, with its error), like the Functions host's poison blobs, so one
    bad blob or occurrence never blocks the others. A schedule that fails as a whole (its datastore is gone)
    records ``lastError`` and does not stop the other schedules.
    """
    now = recurrence.utc(now or clock())
    started: list[dict[str, Any]] = []
    where, params = ("status eq 'Active' and RowKey eq @id", {"id": only}) if only else ("status eq 'Active'", {})
    for record in records().query(TABLE, PARTITION, where, params):
        if _disabled_as_invalid(record, now):
            continue
        try:
            due = _recurrence_firings(record, now) if record.get("recurrence") else _change_firings(record, now, poll)
        except Exception as exc:  # recorded on the schedule, shown by Schedule.get; the next tick retries
            _failed(record, None, exc, now)
            continue
        for firing in due:
            try:
                fired = _fire(firing, start, now)
            except Exception as exc:
                _failed(record, firing, exc, now)
                continue
            if fired is not None:  # else another host is starting it; settled when a tick sees it started
                started.append(fired)
                _settle(firing, now)
    return started


def _disabled_as_invalid(record: Mapping[str, Any], now: dt.datetime) -> bool:
    """Disable a schedule whose recurrence can never fire (saved before its settings were checked as they are
    now: a string, an interval of 10**12...), recording why, instead of failing at every tick."""
    if not record.get("recurrence"):
        return False
    try:
        recurrence.check(record["recurrence"])
        return False
    except ValidationError as exc:
        error = f"{_iso(now)} disabled: its recurrence is not valid: {exc}"
    log.warning("schedule '%s' (%s) %s", record.get("name"), record["id"], error)
    records().update(TABLE, PARTITION, record["id"], lambda doc: doc.update(status=DISABLED, lastError=error))
    return True


def _failed(record: Mapping[str, Any], firing: Optional[Firing], exc: Exception, now: dt.datetime) -> None:
    """Record a failure on the schedule; a firing that failed ``POISON_AFTER`` times is set aside."""
    error = f"{_iso(now)} {type(exc).__name__}: {exc}"
    log.warning("schedule '%s' (%s) failed: %s", record.get("name"), record["id"], error)

    def change(doc: dict[str, Any]) -> None:
        doc["lastError"] = error
        if firing is None:
            return
        attempts = doc.setdefault("attempts", {})
        attempts[firing.key] = attempts.get(firing.key, 0) + 1
        if attempts[firing.key] >= POISON_AFTER:
            del attempts[firing.key]
            doc["poisoned"] = [
                *doc.get("poisoned", [])[-(POISONED_KEPT - 1) :],
                {"key": firing.key, "cause": firing.cause, "error": error},
            ]
            _advance(doc, firing)

    records().update(TABLE, PARTITION, record["id"], change)


def _recurrence_firings(record: Mapping[str, Any], now: dt.datetime) -> list[Firing]:
    found = []
    if record.get("firstRunPending"):
        found.append(
            Firing(
                dict(record),
                f"created-{record['firstRunPending']}",
                {"kind": "created", "occurrence": record["firstRunPending"]},
            )
        )
    due = [
        _iso(t)
        for t in recurrence.occurrences(
            record["recurrence"], _time(record["created"]), _time(record["lastOccurrence"]), now
        )
    ]
    if due:
        found.append(
            Firing(
                dict(record),
                f"at-{due[-1]}",
                {
                    "kind": "recurrence",
                    "occurrence": due[-1],
                    "skipped": due[:-1][-SKIPPED_KEPT:],
                    "skippedCount": len(due) - 1,
                },
            )
        )
    return found


def _change_firings(record: dict[str, Any], now: dt.datetime, poll: bool = False) -> list[Firing]:
    last_poll = _time(record.get("lastPoll"))
    if poll or last_poll is None or (now - last_poll).total_seconds() >= polling_minutes(record) * 60 - 0.5:
        record = _poll(record, now)
    pending = record.get("pending") or []
    if not pending:
        return []
    if not record["debounceSeconds"]:
        return [_change_firing(record, [blob]) for blob in pending]
    first_seen = min(_time(b["seen"]) for b in pending)
    if (now - first_seen).total_seconds() < record["debounceSeconds"]:
        return []
    return [_change_firing(record, pending)]


def polling_minutes(record: Mapping[str, Any]) -> float:
    """How often a data-change schedule lists its path: its ``pollingInterval``, or, when blob events arrive
    (``DURABLEML_BLOB_EVENTS_QUEUE`` set), at least every ``EVENTS_SAFETY_POLL_MINUTES`` as a safety net."""
    interval = float(record["pollingInterval"])
    return max(interval, EVENTS_SAFETY_POLL_MINUTES) if os.environ.get(EVENTS_SETTING) else interval


# ---------------------------------------------------------------------------------------------- blob events
def blob_event_target(event: Any) -> Optional[tuple[str, str]]:
    """``(container, blob name)`` of an Event Grid (or CloudEvents) ``Microsoft.Storage.BlobCreated`` event, from
    its subject ``/blobServices/default/containers/<c>/blobs/<path>`` or else its ``data.url``; None for any
    other event or shape."""
    if not isinstance(event, Mapping) or (event.get("eventType") or event.get("type")) != BLOB_CREATED:
        return None
    match = _EVENT_SUBJECT.match(str(event.get("subject") or ""))
    if match:
        return match.group(1), match.group(2)
    data = event.get("data")
    url = str(data.get("url") or "") if isinstance(data, Mapping) else ""
    parsed = urlparse(url)
    parts = [p for p in unquote(parsed.path).split("/") if p != ""]
    if parsed.hostname in ("127.0.0.1", "localhost") and parts:  # path-style (emulator): /<account>/<c>/<path>
        parts = parts[1:]
    return (parts[0], "/".join(parts[1:])) if len(parts) >= 2 else None


def _watches(record: Mapping[str, Any], container: str, blob: str, event_container: str) -> bool:
    """Whether data-change schedule ``record`` (its datastore's ``container``) watches blob ``blob`` of
    ``event_container``: the same rules as its listing (the path's folder, or under it with subfolders; the
    suffixes)."""
    if event_container != container:
        return False
    prefix = f"{record['pathOnDatastore']}/" if record["pathOnDatastore"] else ""
    if not blob.startswith(prefix) or (not record["includeSubfolders"] and "/" in blob[len(prefix) :]):
        return False
    suffixes = tuple(record["suffixes"])
    return not suffixes or blob.endswith(suffixes)


def on_blob_events(events: list[Any], start: Starter, now: Optional[dt.datetime] = None) -> list[dict[str, Any]]:
    """Look at once at the active data-change schedules that watch a blob these events name (see the module
    docstring); the runs started (as :func:`tick`). Events of no watched blob change nothing."""
    targets = [t for t in (blob_event_target(e) for e in events) if t is not None]
    if not targets:
        return []
    matched = []
    for record in records().query(TABLE, PARTITION, "status eq 'Active'", {}):
        if record.get("recurrence") or not record.get("datastore"):
            continue
        try:
            container = str(datastores.get_datastore(record["datastore"])["container_name"])
        except Exception as exc:  # noqa: BLE001 (the tick records it on the schedule; events go on)
            log.warning("blob event: schedule '%s' (%s): %s", record.get("name"), record["id"], exc)
            continue
        if any(_watches(record, container, blob, where) for where, blob in targets):
            matched.append(record["id"])
    started = []
    for schedule_id in matched:
        started += tick(start, now, only=schedule_id, poll=True)
    return started


def _poll(record: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """List the watched path; blobs newer than the watermark join ``pending`` (one atomic record update)."""
    store = datastores.get_datastore(record["datastore"])
    changed = [b for b in _listing(store["container_name"], record) if _is_new(b, record)]

    def change(doc: dict[str, Any]) -> None:
        known = {(b["name"], b["etag"]) for b in doc.get("pending") or []}
        doc["pending"] = [
            *(doc.get("pending") or []),
            *({**b, "seen": _iso(now)} for b in changed if (b["name"], b["etag"]) not in known),
        ]
        mark = max([doc["watermark"], *(b["modified"] for b in changed)])
        at_mark = [[b["name"], b["etag"]] for b in changed if b["modified"] == mark]
        doc["boundary"] = (doc.get("boundary") or [] if mark == doc["watermark"] else []) + at_mark
        doc["watermark"] = mark
        doc["lastPoll"] = _iso(now)

    return records().update(TABLE, PARTITION, record["id"], change)


def _listing(container: str, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    prefix = f"{record['pathOnDatastore']}/" if record["pathOnDatastore"] else ""
    client = blob_container(container, create=False)
    if record["includeSubfolders"]:
        items = client.list_blobs(name_starts_with=prefix)
    else:
        items = (b for b in client.walk_blobs(name_starts_with=prefix, delimiter="/") if not b.name.endswith("/"))
    suffixes = tuple(record["suffixes"])
    try:
        return [
            {"name": b.name, "etag": str(b.etag).strip('"'), "modified": _iso(recurrence.utc(b.last_modified))}
            for b in items
            if not suffixes or b.name.endswith(suffixes)
        ]
    except ResourceNotFoundError:
        return []  # the container does not exist (yet): nothing has changed in it


def _is_new(blob: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    if blob["modified"] > record["watermark"]:
        return True
    return blob["modified"] == record["watermark"] and [blob["name"], blob["etag"]] not in record["boundary"]


def _change_firing(record: Mapping[str, Any], blobs: list[dict[str, Any]]) -> Firing:
    names = sorted((b["name"], b["etag"]) for b in blobs)
    key = "changes-" + hashlib.sha256(repr(names).encode()).hexdigest()[:32]
    cause = {
        "kind": "dataChange",
        "datastore": record["datastore"],
        "count": len(names),
        "blobs": [{"name": n, "etag": e} for n, e in names[:BLOBS_KEPT]],
    }
    parameters = {}
    if record.get("dataPathParameterName"):
        path = names[0][0] if len(names) == 1 else layout.common_folder(posixpath.dirname(n) for n, _ in names)
        parameters[record["dataPathParameterName"]] = {"datastore": record["datastore"], "path": path}
    return Firing(dict(record), key, cause, parameters)


def _fire(firing: Firing, start: Starter, now: dt.datetime) -> Optional[dict[str, Any]]:
    """Claim the firing (once), then start its run (idempotent on the run id); None when another host has
    just claimed it and may still be starting it."""
    claim = {
        "key": firing.key,
        "schedule_id": firing.schedule["id"],
        "run_id": firing.run_id,
        "created": _iso(now),
        "cause": firing.cause,
    }
    if not records().insert(FIRINGS, firing.schedule["id"], firing.key, claim):
        claim = records().get(FIRINGS, firing.schedule["id"], firing.key) or claim
        if (now - _time(claim["created"])).total_seconds() < CLAIM_GRACE_S and not claim.get("started"):
            return None
    run = start(firing)
    if not claim.get("started"):
        records().update(
            FIRINGS, firing.schedule["id"], firing.key, lambda c: c.update(started=utc_now(), status=run.get("status"))
        )
    return {**claim, "run_id": run["id"]}


def _settle(firing: Firing, now: dt.datetime) -> None:
    """Advance the schedule past a started firing (so the next tick does not fire it again)."""

    def change(record: dict[str, Any]) -> None:
        _advance(record, firing)
        (record.get("attempts") or {}).pop(firing.key, None)
        record["lastRunId"], record["lastRunTime"] = firing.run_id, _iso(now)

    records().update(TABLE, PARTITION, firing.schedule["id"], change)


def _advance(record: dict[str, Any], firing: Firing) -> None:
    """Mark what caused the firing as handled: the first run, the occurrence, or the changed blobs."""
    cause = firing.cause
    if cause["kind"] == "created":
        record.pop("firstRunPending", None)
    elif cause["kind"] == "recurrence" and cause["occurrence"] > record["lastOccurrence"]:
        record["lastOccurrence"] = cause["occurrence"]
    elif cause["kind"] == "dataChange":
        fired = {(b["name"], b["etag"]) for b in cause["blobs"]}
        record["pending"] = [b for b in record.get("pending") or [] if (b["name"], b["etag"]) not in fired]


def _iso(value: Optional[dt.datetime]) -> Optional[str]:
    return recurrence.utc(value).isoformat(timespec="microseconds") if value else None


def _time(text: Optional[str]) -> Any:
    return dt.datetime.fromisoformat(text) if text else None
