"""durableml.service.records against a real Azurite: several records written in one transaction."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from azure.core.exceptions import AzureError

from durableml.service.records import BATCH_OPERATIONS, CHUNK, Records

TABLE = "dmlRecordsTest"


@pytest.fixture(name="store")
def store_fixture(azurite: Any) -> Records:
    return Records(azurite.connection_string)


def partition() -> str:
    return uuid.uuid4().hex


def test_put_many_creates_and_replaces_whole_records(store: Records) -> None:
    pk = partition()
    store.put(TABLE, pk, "a", {"status": "Running", "outputs": {"x": 1}})
    store.put_many(TABLE, pk, [("a", {"status": "Finished"}), ("b", {"status": "Running", "n": 2})])
    assert store.get(TABLE, pk, "a") == {"status": "Finished"}  # replaced, not merged
    assert store.get(TABLE, pk, "b") == {"status": "Running", "n": 2}


def test_put_many_is_all_or_nothing_within_a_transaction(store: Records) -> None:
    pk = partition()
    with pytest.raises(AzureError):
        store.put_many(TABLE, pk, [("fine", {"n": 1}), ("not/allowed", {"n": 2})])  # '/' is no RowKey character
    assert store.get(TABLE, pk, "fine") is None


def test_put_many_splits_what_one_transaction_cannot_hold(store: Records) -> None:
    pk = partition()
    many = [(f"r{i:03}", {"i": i}) for i in range(BATCH_OPERATIONS + 30)]  # more entities than one may hold
    store.put_many(TABLE, pk, many)
    assert sorted(r["i"] for r in store.query(TABLE, pk)) == list(range(BATCH_OPERATIONS + 30))

    big = partition()
    blob = "x" * (CHUNK * 25)  # ~750 KB each: six of them are more than a 4 MiB transaction
    store.put_many(TABLE, big, [(f"big{i}", {"i": i, "text": blob}) for i in range(6)])
    found = store.query(TABLE, big)
    assert sorted(r["i"] for r in found) == list(range(6)) and all(r["text"] == blob for r in found)
