"""Schedules against a real funchost and Azurite (issue 6): the timer trigger fires them, runs are real.

One module-scoped published pipeline (``projects/scheduled/seen_path.py`` prints the files under its
DataPath parameter). The host's schedules read their time from a clock file (the service's
``DURABLEML_SCHEDULE_CLOCK`` setting, set for this module's host): the real time plus an offset the tests
move, so a minute schedule is stepped past its occurrences instead of waited for. Two minute schedules fire,
one is disabled, funchost is stopped while the clock passes two occurrences and restarted, and the active
one starts exactly one catch-up run while the disabled one starts none. The tests wait for what they assert
(a run, a tick of the timer, a poll recorded on the schedule), never for a fixed time. The clock-driven
rules (daylight saving, catch-up bookkeeping, claims) are covered in tests/test_schedules_service.py.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from durableml.core import Datastore
from durableml.data.datapath import DataPath, DataPathComputeBinding
from durableml.exceptions import NotFoundError, ValidationError
from durableml.pipeline.core import (
    Pipeline,
    PipelineData,
    PipelineEndpoint,
    PipelineParameter,
    Schedule,
    ScheduleRecurrence,
)
from durableml.pipeline.steps import PythonScriptStep
from durableml.service.schedules import CLOCK_SETTING

from tests.http_receiver import Receiver

from ._helpers import ensure_compute, seen, wait_until

PROJECT = Path(__file__).resolve().parent / "projects" / "scheduled"
TICK_DONE = "Executed 'Functions.schedule_tick'"  # what funchost logs when a tick of the timer ends


class Clock:
    """The schedules' clock of this module's host: the real time plus the seconds written in ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0.0
        self._write()

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=self.offset)

    def advance_to(self, moment: dt.datetime) -> None:
        """Move the host's clock forward so that it reads ``moment`` now."""
        self.offset += max(0.0, (moment - self.now()).total_seconds())
        self._write()

    def reset(self) -> None:
        """Back to the real time."""
        self.offset = 0.0
        self._write()

    def _write(self) -> None:
        partial = self.path.with_suffix(".partial")
        partial.write_text(repr(self.offset))
        os.replace(partial, self.path)  # the host never reads a half-written file


@pytest.fixture(scope="module", autouse=True)
def clock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clock]:
    """The clock file, named in the environment before this module's host starts (the host inherits it)."""
    path = tmp_path_factory.mktemp("clock") / "offset"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CLOCK_SETTING, str(path))
        yield Clock(path)


def wait_for_ticks(service: Any, count: int = 2) -> None:
    """Wait until ``count`` more ticks of the timer have ended: the last of them began after this call."""
    ended = service.host.output().count(TICK_DONE) + count
    wait_until(lambda: service.host.output().count(TICK_DONE) >= ended, timeout=60, what=f"{count} more ticks")


def wait_for_polls(service: Any, schedule: Schedule, count: int = 2) -> None:
    """Wait until a data-change schedule has recorded ``count`` (2 or more) more polls of its path (``lastPoll``).

    Ticks run one after the other, and each polls, then fires what it found: the tick that made the first of
    these polls began after this call, and it had ended when the next tick made the last one."""

    def last_poll() -> Any:
        return service.api("GET", f"/api/schedules/{schedule.id}").json().get("lastPoll")

    polls = [last_poll()]

    def polled() -> bool:
        latest = last_poll()
        if latest != polls[-1]:
            polls.append(latest)
        return len(polls) > count

    wait_until(polled, timeout=60, what=f"{count} more polls of {schedule.name}")


@pytest.fixture(scope="module")
def env(service: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ws = service.workspace()
    store = ws.get_default_datastore()
    defaults = tmp_path_factory.mktemp("defaults") / "default.txt"
    defaults.write_text("default")
    store.upload_files([str(defaults)], target_path="defaults", overwrite=True)
    path = (
        PipelineParameter("input_path", default_value=DataPath(store, "defaults")),
        DataPathComputeBinding(mode="mount"),
    )
    out = PipelineData("seen_out", datastore=store)
    step = PythonScriptStep(
        script_name="seen_path.py",
        name="seen",
        source_directory=str(PROJECT),
        compute_target=ensure_compute(ws),
        arguments=["--path", path, "--value", PipelineParameter("value", default_value="default"), "--out", out],
        inputs=[path],
        outputs=[out],
        allow_reuse=False,
    )
    published = Pipeline(workspace=ws, steps=[step]).publish(name="scored", description="schedules", version="1")
    return {"ws": ws, "store": store, "published": published, "t0": time.time()}


def runs_of(schedule: Schedule) -> list[Any]:
    return schedule.get_pipeline_runs()


def every_minute_from(first: dt.datetime) -> ScheduleRecurrence:
    """Every minute, with an occurrence at ``first`` and a start_time a minute before it (v1: a past start_time)."""
    anchor = (first - dt.timedelta(seconds=60)).replace(tzinfo=None)
    return ScheduleRecurrence(frequency="Minute", interval=1, start_time=anchor)


def test_a_schedule_without_start_time_starts_its_first_run_at_once(env: dict[str, Any]) -> None:
    schedule = Schedule.create(
        env["ws"],
        name="at-once",
        pipeline_id=env["published"].id,
        experiment_name="sched",
        recurrence=ScheduleRecurrence(frequency="Day", interval=1),
        pipeline_parameters={"value": "first"},
    )
    (run,) = runs_of(schedule)  # started by Schedule.create itself, as in v1
    assert seen(run) == {"files": {"default.txt": "default"}, "value": "first"}
    assert run.properties["azureml.scheduleId"] == schedule.id
    assert schedule.get_last_pipeline_run().id == run.id
    schedule.disable()
    assert Schedule.get(env["ws"], schedule.id).status == "Disabled"


def test_minute_schedules_fire_once_per_minute_none_while_disabled_and_catch_up_once_after_a_restart(
    env: dict[str, Any], service: Any, clock: Clock
) -> None:
    ws, pipeline_id = env["ws"], env["published"].id
    first = clock.now().replace(microsecond=0) + dt.timedelta(seconds=30)
    active = Schedule.create(
        ws,
        name="minutely",
        pipeline_id=pipeline_id,
        experiment_name="sched",
        recurrence=every_minute_from(first),
        pipeline_parameters={"value": "active"},
    )
    paused = Schedule.create(
        ws, name="paused", pipeline_id=pipeline_id, experiment_name="sched", recurrence=every_minute_from(first)
    )
    try:
        assert runs_of(active) == [] and runs_of(paused) == []  # a past start_time: the next computed time, not now
        clock.advance_to(first + dt.timedelta(seconds=1))
        wait_until(
            lambda: len(runs_of(active)) == 1 and len(runs_of(paused)) == 1,
            timeout=40,
            what="both schedules fire at their first occurrence",
        )
        assert seen(runs_of(active)[0])["value"] == "active"
        paused.disable()  # the next occurrence is most of a minute away on the host's clock: no tick races this
        following = dt.datetime.fromisoformat(str(Schedule.get(ws, active.id).next_run_time))
        assert following == first + dt.timedelta(minutes=1)
        service.host.stop()
        clock.advance_to(following + dt.timedelta(minutes=1, seconds=5))  # down across two occurrences of each
        service.host.restart()
        wait_until(lambda: len(runs_of(active)) == 2, timeout=60, what="one catch-up run after the restart")
        wait_for_ticks(service)  # ticks after the catch-up: still exactly one catch-up run, none for the disabled one
        assert len(runs_of(active)) == 2 and len(runs_of(paused)) == 1
        trigger = json.loads(runs_of(active)[0].properties["durableml.trigger"])
        assert trigger["kind"] == "recurrence" and trigger["skippedCount"] == 1, trigger
    finally:
        clock.reset()  # the data-change schedules of the next tests compare blob times with the real time
        active.disable()
        paused.disable()


def upload(store: Datastore, tmp: Path, names: dict[str, str]) -> None:
    """Upload files (all in one folder) in one upload_files call, as a user drops a batch."""
    folders = {str(Path(name).parent) for name in names}
    assert len(folders) == 1, folders
    local = []
    for name, text in names.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        local.append(str(path))
    store.upload_files(local, target_path=folders.pop(), overwrite=True, show_progress=False)


def watch(env: dict[str, Any], name: str, folder: str, **options: Any) -> Schedule:
    """A data-change schedule of the module's pipeline on ``folder`` of the default datastore, polled every 3 s."""
    return Schedule.create(
        env["ws"],
        name=name,
        pipeline_id=env["published"].id,
        experiment_name="sched",
        datastore=env["store"],
        path_on_datastore=folder,
        polling_interval=0.05,
        data_path_parameter_name="input_path",
        **options,
    )


def test_twenty_uploads_in_the_debounce_window_start_one_run_that_records_all_of_them(
    env: dict[str, Any], tmp_path: Path, service: Any
) -> None:
    folder = f"batch-{uuid.uuid4().hex[:6]}"
    schedule = watch(env, "on-batch", folder, debounce_seconds=15)
    upload(env["store"], tmp_path, {f"{folder}/part-{i:02}.csv": f"row {i}" for i in range(20)})
    wait_until(lambda: len(runs_of(schedule)) == 1, timeout=90, what="one run for the batch")
    wait_for_polls(service, schedule)  # the polls after it find nothing new: the batch started one run
    (run,) = runs_of(schedule)
    trigger = json.loads(run.properties["durableml.trigger"])
    assert sorted(b["name"] for b in trigger["blobs"]) == [f"{folder}/part-{i:02}.csv" for i in range(20)]
    assert seen(run)["files"] == {f"part-{i:02}.csv": f"row {i}" for i in range(20)}  # the folder holding them


def test_each_changed_blob_without_debounce_is_the_path_the_step_sees(env: dict[str, Any], tmp_path: Path) -> None:
    folder = f"single-{uuid.uuid4().hex[:6]}"
    schedule = watch(env, "on-file", folder)
    upload(env["store"], tmp_path, {f"{folder}/new.csv": "fresh data"})
    wait_until(lambda: len(runs_of(schedule)) == 1, timeout=60, what="a run for the new blob")
    assert seen(runs_of(schedule)[0])["files"] == {"new.csv": "fresh data"}


def test_subfolders_trigger_only_when_matching_is_on_and_updates_apply_without_a_restart(
    env: dict[str, Any], tmp_path: Path, service: Any
) -> None:
    folder = f"tree-{uuid.uuid4().hex[:6]}"
    schedule = watch(env, "tree", folder)
    upload(env["store"], tmp_path, {f"{folder}/2026/11/deep.csv": "deep"})
    wait_for_polls(service, schedule)  # polls of the folder since the upload
    assert runs_of(schedule) == []  # v1: subfolders are not watched
    schedule.update(include_subfolders=True)
    upload(env["store"], tmp_path, {f"{folder}/2026/12/deeper.csv": "deeper"})
    wait_until(lambda: len(runs_of(schedule)) == 1, timeout=60, what="the subfolder upload fires once matching is on")
    assert seen(runs_of(schedule)[0])["files"] == {"deeper.csv": "deeper"}


def test_bad_schedules_get_clear_errors(env: dict[str, Any]) -> None:
    ws = env["ws"]
    with pytest.raises(NotFoundError, match="no published pipeline with id"):
        Schedule.create(
            ws,
            name="x",
            pipeline_id=str(uuid.uuid4()),
            experiment_name="sched",
            recurrence=ScheduleRecurrence(frequency="Hour", interval=1),
        )
    with pytest.raises(ValidationError, match="is not a DataPath parameter"):
        Schedule.create(
            ws,
            name="x",
            pipeline_id=env["published"].id,
            experiment_name="sched",
            datastore=env["store"],
            data_path_parameter_name="value",
        )
    with pytest.raises(ValidationError, match="polling_interval"):
        Schedule.create(
            ws,
            name="x",
            pipeline_id=env["published"].id,
            experiment_name="sched",
            datastore=env["store"],
            polling_interval=0.001,
        )
    assert [s.name for s in Schedule.list(ws, active_only=False) if s.name == "x"] == []


def test_an_adls_gen2_datastore_triggers_like_a_blob_one_and_its_secret_is_not_stored(
    env: dict[str, Any], tmp_path: Path, service: Any
) -> None:
    lake = Datastore.register_azure_data_lake_gen2(
        env["ws"],
        datastore_name="lake",
        filesystem="lakefs",
        account_name="devstoreaccount1",
        tenant_id="t",
        client_id="c",
        client_secret="s3cr3t-value",
    )
    assert "s3cr3t-value" not in service.api("GET", "/api/datastores/lake").text
    schedule = Schedule.create(
        env["ws"],
        name="on-lake",
        pipeline_id=env["published"].id,
        experiment_name="sched",
        datastore=lake,
        path_on_datastore="landing",
        polling_interval=0.05,
        data_path_parameter_name="input_path",
    )
    upload(lake, tmp_path, {"landing/day.csv": "lake data"})
    wait_until(lambda: len(runs_of(schedule)) == 1, timeout=60, what="a run for the file landed in the lake")
    assert seen(runs_of(schedule)[0])["files"] == {"day.csv": "lake data"}


def test_runs_started_by_a_schedule_or_an_endpoint_notify_the_url_they_name_when_they_finish(
    env: dict[str, Any], service: Any
) -> None:
    receiver = Receiver([503])  # the first attempt is refused: the notice is retried with backoff
    try:
        schedule = Schedule.create(
            env["ws"],
            name="notifying",
            pipeline_id=env["published"].id,
            experiment_name="sched",
            recurrence=ScheduleRecurrence(frequency="Day", interval=1),
            notification_url=receiver.url,
        )
        (run,) = runs_of(schedule)
        assert run.wait_for_completion(show_output=False) == "Finished"
        wait_until(lambda: len(receiver.bodies) == 2, timeout=60, what="the notice, after one refused attempt")
        notice = receiver.bodies[-1]
        assert (notice["runId"], notice["status"], notice["experimentName"]) == (run.id, "Finished", "sched")
        assert notice["links"]["run"].endswith(f"/api/runs/{run.id}")
        schedule.disable()

        endpoint = PipelineEndpoint.publish(
            env["ws"],
            name="notifying-endpoint",
            description="notices",
            pipeline=env["published"],
            notification_url=receiver.url,
        )
        answer = requests.post(
            endpoint.endpoint, json={"ExperimentName": "sched"}, timeout=30, headers={"x-functions-key": service.key}
        )
        wait_until(lambda: len(receiver.bodies) == 3, timeout=60, what="the endpoint run's notice")
        assert receiver.bodies[-1]["runId"] == answer.json()["Id"]
        assert "SECRET-SIGNATURE" not in service.host.output()  # the URL's secret is never logged
    finally:
        receiver.close()
