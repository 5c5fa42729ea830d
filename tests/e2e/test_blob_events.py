"""Blob-created events (issue 15) under funchost with Azurite: the Function App's ``blob_events`` queue trigger
(registered when ``DURABLEML_BLOB_EVENTS_QUEUE`` is set, as infra/ sets it) reads Event Grid-shaped messages from
the queue ``durableml-blob-events`` and makes the data-change schedules watching the blob look at once.

Here nothing but the test's messages stand for Event Grid (no Event Grid runs locally): each message is the
EventGridSchema event a storage account's system topic delivers, base64-encoded as Event Grid writes it to a
queue. With the setting present the schedule's own polling backs off (to once an hour), so a run that starts
within seconds of an event was started by the event; a duplicate event and an event for another folder start
nothing more.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from durableml.data.datapath import DataPath, DataPathComputeBinding
from durableml.pipeline.core import Pipeline, PipelineData, PipelineParameter, Schedule
from durableml.pipeline.steps import PythonScriptStep
from durableml.service.schedules import EVENTS_SETTING

from ._helpers import ensure_compute, seen, wait_until
from .conftest import Service, running_service

PROJECT = Path(__file__).resolve().parent / "projects" / "scheduled"
QUEUE = "durableml-blob-events"
TICK_DONE = "Executed 'Functions.schedule_tick'"
EVENT_DONE = "Executed 'Functions.blob_events'"


@pytest.fixture(scope="module")
def events_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(EVENTS_SETTING, QUEUE)
        with running_service(None, tmp_path_factory.mktemp("events")) as svc:
            yield svc


def blob_created(svc: Service, container: str, name: str, etag: str = "0x8D000000000000") -> str:
    """One Event Grid (EventGridSchema) Microsoft.Storage.BlobCreated event for blob ``name``, base64 as queued."""
    event = {
        "topic": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
        "Microsoft.Storage/storageAccounts/devstoreaccount1",
        "subject": f"/blobServices/default/containers/{container}/blobs/{name}",
        "eventType": "Microsoft.Storage.BlobCreated",
        "id": str(uuid.uuid4()),
        "data": {
            "api": "PutBlob",
            "contentType": "text/csv",
            "contentLength": 10,
            "blobType": "BlockBlob",
            "eTag": etag,
            "url": f"http://127.0.0.1:{svc.azurite.blob_port}/devstoreaccount1/{container}/{name}",
            "sequencer": "0000000000000000000000000000000000000000000000000000000000000000",
        },
        "dataVersion": "",
        "metadataVersion": "1",
        "eventTime": "2026-12-06T00:00:00.0000000Z",
    }
    return base64.b64encode(json.dumps(event).encode()).decode()


def send(svc: Service, *messages: str) -> None:
    from azure.storage.queue import QueueClient

    with QueueClient.from_connection_string(svc.azurite.connection_string, QUEUE) as queue:
        for message in messages:
            queue.send_message(message)


def test_events_fire_a_data_change_schedule_once_and_polling_backs_off(events_service: Service, tmp_path: Path) -> None:
    svc = events_service
    ws = svc.workspace()
    store = ws.get_default_datastore()
    (tmp_path / "default.txt").write_text("default")
    store.upload_files([str(tmp_path / "default.txt")], target_path="defaults", overwrite=True, show_progress=False)
    path = (
        PipelineParameter("input_path", default_value=DataPath(store, "defaults")),
        DataPathComputeBinding(mode="mount"),
    )
    out = PipelineData("seen_out", datastore=store)
    step = PythonScriptStep(
        script_name="seen_path.py", name="seen", source_directory=str(PROJECT), compute_target=ensure_compute(ws),
        arguments=["--path", path, "--value", "v", "--out", out], inputs=[path], outputs=[out], allow_reuse=False,
    )  # fmt: skip
    published = Pipeline(workspace=ws, steps=[step]).publish(name="on-events", version="1")
    folder = f"landing-{uuid.uuid4().hex[:6]}"
    schedule = Schedule.create(
        ws, name="on-events", pipeline_id=published.id, experiment_name="events", datastore=store,
        path_on_datastore=folder, polling_interval=0.05, data_path_parameter_name="input_path", debounce_seconds=4,
    )  # fmt: skip

    # two files arrive; without events nothing looks at the folder for an hour (polling backed off)
    for name, text in (("a.csv", "row a"), ("b.csv", "row b")):
        (tmp_path / name).write_text(text)
    store.upload_files(
        [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")], target_path=folder, overwrite=True, show_progress=False
    )
    ticks = svc.host.output().count(TICK_DONE) + 3
    wait_until(lambda: svc.host.output().count(TICK_DONE) >= ticks, timeout=60, what="3 ticks")
    assert schedule.get_pipeline_runs() == [], "polled although blob events arrive"

    # Event Grid's events for both, one delivered twice, and one for a folder nobody watches
    container = store.container_name
    send(
        svc,
        blob_created(svc, container, f"{folder}/a.csv"),
        blob_created(svc, container, f"{folder}/b.csv"),
        blob_created(svc, container, f"{folder}/a.csv"),
        blob_created(svc, container, f"elsewhere-{folder}/c.csv"),
        base64.b64encode(b"not json").decode(),
    )
    wait_until(lambda: len(schedule.get_pipeline_runs()) == 1, timeout=90, what="one run for the events")
    (run,) = schedule.get_pipeline_runs()
    trigger = json.loads(run.properties["durableml.trigger"])
    assert sorted(b["name"] for b in trigger["blobs"]) == [f"{folder}/a.csv", f"{folder}/b.csv"]  # debounced
    assert seen(run)["files"] == {"a.csv": "row a", "b.csv": "row b"}

    # every message was handled (none poisoned), and more events of the same blobs start nothing more
    assert svc.host.output().count(EVENT_DONE) >= 5
    send(svc, blob_created(svc, container, f"{folder}/b.csv"))
    done = svc.host.output().count(EVENT_DONE) + 1
    wait_until(lambda: svc.host.output().count(EVENT_DONE) >= done, timeout=60, what="the late duplicate handled")
    ticks = svc.host.output().count(TICK_DONE) + 3
    wait_until(lambda: svc.host.output().count(TICK_DONE) >= ticks, timeout=60, what="3 ticks")
    assert len(schedule.get_pipeline_runs()) == 1

    from azure.storage.queue import QueueClient

    with QueueClient.from_connection_string(svc.azurite.connection_string, f"{QUEUE}-poison") as poison:
        try:
            assert list(poison.peek_messages(max_messages=32)) == []
        except Exception as exc:  # the poison queue is only created when a message is moved there
            assert "QueueNotFound" in str(exc), exc

    # a new file with its event: a second run, for that file alone
    (tmp_path / "c.csv").write_text("row c")
    store.upload_files([str(tmp_path / "c.csv")], target_path=folder, overwrite=True, show_progress=False)
    send(svc, blob_created(svc, container, f"{folder}/c.csv"))
    wait_until(lambda: len(schedule.get_pipeline_runs()) == 2, timeout=90, what="a run for the new file")
    triggers = [json.loads(r.properties["durableml.trigger"]) for r in schedule.get_pipeline_runs()]
    causes = sorted([b["name"] for b in trigger["blobs"]] for trigger in triggers)
    assert causes == [[f"{folder}/a.csv", f"{folder}/b.csv"], [f"{folder}/c.csv"]], causes
