"""The schedule service (durableml.service.schedules) against a real Azurite, with the clock given.

Each tick gets ``now`` explicitly, so a test can step through an hour of a minute schedule, a host
downtime or a debounce window in milliseconds; the clock file that moves a host's clock (what the
end-to-end tests use) is checked here too. The run starter records what it was asked to start; the
end-to-end tests (tests/e2e/test_schedules.py) start real runs through a real funchost.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any, Mapping

import pytest
from azure.storage.blob import BlobServiceClient

from durableml.exceptions import DatastoreNotFoundError, PipelineNotFoundError, ValidationError
from durableml.service import published, schedules
from durableml.service import records as records_module
from durableml.service.schedules import Firing
from tests.http_receiver import Receiver

T0 = dt.datetime(2026, 11, 22, 10, 0, 0, tzinfo=dt.timezone.utc)


pytestmark = pytest.mark.usefixtures("service_storage")


class Starter:
    """Records the runs the ticks ask for; a run id is started at most once, as the real starter ensures."""

    def __init__(self) -> None:
        self.started: dict[str, Firing] = {}

    def __call__(self, firing: Firing) -> Mapping[str, Any]:
        self.started.setdefault(firing.run_id, firing)
        return {"id": firing.run_id, "status": "NotStarted"}

    def causes(self, schedule_id: str) -> list[dict[str, Any]]:
        return [f.cause for f in self.started.values() if f.schedule["id"] == schedule_id]


GOLDEN = Path(__file__).parent / "sdk" / "golden" / "sample_pipeline.json"


@pytest.fixture(name="pipeline_id")
def published_pipeline() -> str:
    """A real published pipeline: the golden sample's first step on local compute (never run here)."""
    document = json.loads(GOLDEN.read_text())
    step = document["steps"][0]
    document["steps"] = [{**step, "computeTarget": "local", "snapshot": {**step["snapshot"], "id": "0" * 64}}]
    document["edges"] = []
    return str(published.publish(document, {"name": "scoring"})["id"])


def minute_schedule(pipeline_id: str, **extra: Any) -> dict[str, Any]:
    spec = {
        "name": f"every-minute-{uuid.uuid4().hex[:6]}",
        "pipelineId": pipeline_id,
        "experimentName": "sched",
        "recurrence": {"frequency": "Minute", "interval": 1},
        **extra,
    }
    return schedules.create(spec, now=T0)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_a_minute_schedule_starts_at_once_then_once_per_minute_and_never_twice(pipeline_id: str) -> None:
    record, start = minute_schedule(pipeline_id), Starter()
    schedules.tick(start, now=at(1), only=record["id"])
    assert [c["kind"] for c in start.causes(record["id"])] == ["created"]  # v1: no start_time → at once
    for second in (20, 40, 59):
        schedules.tick(start, now=at(second), only=record["id"])
    assert len(start.started) == 1
    for second in (60, 61, 90, 120, 150):
        schedules.tick(start, now=at(second), only=record["id"])
        schedules.tick(start, now=at(second), only=record["id"])  # a second host ticking at the same moment
    occurrences = [c["occurrence"] for c in start.causes(record["id"]) if c["kind"] == "recurrence"]
    assert occurrences == [schedules._iso(at(60)), schedules._iso(at(120))]
    runs = schedules.firings(record["id"])
    assert len(runs) == 3 and all(f["started"] for f in runs)
    assert schedules.get(record["id"], now=at(150))["nextRunTime"] == schedules._iso(at(180))


def test_a_downtime_that_skipped_occurrences_starts_one_catch_up_run_recording_the_skipped_times(
    pipeline_id: str,
) -> None:
    record, start = minute_schedule(pipeline_id), Starter()
    schedules.tick(start, now=at(61), only=record["id"])  # the immediate run, and 10:01
    schedules.tick(start, now=at(60 * 10 + 5), only=record["id"])  # the host was down from 10:01 to 10:10
    catch_up = [c for c in start.causes(record["id"]) if c["kind"] == "recurrence"][-1]
    assert catch_up["occurrence"] == schedules._iso(at(600))
    assert catch_up["skipped"] == [schedules._iso(at(60 * m)) for m in range(2, 10)]
    assert catch_up["skippedCount"] == 8
    assert len(start.started) == 3


def test_a_disabled_schedule_starts_nothing_and_enabling_fires_only_later_occurrences(pipeline_id: str) -> None:
    record, start = minute_schedule(pipeline_id), Starter()
    schedules.tick(start, now=at(1), only=record["id"])
    schedules.update(record["id"], {"status": "Disabled"}, now=at(2))
    for minute in range(1, 6):
        schedules.tick(start, now=at(60 * minute), only=record["id"])
    assert len(start.started) == 1
    assert schedules.list_schedules({"activeOnly": True, "pipelineId": pipeline_id}) == [] or all(
        s["id"] != record["id"] for s in schedules.list_schedules({"activeOnly": True})
    )
    schedules.update(record["id"], {"status": "Active"}, now=at(330))
    schedules.tick(start, now=at(340), only=record["id"])
    assert len(start.started) == 1  # nothing for the disabled minutes
    schedules.tick(start, now=at(391), only=record["id"])
    assert [c["occurrence"] for c in start.causes(record["id"])][-1] == schedules._iso(at(360))


def test_updating_the_recurrence_takes_effect_at_the_next_tick(pipeline_id: str) -> None:
    record, start = minute_schedule(pipeline_id), Starter()
    schedules.tick(start, now=at(1), only=record["id"])
    schedules.update(record["id"], {"recurrence": {"frequency": "Hour", "interval": 1}}, now=at(30))
    for minute in range(1, 60):
        schedules.tick(start, now=at(60 * minute), only=record["id"])
    assert len(start.started) == 1
    schedules.tick(start, now=at(3601), only=record["id"])  # hourly from the creation time (no start_time)
    assert start.causes(record["id"])[-1]["occurrence"] == schedules._iso(at(3600))


def test_a_future_start_time_waits_for_it(pipeline_id: str) -> None:
    start = Starter()
    every_5 = {"frequency": "Minute", "interval": 5, "startTime": "2026-11-22T10:30:00"}
    record = minute_schedule(pipeline_id, recurrence=every_5)
    for minute in (1, 10, 29):
        schedules.tick(start, now=at(60 * minute), only=record["id"])
    assert start.started == {}
    schedules.tick(start, now=at(60 * 30 + 1), only=record["id"])
    assert [c["occurrence"] for c in start.causes(record["id"])] == [schedules._iso(at(1800))]


def test_without_a_given_now_the_schedules_read_the_clock_file_that_the_setting_names(
    pipeline_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = tmp_path / "clock"
    monkeypatch.setenv(schedules.CLOCK_SETTING, str(clock))
    assert abs((schedules.clock() - real_now()).total_seconds()) < 1  # no file yet: the real time
    record, start = minute_schedule_on_the_clock(pipeline_id), Starter()
    created = dt.datetime.fromisoformat(record["created"])
    schedules.tick(start, only=record["id"])
    assert [c["kind"] for c in start.causes(record["id"])] == ["created"]
    clock.write_text("61")  # a minute and a second later, on every reader of the file
    assert 60 < (schedules.clock() - real_now()).total_seconds() < 62
    schedules.tick(start, only=record["id"])
    assert start.causes(record["id"])[-1]["occurrence"] == schedules._iso(created + dt.timedelta(minutes=1))
    assert schedules.get(record["id"])["nextRunTime"] == schedules._iso(created + dt.timedelta(minutes=2))
    monkeypatch.delenv(schedules.CLOCK_SETTING)
    assert abs((schedules.clock() - real_now()).total_seconds()) < 1  # production: no setting, the real time


def minute_schedule_on_the_clock(pipeline_id: str) -> dict[str, Any]:
    """A minute schedule created at the schedules' clock (no ``now`` given)."""
    spec = {
        "name": f"on-the-clock-{uuid.uuid4().hex[:6]}",
        "pipelineId": pipeline_id,
        "experimentName": "sched",
        "recurrence": {"frequency": "Minute", "interval": 1},
    }
    return schedules.create(spec)


def test_a_claimed_firing_whose_host_died_before_starting_is_started_by_a_later_tick(pipeline_id: str) -> None:
    record, start = minute_schedule(pipeline_id), Starter()
    firing = Firing(schedules._get(record["id"]), f"created-{schedules._iso(T0)}", {"kind": "created"})
    records_module.records().insert(
        schedules.FIRINGS,
        record["id"],
        firing.key,
        {
            "key": firing.key,
            "schedule_id": record["id"],
            "run_id": firing.run_id,
            "created": schedules._iso(at(1)),
            "cause": firing.cause,
        },
    )  # claimed, then died
    schedules.tick(start, now=at(5), only=record["id"])
    assert start.started == {}  # within the grace period: the claimer may still be starting it
    schedules.tick(start, now=at(61 + schedules.CLAIM_GRACE_S), only=record["id"])
    assert firing.run_id in start.started


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"pipelineId": None}, "exactly one published pipeline"),
        ({"experimentName": ""}, "needs experiment_name"),
        ({"recurrence": {"frequency": "Minute", "interval": 0}}, "interval must be a positive integer"),
        ({"recurrence": "every day"}, "recurrence must be an object"),
        (
            {"recurrence": {"frequency": "Minute", "interval": 10**12}},
            "too large for frequency 'Minute': use 1 to 72000",
        ),
        ({"recurrence": {"frequency": "Month", "interval": 17}}, "use 1 to 16"),
        ({"recurrence": None, "datastore": "workspaceblobstore", "pathOnDatastore": "../../etc"}, "'..' segment"),
        ({"recurrence": None, "datastore": "workspaceblobstore", "pollingInterval": 10**12}, "polling_interval"),
        ({"debounceSeconds": float("nan")}, "debounce_seconds must be a number"),
        ({"recurrence": None}, "exactly one trigger"),
        ({"datastore": "workspaceblobstore"}, "exactly one trigger"),
        ({"notificationUrl": "ftp://x"}, "notification_url must be an http"),
        ({"debounceSeconds": -1}, "debounce_seconds must be a number"),
        ({"parameterAssignments": {"ParameterAssignments": {"epochs": "many"}}}, "'epochs' expects a int"),
        (
            {"recurrence": None, "datastore": "workspaceblobstore", "dataPathParameterName": "epochs"},
            "'epochs' is not a DataPath parameter of the pipeline; its DataPath parameters: \\['input_path'\\]",
        ),
    ],
)
def test_invalid_schedules_are_refused_with_what_to_fix_and_nothing_is_recorded(
    pipeline_id: str, spec: dict, message: str
) -> None:
    before = len(schedules.list_schedules({"activeOnly": False}))
    with pytest.raises(ValidationError, match=message):
        minute_schedule(pipeline_id, **spec)
    assert len(schedules.list_schedules({"activeOnly": False})) == before


def test_unknown_pipelines_datastores_and_schedules_are_not_found_errors(pipeline_id: str) -> None:
    with pytest.raises(PipelineNotFoundError):
        minute_schedule("missing")
    with pytest.raises(DatastoreNotFoundError, match="no datastore named 'nowhere'"):
        minute_schedule(pipeline_id, recurrence=None, datastore="nowhere")
    with pytest.raises(PipelineNotFoundError, match="no schedule with id 'nope'"):
        schedules.get("nope")
    with pytest.raises(ValidationError, match="cannot be changed"):
        schedules.update(minute_schedule(pipeline_id)["id"], {"pipelineId": "p2"})


# ---------------------------------------------------------------------------------------------- data changes
def upload(azurite: Any, names: list[str], container: str = "workspaceblobstore") -> None:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    client = service.get_container_client(container)
    if not client.exists():
        client.create_container()
    for name in names:
        client.upload_blob(name, b"x,y\n1,2\n" + name.encode(), overwrite=True)


def change_schedule(pipeline_id: str, folder: str, created: dt.datetime, **extra: Any) -> dict[str, Any]:
    spec = {
        "name": f"on-data-{folder}",
        "pipelineId": pipeline_id,
        "experimentName": "sched",
        "datastore": "workspaceblobstore",
        "pathOnDatastore": folder,
        "pollingInterval": 1,
        "dataPathParameterName": "input_path",
        **extra,
    }
    return schedules.create(spec, now=created)


def real_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def test_twenty_uploads_within_the_debounce_window_start_one_run_listing_all_of_them(
    azurite: Any, pipeline_id: str
) -> None:
    folder = f"incoming-{uuid.uuid4().hex[:6]}"
    # created in the same whole second as the uploads: Last-Modified has one-second resolution
    record, start = change_schedule(pipeline_id, folder, real_now(), debounceSeconds=30), Starter()
    upload(azurite, [f"{folder}/part-{i:02}.csv" for i in range(20)])
    now = real_now()
    schedules.tick(start, now=now, only=record["id"])
    assert start.started == {} and schedules.get(record["id"])["pendingChanges"] == 20  # window still open
    schedules.tick(start, now=now + dt.timedelta(seconds=31), only=record["id"])
    schedules.tick(start, now=now + dt.timedelta(seconds=200), only=record["id"])
    (firing,) = start.started.values()
    assert sorted(b["name"] for b in firing.cause["blobs"]) == [f"{folder}/part-{i:02}.csv" for i in range(20)]
    assert all(b["etag"] for b in firing.cause["blobs"])
    assert firing.parameters == {"input_path": {"datastore": "workspaceblobstore", "path": folder}}
    assert schedules.firings(record["id"])[0]["cause"]["blobs"] == firing.cause["blobs"]
    assert schedules.get(record["id"])["pendingChanges"] == 0


def test_without_debounce_each_changed_blob_starts_its_own_run_with_its_path(azurite: Any, pipeline_id: str) -> None:
    folder = f"v1-{uuid.uuid4().hex[:6]}"
    record, start = change_schedule(pipeline_id, folder, real_now() - dt.timedelta(seconds=5)), Starter()
    upload(azurite, [f"{folder}/a.csv", f"{folder}/b.csv"])
    schedules.tick(start, now=real_now(), only=record["id"])
    assert sorted(f.parameters["input_path"]["path"] for f in start.started.values()) == [
        f"{folder}/a.csv",
        f"{folder}/b.csv",
    ]
    schedules.tick(start, now=real_now() + dt.timedelta(minutes=2), only=record["id"])
    assert len(start.started) == 2  # unchanged blobs do not fire again
    upload(azurite, [f"{folder}/a.csv"])  # new content: a new ETag
    schedules.tick(start, now=real_now() + dt.timedelta(minutes=4), only=record["id"])
    assert len(start.started) == 3


def test_subfolders_and_suffixes_match_only_when_asked(azurite: Any, pipeline_id: str) -> None:
    folder = f"tree-{uuid.uuid4().hex[:6]}"
    created = real_now() - dt.timedelta(seconds=5)
    flat, start_flat = change_schedule(pipeline_id, folder, created, name=f"flat-{folder}"), Starter()
    deep, start_deep = (
        change_schedule(pipeline_id, folder, created, name=f"deep-{folder}", includeSubfolders=True, suffixes=[".csv"]),
        Starter(),
    )
    upload(azurite, [f"{folder}/2026/11/day.csv", f"{folder}/2026/11/notes.txt"])
    schedules.tick(start_flat, now=real_now(), only=flat["id"])
    schedules.tick(start_deep, now=real_now(), only=deep["id"])
    assert start_flat.started == {}
    assert [f.parameters["input_path"]["path"] for f in start_deep.started.values()] == [f"{folder}/2026/11/day.csv"]


def test_a_data_change_schedule_on_a_missing_container_records_its_error_and_others_still_fire(
    azurite: Any, pipeline_id: str
) -> None:
    broken = change_schedule(pipeline_id, f"gone-{uuid.uuid4().hex[:6]}", real_now(), name="broken")
    records_module.records().update(
        schedules.TABLE, schedules.PARTITION, broken["id"], lambda r: r.update(datastore="deleted-store")
    )  # its datastore went away
    healthy, start = minute_schedule(pipeline_id), Starter()
    schedules.tick(start, now=at(61))
    assert "DatastoreNotFoundError" in (schedules.get(broken["id"])["lastError"] or "")
    assert [c["kind"] for c in start.causes(healthy["id"])] == ["created", "recurrence"]


# ---------------------------------------------------------------------------------------------- notifications
def finished_run(schedule_id: str | None) -> str:
    from durableml.service import runs

    run_id = str(uuid.uuid4())
    properties = {"azureml.scheduleId": schedule_id} if schedule_id else {}
    records_module.records().put(
        runs.RUNS,
        runs.PARTITION,
        run_id,
        {
            "id": run_id,
            "kind": "pipeline",
            "experiment": "sched",
            "status": "Failed",
            "created": "2026-11-22T10:00Z",
            "ended": "2026-11-22T10:01Z",
            "error": "step(s) failed: score",
            "run_source": "Schedule",
            "properties": properties,
        },
    )
    return run_id


def test_a_finished_run_of_a_schedule_with_a_notification_url_posts_its_outcome(pipeline_id: str) -> None:
    from durableml.service import notifications

    receiver = Receiver([])
    try:
        record = minute_schedule(pipeline_id, notificationUrl=receiver.url)
        run_id = finished_run(record["id"])
        sent = notifications.notify_run_finished(run_id)
        (body,) = receiver.bodies
        assert body["runId"] == run_id and body["status"] == "Failed" and body["error"] == "step(s) failed: score"
        assert body["properties"]["azureml.scheduleId"] == record["id"]
        assert sent is not None and "SECRET" not in json.dumps(sent)  # only scheme and host are shown
        assert notifications.notify_run_finished(finished_run(None)) is None  # nobody asked: nothing sent
    finally:
        receiver.close()


def test_a_receiver_that_refuses_fails_the_attempt_without_showing_the_url_secret(pipeline_id: str) -> None:
    from durableml.service import notifications

    receiver = Receiver([503])
    try:
        run_id = finished_run(minute_schedule(pipeline_id, notificationUrl=receiver.url)["id"])
        with pytest.raises(notifications.NotificationFailed, match="answered 503") as info:
            notifications.notify_run_finished(run_id)
        assert "SECRET" not in str(info.value) and "/hooks" not in str(info.value)
        notifications.notify_run_finished(run_id)  # the retry the orchestration makes
        assert len(receiver.bodies) == 2
    finally:
        receiver.close()


def test_a_blob_whose_run_cannot_start_is_set_aside_after_five_attempts_and_the_rest_still_fire(
    azurite: Any, pipeline_id: str
) -> None:
    folder = f"poison-{uuid.uuid4().hex[:6]}"
    record = change_schedule(pipeline_id, folder, real_now())
    upload(azurite, [f"{folder}/bad.csv", f"{folder}/good.csv"])
    start = Starter()

    def refuse_bad(firing: Firing) -> Mapping[str, Any]:
        if firing.cause["blobs"][0]["name"].endswith("bad.csv"):
            raise ValueError("this file cannot be bound")
        return start(firing)

    later = real_now()
    for attempt in range(schedules.POISON_AFTER):
        schedules.tick(refuse_bad, now=later + dt.timedelta(minutes=2 * attempt), only=record["id"])
    assert [f.cause["blobs"][0]["name"] for f in start.started.values()] == [f"{folder}/good.csv"]
    shown = schedules.get(record["id"])
    assert [p["cause"]["blobs"][0]["name"] for p in shown["poisoned"]] == [f"{folder}/bad.csv"]
    assert "ValueError: this file cannot be bound" in shown["poisoned"][0]["error"] and shown["pendingChanges"] == 0
    upload(azurite, [f"{folder}/later.csv"])  # the trigger keeps running for everything else
    schedules.tick(refuse_bad, now=later + dt.timedelta(minutes=20), only=record["id"])
    assert len(start.started) == 2


def test_a_schedule_saved_with_a_recurrence_that_can_never_fire_is_disabled_at_the_next_tick(
    pipeline_id: str,
) -> None:
    """A schedule saved before recurrences were checked as they are now (an interval of 10**12 was saved, then
    failed every tick with an OverflowError) is disabled once, saying why, and still reads fine."""
    from durableml.service.records import records

    record = minute_schedule(pipeline_id)
    records().update(
        schedules.TABLE,
        schedules.PARTITION,
        record["id"],
        lambda doc: doc.update(recurrence={"frequency": "Minute", "interval": 10**12}),
    )
    start = Starter()
    schedules.tick(start, now=at(61), only=record["id"])
    stored = schedules.get(record["id"], now=at(61))
    assert stored["status"] == "Disabled" and "recurrence is not valid" in stored["lastError"], stored
    assert stored.get("nextRunTime") is None and start.started == {}
