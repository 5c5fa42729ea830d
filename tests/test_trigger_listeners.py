"""Timer, blob and queue trigger listeners and blob/queue bindings, against a real Azurite.

The listeners run in-process over a real ``funchost.invoke.Invoker`` and the app in
``tests/apps/triggers_app``; the assertions look at what the functions saw and at storage.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any


import pytest

from funchost.bindings import StorageBindings, expand_expression
from funchost.config import HostConfig
from funchost.errors import ConfigError
from funchost.functions import FunctionIndex, load_app
from funchost.invoke import Invoker
from funchost.storage import Connections, host_id
from funchost.triggers import blob as blob_trigger
from funchost.triggers import BlobTriggerListener, Listener, QueueTriggerListener, TimerTriggerListener
from funchost.triggers.ncrontab import parse_schedule
from funchost.triggers.timer import format_time, parse_time
from tests._azurite_fixture import Storage, message_count, queue, run_azurite, upload, wait_until

APP_DIR = Path(__file__).resolve().parent / "apps" / "triggers_app"
LOG = logging.getLogger("funchost.test.triggers")


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storage]:
    yield from run_azurite(tmp_path_factory.mktemp("azurite-triggers"))


@pytest.fixture(scope="module")
def app() -> tuple[FunctionIndex, dict[str, list[dict[str, Any]]]]:
    index = load_app(APP_DIR)
    return index, sys.modules["function_app"].EVENTS


class Host:
    """Config, connections, bindings and an invoker, as funchost wires them, for one test."""

    def __init__(self, storage: Storage, index: FunctionIndex, state_dir: Path, host_json: dict[str, Any]) -> None:
        self.storage = storage
        self.index = index
        self.config = HostConfig(app_dir=APP_DIR, state_dir=state_dir, host_json=host_json)
        self.connections = Connections({"AzureWebJobsStorage": storage.connection_string})
        self.invoker = Invoker(str(APP_DIR), StorageBindings(self.connections, self.config), lambda b: "{}", 8)
        self.host_id = host_id(self.config)

    def listener(self, cls: type[Listener], *names: str) -> Listener:
        functions = [f for f in self.index.functions if f.name in names]
        return cls(self.config, functions, self.invoker, self.connections, LOG)

    def close(self) -> None:
        self.connections.close()
        self.invoker.executor.shutdown(wait=True)


@pytest.fixture
def host(
    storage: Storage, app: tuple[FunctionIndex, dict[str, list[Any]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Host]:
    monkeypatch.setenv("FUNCHOST_BLOB_POLL_SECONDS", "0.1")
    monkeypatch.setenv("FUNCHOST_TIMER_LOCK_RETRY_SECONDS", "0.2")
    app[1].clear()
    h = Host(storage, app[0], tmp_path, {"version": "2.0", "extensions": {"queues": {"maxPollingInterval": 200}}})
    try:
        yield h
    finally:
        h.close()


def events(host: Host, name: str) -> list[dict[str, Any]]:
    return list(sys.modules["function_app"].EVENTS[name])


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# ------------------------------------------------------------------ connections and expressions


def test_missing_connection_setting_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="'MyStorage'.*local.settings.json"):
        Connections({}).blob_service("MyStorage")


def test_connection_resolution() -> None:
    conns = Connections(
        {
            "AzureWebJobsOther": "UseDevelopmentStorage=true",
            "Ident__blobServiceUri": "https://acct.blob.core.windows.net",
            "Ident__queueServiceUri": "https://acct.queue.core.windows.net",
        }
    )
    assert conns.describe("Other") == "Other -> http://127.0.0.1:10000/devstoreaccount1"
    assert conns.describe("Other", "queue") == "Other -> http://127.0.0.1:10001/devstoreaccount1"
    assert conns.describe("Ident", "queue") == "Ident -> https://acct.queue.core.windows.net"


def test_binding_expressions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUT_CONTAINER", "results")
    path = expand_expression("%OUT_CONTAINER%/{Name}/{a.b}-{DateTime}-{rand-guid}", {"name": "x.csv", "a": {"B": 7}})
    prefix, stamp, guid = path[: len("results/x.csv/7-")], path[16:36], path[37:]
    assert prefix == "results/x.csv/7-"
    assert datetime.strptime(stamp, "%Y-%m-%dT%H-%M-%SZ")
    assert len(guid) == 36 and guid.count("-") == 4
    with pytest.raises(ConfigError, match=r"\{missing\}"):
        expand_expression("c/{missing}", {"name": "x"})


# ------------------------------------------------------------------ timer


def test_timer_fires_every_second_and_stops(host: Host) -> None:
    async def scenario() -> None:
        listener = host.listener(TimerTriggerListener, "every_second")
        await listener.start()
        await wait_until(lambda: len(events(host, "every_second")) >= 2, timeout=5, what="two ticks")
        await listener.stop()
        seen = events(host, "every_second")
        await asyncio.sleep(1.2)
        assert events(host, "every_second") == seen
        assert all(e["past_due"] is False and e["status"] == {} for e in seen)
        assert 0.7 < seen[1]["at"] - seen[0]["at"] < 1.3

    run(scenario())


def test_timer_singleton_one_invocation_per_occurrence(host: Host) -> None:
    async def scenario() -> None:
        first = host.listener(TimerTriggerListener, "every_second")
        second = host.listener(TimerTriggerListener, "every_second")
        await first.start()
        await asyncio.sleep(0.3)
        await second.start()
        await asyncio.sleep(3.2)
        ticks = [round(e["at"]) for e in events(host, "every_second")]
        assert 2 <= len(ticks) <= 5 and len(set(ticks)) == len(ticks), ticks
        lock = host.storage.blob.get_blob_client(
            "azure-webjobs-hosts", f"locks/{host.host_id}/Host.Functions.every_second.Listener"
        )
        assert lock.get_blob_properties().lease.state == "leased"
        await first.stop()  # the other host takes over
        before = len(events(host, "every_second"))
        await wait_until(lambda: len(events(host, "every_second")) >= before + 2, timeout=5, what="takeover")
        await second.stop()
        ticks = [round(e["at"]) for e in events(host, "every_second")]
        assert len(set(ticks)) == len(ticks), ticks

    run(scenario())


def _status_blob(host: Host, name: str) -> Any:
    return host.storage.blob.get_blob_client(
        "azure-webjobs-hosts", f"timers/{host.host_id}/Host.Functions.{name}/status"
    )


def _write_status(host: Host, name: str, status: dict[str, str]) -> None:
    try:
        host.storage.blob.create_container("azure-webjobs-hosts")
    except Exception:
        pass
    _status_blob(host, name).upload_blob(json.dumps(status), overwrite=True)


def test_timer_past_due_after_downtime(host: Host) -> None:
    schedule = parse_schedule("0 0 3 * * *")
    now = datetime.now(timezone.utc)
    last = schedule.next_after(now - timedelta(days=3))
    missed = schedule.next_after(last)
    _write_status(
        host, "nightly", {"Last": format_time(last), "Next": format_time(missed), "LastUpdated": format_time(last)}
    )

    async def scenario() -> None:
        listener = host.listener(TimerTriggerListener, "nightly")
        await listener.start()
        await wait_until(lambda: len(events(host, "nightly")) >= 1, timeout=5, what="past-due run")
        await asyncio.sleep(0.5)
        await listener.stop()

    run(scenario())
    seen = events(host, "nightly")
    assert len(seen) == 1
    assert seen[0]["past_due"] is True
    assert seen[0]["schedule"] == {"AdjustForDST": True}
    assert parse_time(seen[0]["status"]["Next"]) == missed
    status = json.loads(_status_blob(host, "nightly").download_blob().readall())
    assert parse_time(status["Next"]) == schedule.next_after(parse_time(status["Last"]))
    assert parse_time(status["Next"]) > datetime.now(timezone.utc)


def test_timer_schedule_change_is_not_past_due(host: Host) -> None:
    _write_status(
        host,
        "nightly",
        {
            "Last": "2020-01-01T03:00:00+00:00",
            "Next": "2020-01-01T05:00:00+00:00",
            "LastUpdated": "2020-01-01T03:00:00+00:00",
        },
    )

    async def scenario() -> None:
        listener = host.listener(TimerTriggerListener, "nightly")
        await listener.start()
        await asyncio.sleep(1.0)
        await listener.stop()

    run(scenario())
    assert events(host, "nightly") == []
    status = json.loads(_status_blob(host, "nightly").download_blob().readall())
    assert status["Last"] == "0001-01-01T00:00:00"
    assert parse_time(status["Next"]) == parse_schedule("0 0 3 * * *").next_after(parse_time(status["LastUpdated"]))


def test_timer_run_on_startup_with_app_setting_schedule(host: Host, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIGGERS_TEST_SCHEDULE", "0 0 0 1 1 *")

    async def scenario() -> None:
        listener = host.listener(TimerTriggerListener, "yearly")
        await listener.start()
        await wait_until(lambda: len(events(host, "yearly")) >= 1, timeout=5, what="startup run")
        await asyncio.sleep(0.3)
        await listener.stop()

    run(scenario())
    assert [e["past_due"] for e in events(host, "yearly")] == [False]
    status = json.loads(_status_blob(host, "yearly").download_blob().readall())
    assert parse_time(status["Next"]).strftime("%m-%d %H:%M:%S") == "01-01 00:00:00"


def test_timer_bad_schedule_fails_start(host: Host, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIGGERS_TEST_SCHEDULE", "0 0 25 * * *")
    listener = host.listener(TimerTriggerListener, "yearly")
    with pytest.raises(ConfigError, match="hour field '25'"):
        run(listener.start())


# ------------------------------------------------------------------ blob trigger


def _receipt(host: Host, etag: str, container: str, name: str, fn: str = "copy_blob") -> Any:
    tail = f"{etag.strip(chr(34))}/{container}/{name}"
    return host.storage.blob.get_blob_client(
        "azure-webjobs-hosts", f"blobreceipts/{host.host_id}/Host.Functions.{fn}/{tail}"
    )


def test_blob_trigger_once_per_version_receipts_and_output(host: Host) -> None:
    async def scenario() -> None:
        listener = host.listener(BlobTriggerListener, "copy_blob")
        await listener.start()
        etag1 = upload(host.storage, "tin", "dir/a.txt", b"hello", metadata={"k": "v"})
        await wait_until(lambda: len(events(host, "copy_blob")) == 1, what="first version")
        await asyncio.sleep(0.6)  # several more scans: no second invocation for the same version
        assert len(events(host, "copy_blob")) == 1
        first = events(host, "copy_blob")[0]
        assert (first["name"], first["data"], first["length"], first["metadata"]) == (
            "tin/dir/a.txt",
            b"hello",
            5,
            {"k": "v"},
        )
        assert first["uri"].endswith("/tin/dir/a.txt") and first["etag"] == etag1
        copy = host.storage.blob.get_blob_client("tout", "dir/a.txt.copy")
        assert copy.download_blob().readall() == b"hello"
        assert "Incomplete" not in _receipt(host, etag1, "tin", "dir/a.txt").get_blob_properties().metadata

        etag2 = upload(host.storage, "tin", "dir/a.txt", b"hello again")
        await wait_until(lambda: len(events(host, "copy_blob")) == 2, what="changed version")
        await wait_until(lambda: copy.download_blob().readall() == b"hello again", what="second copy")
        receipt2 = _receipt(host, etag2, "tin", "dir/a.txt")
        await wait_until(
            lambda: receipt2.exists() and receipt2.get_blob_properties().lease.state == "available",
            what="second receipt completed and released",
        )
        assert "Incomplete" not in receipt2.get_blob_properties().metadata

        receipt2.delete_blob()  # forces reprocessing
        await wait_until(lambda: len(events(host, "copy_blob")) == 3, what="reprocessing")
        await listener.stop()

    run(scenario())


def test_blob_trigger_poison_after_five_tries(host: Host) -> None:
    async def scenario() -> None:
        listener = host.listener(BlobTriggerListener, "copy_blob")
        await listener.start()
        etag = upload(host.storage, "tin", "bad.txt", b"fail please")
        poison = host.storage.queue.get_queue_client("webjobs-blobtrigger-poison")
        await wait_until(lambda: message_count(poison) >= 1, what="poison message")
        await asyncio.sleep(0.6)
        await listener.stop()
        tries = [e for e in events(host, "copy_blob") if e["name"] == "tin/bad.txt"]
        assert len(tries) == 5
        [message] = list(poison.receive_messages())
        assert json.loads(base64.b64decode(message.content)) == {
            "Type": "BlobTrigger",
            "FunctionId": "Host.Functions.copy_blob",
            "BlobType": "BlockBlob",
            "ContainerName": "tin",
            "BlobName": "bad.txt",
            "ETag": etag.strip('"'),
        }
        assert "Incomplete" not in _receipt(host, etag, "tin", "bad.txt").get_blob_properties().metadata
        assert not host.storage.blob.get_blob_client("tout", "bad.txt.copy").exists()

    run(scenario())


def test_blob_scan_pages_and_bounded_parallelism(host: Host, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blob_trigger, "SCAN_PAGE_SIZE", 4)
    host.config.host_json["extensions"]["blobs"] = {"maxDegreeOfParallelism": 2}
    names = [f"page/p{i:02d}.txt" for i in range(13)]

    async def scenario() -> None:
        for name in names:
            upload(host.storage, "tin", name, b"slow " + name.encode())
        listener = host.listener(BlobTriggerListener, "copy_blob")
        await listener.start()
        await wait_until(
            lambda: len([e for e in events(host, "copy_blob") if "/page/" in e["name"]]) >= 13, what="all pages"
        )
        await asyncio.sleep(0.5)
        await listener.stop()

    run(scenario())
    seen = [e for e in events(host, "copy_blob") if "/page/" in e["name"]]
    assert sorted(e["name"] for e in seen) == [f"tin/{n}" for n in names]
    assert max(e["active"] for e in seen) == 2


def test_blob_trigger_path_captures_and_queue_output_expression(host: Host) -> None:
    async def scenario() -> None:
        listener = host.listener(BlobTriggerListener, "csv_blob")
        await listener.start()
        upload(host.storage, "tcsv", "readme.txt", b"not a csv")
        upload(host.storage, "tcsv", "2024/data.csv", b"a,b\n1,2\n")
        out = host.storage.queue.get_queue_client("tcsv-2024")
        await wait_until(lambda: len(events(host, "csv_blob")) == 1, what="csv blob")
        await wait_until(lambda: message_count(out) == 1, what="queue output")
        await asyncio.sleep(0.3)
        await listener.stop()
        assert [e["name"] for e in events(host, "csv_blob")] == ["tcsv/2024/data.csv"]
        [message] = list(out.receive_messages())
        assert json.loads(base64.b64decode(message.content)) == {"blob": "tcsv/2024/data.csv", "size": 8}

    run(scenario())


# ------------------------------------------------------------------ queue trigger


def test_queue_trigger_happy_path_and_output(host: Host) -> None:
    async def scenario() -> None:
        source, out = queue(host.storage, "tqueue"), queue(host.storage, "tq-out")
        listener = host.listener(QueueTriggerListener, "on_queue")
        await listener.start()
        source.send_message(b64("hello"))
        await wait_until(lambda: message_count(out) == 1, what="output")
        await wait_until(lambda: source.get_queue_properties().approximate_message_count == 0, what="delete")
        await listener.stop()
        [seen] = events(host, "on_queue")
        assert (seen["body"], seen["dequeue_count"]) == ("hello", 1)
        assert seen["id"] and seen["pop_receipt"] and isinstance(seen["inserted"], datetime)
        [message] = list(out.receive_messages())
        assert base64.b64decode(message.content) == b"HELLO"

    run(scenario())


def test_queue_trigger_poison_after_five_dequeues(host: Host) -> None:
    async def scenario() -> None:
        source, poison = queue(host.storage, "tqueue"), host.storage.queue.get_queue_client("tqueue-poison")
        listener = host.listener(QueueTriggerListener, "on_queue")
        await listener.start()
        source.send_message(b64("fail me"))
        await wait_until(lambda: message_count(poison) == 1, what="poison message")
        await asyncio.sleep(0.3)
        await listener.stop()
        assert [e["dequeue_count"] for e in events(host, "on_queue")] == [1, 2, 3, 4, 5]
        assert source.get_queue_properties().approximate_message_count == 0
        [message] = list(poison.receive_messages())
        assert message.content == b64("fail me")

    run(scenario())


def test_queue_json_message_drives_blob_input_and_return_output(host: Host) -> None:
    async def scenario() -> None:
        upload(host.storage, "tsrc", "x.txt", b"abc")
        source = queue(host.storage, "tq-json")
        listener = host.listener(QueueTriggerListener, "json_queue")
        await listener.start()
        source.send_message(b64(json.dumps({"file": "x.txt"})))
        dst = host.storage.blob.get_container_client("tdst")
        await wait_until(lambda: dst.exists() and len(list(dst.list_blobs())) == 1, what="blob output")
        await listener.stop()
        [blob] = list(dst.list_blobs())
        assert blob.name.startswith("x.txt-") and len(blob.name) == len("x.txt-") + 36
        assert dst.download_blob(blob.name).readall() == b"ABC"
        assert events(host, "json_queue")[0]["src"] == "abc"

    run(scenario())


def test_queue_message_encoding_none(host: Host) -> None:
    host.config.host_json["extensions"]["queues"]["messageEncoding"] = "none"
    bindings = StorageBindings(host.connections, host.config)
    host.invoker.bindings = bindings

    async def scenario() -> None:
        source, out = queue(host.storage, "tqueue"), queue(host.storage, "tq-out")
        out.clear_messages()
        listener = host.listener(QueueTriggerListener, "on_queue")
        await listener.start()
        source.send_message("plain text")
        await wait_until(lambda: message_count(out) == 1, what="output")
        await listener.stop()
        assert [e["body"] for e in events(host, "on_queue")] == ["plain text"]
        assert [m.content for m in out.receive_messages()] == ["PLAIN TEXT"]

    run(scenario())
