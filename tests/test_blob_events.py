"""Event Grid blob-created events: which blob an event names, and which data-change schedules watch it."""

from __future__ import annotations

import pytest

from durableml.service import schedules
from durableml.service.schedules import _watches, blob_event_target, polling_minutes
from triggers.blob_events import parse_events

SUBJECT = "/blobServices/default/containers/data/blobs/landing/2026/a b.csv"


def test_the_blob_of_an_event_from_its_subject_or_url() -> None:
    event = {"eventType": "Microsoft.Storage.BlobCreated", "subject": SUBJECT}
    assert blob_event_target(event) == ("data", "landing/2026/a b.csv")
    by_url = {
        "eventType": "Microsoft.Storage.BlobCreated",
        "data": {"url": "https://st.blob.core.windows.net/data/x/y%20z.csv"},
    }
    assert blob_event_target(by_url) == ("data", "x/y z.csv")
    local = {
        "type": "Microsoft.Storage.BlobCreated",
        "data": {"url": "http://127.0.0.1:10000/devstoreaccount1/data/x.csv"},
    }
    assert blob_event_target(local) == ("data", "x.csv")
    assert blob_event_target({"eventType": "Microsoft.Storage.BlobDeleted", "subject": SUBJECT}) is None
    assert blob_event_target("not an event") is None
    assert blob_event_target({"eventType": "Microsoft.Storage.BlobCreated"}) is None


def test_which_schedules_watch_a_blob() -> None:
    flat = {"pathOnDatastore": "landing", "includeSubfolders": False, "suffixes": []}
    deep = {**flat, "includeSubfolders": True, "suffixes": [".csv"]}
    assert _watches(flat, "data", "landing/a.csv", "data")
    assert not _watches(flat, "data", "landing/2026/a.csv", "data")  # one folder level only
    assert not _watches(flat, "data", "landing/a.csv", "other")  # another container
    assert not _watches(flat, "data", "landing-2/a.csv", "data")
    assert _watches(deep, "data", "landing/2026/a.csv", "data")
    assert not _watches(deep, "data", "landing/2026/a.json", "data")
    root = {**flat, "pathOnDatastore": ""}
    assert _watches(root, "data", "a.csv", "data") and not _watches(root, "data", "x/a.csv", "data")


def test_polling_backs_off_only_when_events_arrive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(schedules.EVENTS_SETTING, raising=False)
    assert polling_minutes({"pollingInterval": 0.5}) == 0.5
    monkeypatch.setenv(schedules.EVENTS_SETTING, "durableml-blob-events")
    assert polling_minutes({"pollingInterval": 0.5}) == schedules.EVENTS_SAFETY_POLL_MINUTES
    assert polling_minutes({"pollingInterval": 600}) == 600


def test_queue_messages_hold_one_event_or_a_list() -> None:
    assert parse_events('{"subject": "s"}') == [{"subject": "s"}]
    assert parse_events('[{"a": 1}, {"b": 2}]') == [{"a": 1}, {"b": 2}]
    assert parse_events("not json") == []
