"""End-to-end conformance of funchost's storage triggers, through a real ``python -m funchost start``.

tests/test_trigger_listeners.py drives the listeners in-process; these tests run the app in
``tests/apps/funchost_triggers_app`` the way a user does (a funchost process on the session Azurite)
and check what a user would see: what the functions were called with (each invocation writes a
record file under a temp dir, see the app's ``record``), and what lands in storage (output blobs and
messages, blob receipts and timer status blobs in ``azure-webjobs-hosts``, poison queues).

Every host gets its own host id (``AzureFunctionsWebHost__hostid``), events dir and container/queue
names (app settings used as ``%E2E_...%`` in the app), so hosts never see each other's work unless a
test wants them to (the timer singleton test). Polling is made fast for the tests through
``FUNCHOST_BLOB_POLL_SECONDS`` / ``FUNCHOST_TIMER_LOCK_RETRY_SECONDS`` and host.json
``extensions.queues.maxPollingInterval``.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient, QueueServiceClient

from funchost.azurite import AzuriteHandle

APP_DIR = Path(__file__).resolve().parent / "apps" / "funchost_triggers_app"
HOSTS = "azure-webjobs-hosts"
BLOB_POISON_QUEUE = "webjobs-blobtrigger-poison"
STARTUP_SCHEDULE = "0 30 4 15 6 *"  # June 15th, 04:30:00 UTC: never due while the tests run
DEFAULT_TIME = "0001-01-01T00:00:00"
FAST = {"FUNCHOST_BLOB_POLL_SECONDS": "0.2", "FUNCHOST_TIMER_LOCK_RETRY_SECONDS": "0.3"}


# ------------------------------------------------------------------ helpers


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def unb64(text: str) -> str:
    return base64.b64decode(text).decode("utf-8")


def parse_time(text: str) -> datetime:
    """A ScheduleStatus time ('Z' or an offset, up to 7 fraction digits) as aware UTC."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def next_yearly(after: datetime, month: int, day: int, hour: int, minute: int) -> datetime:
    """The first ``month/day hour:minute:00`` UTC strictly after ``after``."""
    candidate = datetime(after.year, month, day, hour, minute, tzinfo=timezone.utc)
    return candidate if candidate > after else candidate.replace(year=after.year + 1)


def wait_for(
    condition: Callable[[], Any], what: str, timeout: float = 10.0, hosts: tuple[FunctionHost, ...] = ()
) -> Any:
    """Poll ``condition`` until it returns something truthy (returned); fail with host output if not."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- funchost output ({h.tag}):\n{h.proc.output()[-6000:]}" for h in hosts)
            pytest.fail(f"timed out after {timeout} s waiting for {what}\n{logs}")
        time.sleep(0.05)


def http(method: str, url: str, key: str, body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers={"x-functions-key": key})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


@dataclass
class FunctionHost:
    """A running funchost on the test app, with its names, settings and events dir."""

    tag: str
    host_id: str
    events_dir: Path
    settings: dict[str, str]
    proc: Any  # tests.conftest.FunchostProcess

    def events(self, function: str) -> list[dict[str, Any]]:
        """Every recorded invocation of ``function`` so far, oldest first."""
        folder = self.events_dir / function
        if not folder.is_dir():
            return []
        found = [json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")]
        return sorted(found, key=lambda e: e["at"])

    def wait_events(
        self,
        function: str,
        count: int,
        what: str = "",
        timeout: float = 10.0,
        where: Callable[[dict[str, Any]], bool] = lambda e: True,
    ) -> list[dict[str, Any]]:
        def enough() -> list[dict[str, Any]] | None:
            seen = [e for e in self.events(function) if where(e)]
            return seen if len(seen) >= count else None

        return list(wait_for(enough, what or f"{count} invocation(s) of {function}", timeout, (self,)))

    def setting(self, name: str) -> str:
        return self.settings[name]

    def url(self, path: str) -> str:
        return f"{self.proc.base_url}/api/{path.lstrip('/')}"

    @property
    def function_key(self) -> str:
        return str(self.proc.keys["functionKeys"]["default"])


def unique_tag(role: str) -> str:
    return f"e2e-{role}-{uuid.uuid4().hex[:8]}"


def app_settings(tag: str, events_dir: Path, host_id: str | None) -> dict[str, str]:
    settings = {
        "E2E_EVENTS_DIR": str(events_dir),
        "E2E_STARTUP_SCHEDULE": STARTUP_SCHEDULE,
        "E2E_BLOB_IN": f"{tag}-in",
        "E2E_BLOB_OUT": f"{tag}-out",
        "E2E_POISON_IN": f"{tag}-bad",
        "E2E_QUEUE": f"{tag}-q",
        "E2E_HTTP_QUEUE": f"{tag}-httpq",
        "E2E_HTTP_BLOBS": f"{tag}-http",
        **FAST,
    }
    # An empty value falls through to funchost's next source (host.json id, WEBSITE_SITE_NAME, folder).
    settings["AzureFunctionsWebHost__hostid"] = host_id or ""
    if host_id is None:
        settings["WEBSITE_SITE_NAME"] = ""
    return settings


@pytest.fixture(scope="module")
def blob_service(azurite: AzuriteHandle) -> Iterator[BlobServiceClient]:
    client = BlobServiceClient.from_connection_string(azurite.connection_string)
    with client:
        yield client


@pytest.fixture(scope="module")
def queue_service(azurite: AzuriteHandle) -> Iterator[QueueServiceClient]:
    client = QueueServiceClient.from_connection_string(azurite.connection_string)
    with client:
        yield client


@pytest.fixture(scope="module")
def start_host(
    funchost_process: Callable[..., Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., FunctionHost]]:
    """Factory: ``start_host(role, host_id=..., events_dir=..., app_dir=...)`` → a running FunctionHost.

    ``host_id=None`` leaves funchost to derive the host id itself; the default is a fresh unique id.
    Hosts started here are stopped when the module ends (or earlier by the test).
    """
    started: list[FunctionHost] = []

    def factory(
        role: str,
        *,
        host_id: str | None | bool = True,
        events_dir: Path | None = None,
        app_dir: Path = APP_DIR,
        tag: str | None = None,
    ) -> FunctionHost:
        tag = tag or unique_tag(role)
        resolved_id = tag if host_id is True else (host_id or None)
        events = events_dir or tmp_path_factory.mktemp(f"events-{role}")
        settings = app_settings(tag, events, resolved_id)  # type: ignore[arg-type]
        proc = funchost_process(app_dir, env=settings)
        host = FunctionHost(tag, resolved_id or "", events, settings, proc)
        started.append(host)
        return host

    yield factory
    for host in started:
        host.proc.stop()


@pytest.fixture(scope="module")
def main_host(start_host: Callable[..., FunctionHost]) -> FunctionHost:
    """One host shared by the tests that never restart it (each works on names of its own)."""
    return start_host("main")


def peek_all(client: QueueClient) -> list[Any]:
    try:
        return list(client.peek_messages(max_messages=32))
    except ResourceNotFoundError:
        return []


def message_count(client: QueueClient) -> int:
    try:
        return int(client.get_queue_properties().approximate_message_count or 0)
    except ResourceNotFoundError:
        return 0


def make_queue(queue_service: QueueServiceClient, name: str) -> QueueClient:
    client = queue_service.get_queue_client(name)
    try:
        client.create_queue()
    except ResourceExistsError:
        pass
    return client


def upload(blob_service: BlobServiceClient, container: str, name: str, data: bytes) -> str:
    """Upload (creating the container); the new version's ETag, without quotes."""
    try:
        blob_service.create_container(container)
    except ResourceExistsError:
        pass
    result = blob_service.get_blob_client(container, name).upload_blob(data, overwrite=True)
    return str(result["etag"]).strip('"')


def status_blob(blob_service: BlobServiceClient, host_id: str, function: str) -> Any:
    return blob_service.get_blob_client(HOSTS, f"timers/{host_id}/Host.Functions.{function}/status")


def read_status(blob_service: BlobServiceClient, host_id: str, function: str) -> dict[str, str] | None:
    try:
        return dict(json.loads(status_blob(blob_service, host_id, function).download_blob().readall()))
    except ResourceNotFoundError:
        return None


_FIRED = re.compile(r"Executing 'Functions\.(\w+)' \(Reason='Timer fired at ([^' ]+)")


def fired_occurrences(output: str, function: str) -> list[str]:
    """The scheduled times of ``function`` in a funchost log ('Timer fired at <time>' reasons)."""
    return [m.group(2) for m in _FIRED.finditer(output) if m.group(1) == function]


# ------------------------------------------------------------------ timer trigger


def test_timer_fires_every_second(main_host: FunctionHost) -> None:
    ticks = main_host.wait_events("tick", 4, "four ticks of the */1 timer", timeout=8)
    assert all(t["past_due"] is False for t in ticks), ticks
    # Under a minute apart: not monitored, so no schedule status, as the Functions host does.
    assert all(t["status"] == {} for t in ticks), ticks
    assert all(t["schedule"] == {"AdjustForDST": True} for t in ticks), ticks
    gaps = [b["at"] - a["at"] for a, b in zip(ticks, ticks[1:], strict=False)]
    assert all(0.5 < gap < 1.5 for gap in gaps), gaps
    seconds = [int(t["at"]) for t in ticks]
    assert len(set(seconds)) == len(seconds), seconds
    # Each run starts right after a whole second, where the schedule put it.
    assert all(t["at"] - int(t["at"]) < 0.5 for t in ticks), [t["at"] for t in ticks]


def test_timer_run_on_startup_with_app_setting_schedule(
    main_host: FunctionHost, blob_service: BlobServiceClient
) -> None:
    [run] = main_host.wait_events("on_startup", 1, "the runOnStartup invocation")
    assert run["past_due"] is False
    expected_next = next_yearly(datetime.fromtimestamp(run["at"], timezone.utc), 6, 15, 4, 30)
    # The schedule came from %E2E_STARTUP_SCHEDULE% ("0 30 4 15 6 *"): the status the function was
    # given and the status blob written after it both point at the next June 15th, 04:30:00 UTC.
    assert parse_time(run["status"]["Next"]) == expected_next, run["status"]
    assert run["status"]["Last"].startswith("0001-01-01"), run["status"]
    status = wait_for(
        lambda: read_status(blob_service, main_host.host_id, "on_startup"),
        "the on_startup status blob",
        hosts=(main_host,),
    )
    assert parse_time(status["Next"]) == expected_next, status
    assert abs(parse_time(status["Last"]).timestamp() - run["at"]) < 2, status
    time.sleep(1.2)
    assert len(main_host.events("on_startup")) == 1, "runOnStartup must run once per host start"


def test_timer_monitor_status_written_at_first_start(main_host: FunctionHost, blob_service: BlobServiceClient) -> None:
    """The Functions host records the first status at start (ScheduleMonitor.CheckPastDueAsync with no
    status: Last default, Next = next occurrence, LastUpdated = now), "ensuring we don't miss an
    occurrence". Without it, a monitored timer whose first occurrence falls while the host is down is
    never run past due: the next start finds no status and just waits for the following occurrence."""
    status = wait_for(
        lambda: read_status(blob_service, main_host.host_id, "new_year"),
        "the new_year status blob written at start",
        timeout=4,
        hosts=(main_host,),
    )
    assert status["Last"].startswith("0001-01-01"), status
    assert parse_time(status["Next"]) == next_yearly(datetime.now(timezone.utc), 1, 1, 0, 0), status
    assert main_host.events("new_year") == []


def test_timer_past_due_runs_once_at_start(
    start_host: Callable[..., FunctionHost], blob_service: BlobServiceClient
) -> None:
    # No host id setting: funchost derives it from the app folder's name, sanitized like the host.
    host_id = "funchost-triggers-app"
    last = datetime(2020, 1, 1, tzinfo=timezone.utc)
    missed = datetime(2021, 1, 1, tzinfo=timezone.utc)  # what "0 0 0 1 1 *" gives after `last`
    try:
        blob_service.create_container(HOSTS)
    except ResourceExistsError:
        pass
    status_blob(blob_service, host_id, "new_year").upload_blob(
        json.dumps(
            {
                "Last": "2020-01-01T00:00:00+00:00",
                "Next": "2021-01-01T00:00:00+00:00",
                "LastUpdated": "2020-01-01T00:00:00+00:00",
            }
        ),
        overwrite=True,
    )

    host = start_host("pastdue", host_id=None)
    [run] = host.wait_events("new_year", 1, "the past-due invocation at start")
    assert run["past_due"] is True
    assert parse_time(run["status"]["Next"]) == missed, run["status"]
    assert parse_time(run["status"]["Last"]) == last, run["status"]
    assert run["schedule"] == {"AdjustForDST": True}
    status = wait_for(
        lambda: (s := read_status(blob_service, host_id, "new_year")) and parse_time(s["Next"]) > missed and s,
        "the status blob after the past-due run",
        hosts=(host,),
    )
    assert parse_time(status["Next"]) == next_yearly(datetime.now(timezone.utc), 1, 1, 0, 0), status
    assert abs(parse_time(status["Last"]).timestamp() - run["at"]) < 2, status
    time.sleep(1.0)
    assert len(host.events("new_year")) == 1, "a past-due timer runs exactly once"

    # After a restart nothing is past due any more (runOnStartup shows the timers did start again).
    host.proc.restart()
    host.wait_events("on_startup", 2, "runOnStartup after the restart")
    time.sleep(1.0)
    assert len(host.events("new_year")) == 1, host.events("new_year")


def test_timer_singleton_across_two_hosts(start_host: Callable[..., FunctionHost], tmp_path: Path) -> None:
    """Two hosts, same app, storage and host id: each occurrence of the */1 timer runs once in total."""
    events = tmp_path / "events"
    tag = unique_tag("single")
    first = start_host("single-a", tag=tag, events_dir=events)
    first.wait_events("tick", 1, "the first host's timer")
    second = start_host("single-b", tag=tag, events_dir=events)
    both_up = time.time()
    first.wait_events("tick", 5, "ticks while both hosts run", where=lambda e: e["at"] > both_up)
    handover = time.time()  # before stop(): a graceful stop releases the locks before the process exits
    first.proc.stop()  # releases the lock: the other host takes over
    second.wait_events(
        "tick",
        3,
        "ticks from the second host after the first stopped",
        where=lambda e: e["pid"] == second.proc.pid and e["at"] > handover,
    )
    second.proc.stop()

    ticks = first.events("tick")
    per_second = Counter(int(t["at"]) for t in ticks)
    doubles = {second_: n for second_, n in per_second.items() if n > 1}
    assert not doubles, f"occurrences run more than once: {doubles}"
    while_both = {t["pid"] for t in ticks if both_up < t["at"] < handover}
    assert while_both == {first.proc.pid}, f"ticks while both hosts ran came from pids {while_both}"
    # The scheduled times in both hosts' logs: every occurrence fired by exactly one host.
    fired = fired_occurrences(first.proc.output(), "tick") + fired_occurrences(second.proc.output(), "tick")
    repeated = [when for when, n in Counter(fired).items() if n > 1]
    assert not repeated, f"occurrences fired by both hosts: {repeated}"
    # runOnStartup: once by the first host; the second only ran it when it took the lock over.
    starts = first.events("on_startup")
    assert [s["pid"] for s in starts] == [first.proc.pid, second.proc.pid], starts
    assert starts[1]["at"] > handover


# ------------------------------------------------------------------ blob trigger


def completed_receipts(blob_service: BlobServiceClient, host: FunctionHost, function: str, blob_path: str) -> list[Any]:
    prefix = f"blobreceipts/{host.host_id}/Host.Functions.{function}/"
    found = blob_service.get_container_client(HOSTS).list_blobs(name_starts_with=prefix, include=["metadata"])
    return [
        b
        for b in found
        if b.name.endswith("/" + blob_path) and not any(k.lower() == "incomplete" for k in (b.metadata or {}))
    ]


def test_blob_trigger_once_per_version_with_output_and_receipts(
    start_host: Callable[..., FunctionHost], blob_service: BlobServiceClient
) -> None:
    host = start_host("blob")
    src, dst = host.setting("E2E_BLOB_IN"), host.setting("E2E_BLOB_OUT")

    def of_a(event: dict[str, Any]) -> bool:
        return bool(event["name"] == f"{src}/a.txt")

    etag1 = upload(blob_service, src, "a.txt", b"hello")
    [first] = host.wait_events("copy_blob", 1, "the new blob", where=of_a)
    assert (first["name"], first["content"], first["length"]) == (f"{src}/a.txt", "hello", 5)
    assert first["etag"].strip('"') == etag1
    copy = blob_service.get_blob_client(dst, "a.txt")
    wait_for(copy.exists, "the output blob out/{name}", hosts=(host,))
    assert copy.download_blob().readall() == b"copied:hello"
    time.sleep(1.0)  # five more scans
    assert len([e for e in host.events("copy_blob") if of_a(e)]) == 1

    etag2 = upload(blob_service, src, "a.txt", b"hello")  # same content, new ETag: a new version
    assert etag2 != etag1
    runs = host.wait_events("copy_blob", 2, "the re-uploaded blob", where=of_a)
    assert [r["content"] for r in runs] == ["hello", "hello"]
    assert runs[1]["etag"].strip('"') == etag2
    wait_for(
        lambda: len(completed_receipts(blob_service, host, "copy_blob", f"{src}/a.txt")) == 2,
        "two completed receipts for a.txt",
        hosts=(host,),
    )
    receipt_names = sorted(r.name for r in completed_receipts(blob_service, host, "copy_blob", f"{src}/a.txt"))
    assert receipt_names == sorted(
        f"blobreceipts/{host.host_id}/Host.Functions.copy_blob/{tag}/{src}/a.txt" for tag in (etag1, etag2)
    )

    # Receipts outlive the host: after a restart the unchanged blob is not processed again.
    host.proc.restart()
    upload(blob_service, src, "b.txt", b"after restart")
    host.wait_events("copy_blob", 1, "a new blob after the restart", where=lambda e: e["name"] == f"{src}/b.txt")
    time.sleep(0.6)
    assert len([e for e in host.events("copy_blob") if of_a(e)]) == 2, host.events("copy_blob")

    # Deleting the current version's receipt forces reprocessing.
    blob_service.get_blob_client(
        HOSTS, f"blobreceipts/{host.host_id}/Host.Functions.copy_blob/{etag2}/{src}/a.txt"
    ).delete_blob()
    host.wait_events("copy_blob", 3, "reprocessing after the receipt was deleted", where=of_a)


def poison_messages(queue_service: QueueServiceClient, container: str) -> list[dict[str, Any]]:
    found = []
    for message in peek_all(queue_service.get_queue_client(BLOB_POISON_QUEUE)):
        body = json.loads(unb64(message.content))
        if body.get("ContainerName") == container:
            found.append(body)
    return found


def test_blob_trigger_poison_after_five_tries(
    main_host: FunctionHost, blob_service: BlobServiceClient, queue_service: QueueServiceClient
) -> None:
    bad = main_host.setting("E2E_POISON_IN")
    etag = upload(blob_service, bad, "bad-1.txt", b"nope")
    tries = main_host.wait_events(
        "always_fails", 5, "five tries of the failing blob", where=lambda e: e["name"] == f"{bad}/bad-1.txt"
    )
    assert [t["content"] for t in tries] == ["nope"] * 5
    [message] = wait_for(lambda: poison_messages(queue_service, bad), "the blob poison message", hosts=(main_host,))
    assert set(message) == {"Type", "FunctionId", "BlobType", "ContainerName", "BlobName", "ETag"}, message
    assert message["ETag"].strip('"') == etag, message
    assert {k: v for k, v in message.items() if k != "ETag"} == {
        "Type": "BlobTrigger",
        "FunctionId": "Host.Functions.always_fails",
        "BlobType": "BlockBlob",
        "ContainerName": bad,
        "BlobName": "bad-1.txt",
    }
    time.sleep(1.0)
    assert len([e for e in main_host.events("always_fails") if e["name"] == f"{bad}/bad-1.txt"]) == 5
    assert len(poison_messages(queue_service, bad)) == 1

    # The trigger keeps working: a second bad blob gets its own five tries and poison message, and a
    # good blob elsewhere is processed as usual.
    upload(blob_service, bad, "dir/bad-2.txt", b"nope again")
    good = main_host.setting("E2E_BLOB_IN")
    upload(blob_service, good, "nested/dir/fine.txt", b"fine")
    main_host.wait_events("copy_blob", 1, "the good blob", where=lambda e: e["name"] == f"{good}/nested/dir/fine.txt")
    copy = blob_service.get_blob_client(main_host.setting("E2E_BLOB_OUT"), "nested/dir/fine.txt")
    wait_for(copy.exists, "the good blob's output", hosts=(main_host,))
    assert copy.download_blob().readall() == b"copied:fine"
    main_host.wait_events(
        "always_fails", 5, "five tries of the second bad blob", where=lambda e: e["name"] == f"{bad}/dir/bad-2.txt"
    )
    wait_for(lambda: len(poison_messages(queue_service, bad)) == 2, "the second poison message", hosts=(main_host,))
    assert sorted(m["BlobName"] for m in poison_messages(queue_service, bad)) == ["bad-1.txt", "dir/bad-2.txt"]


# ------------------------------------------------------------------ queue trigger


def test_queue_message_processed_once_and_deleted(main_host: FunctionHost, queue_service: QueueServiceClient) -> None:
    source = make_queue(queue_service, main_host.setting("E2E_QUEUE"))
    body = f"hello {uuid.uuid4().hex}"
    sent = source.send_message(b64(body))
    [seen] = main_host.wait_events("on_queue", 1, "the queue message", where=lambda e: e["body"] == body)
    assert (seen["id"], seen["dequeue_count"]) == (sent.id, 1)
    wait_for(
        lambda: not peek_all(source) and message_count(source) == 0, "the message to be deleted", hosts=(main_host,)
    )
    time.sleep(0.8)
    assert len([e for e in main_host.events("on_queue") if e["body"] == body]) == 1


def test_queue_poison_after_five_dequeues(main_host: FunctionHost, queue_service: QueueServiceClient) -> None:
    name = main_host.setting("E2E_QUEUE")
    source, poison = make_queue(queue_service, name), queue_service.get_queue_client(f"{name}-poison")
    body = f"fail {uuid.uuid4().hex}"
    sent = source.send_message(b64(body))
    tries = main_host.wait_events("on_queue", 5, "five tries", where=lambda e: e["body"] == body)
    assert [t["dequeue_count"] for t in tries] == [1, 2, 3, 4, 5]
    assert {t["id"] for t in tries} == {sent.id}
    [moved] = wait_for(
        lambda: [m for m in peek_all(poison) if m.content == b64(body)],
        f"the message in {name}-poison",
        hosts=(main_host,),
    )
    assert moved.content == b64(body)
    wait_for(
        lambda: not [m for m in peek_all(source) if m.content == b64(body)],
        "the message to leave the source queue",
        hosts=(main_host,),
    )
    time.sleep(0.6)
    assert len([e for e in main_host.events("on_queue") if e["body"] == body]) == 5


def test_queue_message_that_is_not_base64_is_poisoned_unprocessed(
    main_host: FunctionHost, queue_service: QueueServiceClient
) -> None:
    name = main_host.setting("E2E_QUEUE")
    source, poison = make_queue(queue_service, name), queue_service.get_queue_client(f"{name}-poison")
    raw = f"plain text, not base64 {uuid.uuid4().hex}"
    source.send_message(raw)
    wait_for(
        lambda: [m for m in peek_all(poison) if m.content == raw],
        f"the raw message in {name}-poison",
        hosts=(main_host,),
    )
    assert not [e for e in main_host.events("on_queue") if raw in e["body"]]


# ------------------------------------------------------------------ output bindings from HTTP


def test_http_function_queue_and_blob_outputs(
    main_host: FunctionHost, blob_service: BlobServiceClient, queue_service: QueueServiceClient
) -> None:
    doc = {"answer": 42, "tags": ["a", "b"]}
    status, body = http(
        "POST",
        main_host.url("emit/k1"),
        main_host.function_key,
        json.dumps({"messages": ["one", "two"], "doc": doc}).encode(),
    )
    assert (status, json.loads(body)) == (201, {"key": "k1"})
    out_queue = queue_service.get_queue_client(main_host.setting("E2E_HTTP_QUEUE"))
    messages = peek_all(out_queue)
    assert [m.content for m in messages] == [b64("one"), b64("two")]  # base64, as the host encodes
    container = main_host.setting("E2E_HTTP_BLOBS")
    stored = blob_service.get_blob_client(container, "k1.json").download_blob().readall()
    assert json.loads(stored) == doc

    # A failed invocation writes none of its outputs.
    status, _ = http(
        "POST",
        main_host.url("emit/k2"),
        main_host.function_key,
        json.dumps({"messages": ["three"], "doc": {"x": 1}, "fail": True}).encode(),
    )
    assert status == 500
    assert [m.content for m in peek_all(out_queue)] == [b64("one"), b64("two")]
    assert not blob_service.get_blob_client(container, "k2.json").exists()


def test_http_queue_output_feeds_the_queue_trigger(main_host: FunctionHost) -> None:
    body = f"from http {uuid.uuid4().hex}"
    status, answer = http("POST", main_host.url("enqueue"), main_host.function_key, body.encode())
    assert (status, answer) == (202, b"queued")
    [seen] = main_host.wait_events("on_queue", 1, "the message queued over HTTP", where=lambda e: e["body"] == body)
    assert seen["dequeue_count"] == 1


def test_message_encoding_none_for_queue_outputs_and_trigger(
    start_host: Callable[..., FunctionHost], tmp_path: Path, queue_service: QueueServiceClient
) -> None:
    """host.json ``extensions.queues.messageEncoding: none`` covers output bindings as well as triggers."""
    app_dir = tmp_path / "funchost_triggers_app_plain"
    shutil.copytree(APP_DIR, app_dir, ignore=shutil.ignore_patterns("__pycache__"))
    host_json = json.loads((app_dir / "host.json").read_text(encoding="utf-8"))
    host_json["extensions"]["queues"]["messageEncoding"] = "none"
    (app_dir / "host.json").write_text(json.dumps(host_json), encoding="utf-8")
    host = start_host("plain", app_dir=app_dir)

    status, _ = http(
        "POST", host.url("emit/p1"), host.function_key, json.dumps({"messages": ["one"], "doc": {}}).encode()
    )
    assert status == 201
    out_queue = queue_service.get_queue_client(host.setting("E2E_HTTP_QUEUE"))
    assert [m.content for m in peek_all(out_queue)] == ["one"]

    body = f"plain {uuid.uuid4().hex}"
    status, _ = http("POST", host.url("enqueue"), host.function_key, body.encode())
    assert status == 202
    [seen] = host.wait_events("on_queue", 1, "the message queued over HTTP")
    assert seen["body"] == body
