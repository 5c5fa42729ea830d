"""The run record a pipeline plan carries (durableml.service.runs.pack_record / unpack_record), which reconcile
rebuilds a lost record from: packed into one string, so the orchestration does not parse it at every wake-up."""

from __future__ import annotations

import json

from durableml.service.runs import pack_record, unpack_record

RECORD = {
    "id": "run-1",
    "kind": "pipeline",
    "status": "NotStarted",
    "properties": {"azureml.git.repository_uri": "https://example.invalid/repo.git"},
    "step_properties": {
        f"s{i:03d}": {"azureml.git.commit": "0123456789abcdef" * 2, "azureml.git.branch": "main", "mlflow.source": "x"}
        for i in range(200)
    },
}


def test_a_packed_record_comes_back_whole_and_is_one_short_string() -> None:
    text = pack_record(RECORD)
    assert unpack_record({"record_text": text}) == RECORD
    assert json.loads(json.dumps({"record_text": text})) == {"record_text": text}  # a plain JSON string
    assert len(text) < len(json.dumps(RECORD)) / 5  # the steps' properties repeat


def test_plans_made_before_it_and_plans_without_a_usable_record() -> None:
    assert unpack_record({"record": RECORD}) == RECORD
    for plan in ({}, {"record_text": "not base64 !"}, {"record_text": "aGVsbG8="}, {"record_text": 5}):
        assert unpack_record(plan) is None
    assert unpack_record({"record_text": pack_record({"x": 1})}) == {"x": 1}
