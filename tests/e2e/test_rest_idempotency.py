"""``Idempotency-Key``: a retried webhook starts one run, not two (concurrent retries, crashes, restarts).

Concurrency is real (threads posting at once to funchost). The crash cases start from the exact
state a host killed at that point leaves in storage (an idempotency claim whose lease ran out, with
or without its orchestration started); the restart case kills funchost with SIGKILL and starts it again.
"""

from __future__ import annotations

import hashlib
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from durableml.pipeline.core import Pipeline, PipelineData
from durableml.service.idempotency import LEASE_SECONDS, PARTITION, TABLE
from durableml.service.records import Records

from ._helpers import ensure_compute, step, wait_until


@pytest.fixture(scope="module")
def env(service: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ws = service.workspace()
    journal = tmp_path_factory.mktemp("idempotency") / "journal.txt"
    out = PipelineData("idem_out", datastore=ws.get_default_datastore())
    pipeline = Pipeline(workspace=ws, steps=[step("idem", journal, ensure_compute(ws), output=out, allow_reuse=False)])
    published = pipeline.publish(name="idempotent", description="", version="1")
    return {"published": published, "records": Records(service.azurite.connection_string)}


def post(service: Any, url: str, key: str, experiment: str) -> requests.Response:
    return requests.post(
        url,
        json={"ExperimentName": experiment},
        timeout=120,
        headers={"x-functions-key": service.key, "Idempotency-Key": key},
    )


def runs_in(service: Any, experiment: str) -> list[dict[str, Any]]:
    return list(service.api("GET", f"/api/experiments/{experiment}/runs").json())


def test_concurrent_retries_start_one_run(env: dict[str, Any], service: Any) -> None:
    key, experiment = str(uuid.uuid4()), f"idem-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: post(service, env["published"].endpoint, key, experiment), range(8)))
    assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
    assert len({a.json()["Id"] for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 7
    assert [r["id"] for r in runs_in(service, experiment)] == [answers[0].json()["Id"]]


def test_same_key_other_request_is_409_and_no_key_starts_new_runs(env: dict[str, Any], service: Any) -> None:
    key, experiment = str(uuid.uuid4()), f"idem-{uuid.uuid4().hex[:8]}"
    first = post(service, env["published"].endpoint, key, experiment)
    other = post(service, env["published"].endpoint, key, experiment + "-other")
    assert first.status_code == 200 and other.status_code == 409
    assert "different request" in other.json()["error"]["message"]
    plain = [
        requests.post(
            env["published"].endpoint,
            json={"ExperimentName": experiment},
            timeout=60,
            headers={"x-functions-key": service.key},
        )
        for _ in range(2)
    ]
    assert len({p.json()["Id"] for p in plain} | {first.json()["Id"]}) == 3
    bad = post(service, env["published"].endpoint, "x" * 300, experiment)
    assert bad.status_code == 400 and "Idempotency-Key" in bad.json()["error"]["message"]


def test_refused_request_releases_its_key(env: dict[str, Any], service: Any) -> None:
    key = str(uuid.uuid4())
    url = env["published"].endpoint
    bad = requests.post(
        url, json={"ExperimentName": ""}, timeout=30, headers={"x-functions-key": service.key, "Idempotency-Key": key}
    )
    assert bad.status_code == 400
    again = requests.post(
        url, json={"ExperimentName": ""}, timeout=30, headers={"x-functions-key": service.key, "Idempotency-Key": key}
    )
    assert again.status_code == 400  # at once: no claim of a request that started nothing waits for a lease


def _leave_claim(
    env: dict[str, Any], key: str, run_id: str, request: str | None = None, lease_left: float = -5.0
) -> None:
    """The claim a host killed after claiming ``key`` (and before marking its run started) leaves behind, its lease
    ending ``lease_left`` seconds from now (negative: already over)."""
    row = hashlib.sha256(key.encode()).hexdigest()
    past = (datetime.now(timezone.utc) + timedelta(seconds=lease_left)).isoformat()
    held = env["records"].get(TABLE, PARTITION, row)
    doc = {
        "run_id": run_id,
        "request": request or (held or {}).get("request"),
        "owner": "dead-host",
        "started": False,
        "lease": past,
    }
    env["records"].put(TABLE, PARTITION, row, doc)


def test_owner_died_before_creating_the_run(env: dict[str, Any], service: Any) -> None:
    key, experiment = str(uuid.uuid4()), f"idem-{uuid.uuid4().hex[:8]}"
    first = post(service, env["published"].endpoint, key, experiment)  # to learn the request fingerprint
    request = env["records"].get(TABLE, PARTITION, hashlib.sha256(key.encode()).hexdigest())["request"]
    retry_key, planned = str(uuid.uuid4()), str(uuid.uuid4())
    _leave_claim(env, retry_key, planned, request)
    retried = post(service, env["published"].endpoint, retry_key, experiment)
    assert retried.status_code == 200 and retried.json()["Id"] == planned
    assert sorted(r["id"] for r in runs_in(service, experiment)) == sorted([first.json()["Id"], planned])


def test_owner_died_after_starting_the_orchestration(env: dict[str, Any], service: Any) -> None:
    key, experiment = str(uuid.uuid4()), f"idem-{uuid.uuid4().hex[:8]}"
    first = post(service, env["published"].endpoint, key, experiment)
    _leave_claim(env, key, first.json()["Id"])  # started=False again, lease expired: it died before marking
    retried = post(service, env["published"].endpoint, key, experiment)
    assert retried.status_code == 200 and retried.json()["Id"] == first.json()["Id"]
    assert retried.headers.get("Idempotent-Replayed") == "true"
    assert [r["id"] for r in runs_in(service, experiment)] == [first.json()["Id"]]


def test_a_crashed_owners_lease_is_taken_over_within_seconds(env: dict[str, Any], service: Any) -> None:
    """The owner died a moment ago, its lease freshly renewed: the retry waits out that short lease (seconds, not
    the minute it used to be) and starts the claim's run, once."""
    key, experiment = str(uuid.uuid4()), f"idem-{uuid.uuid4().hex[:8]}"
    first = post(service, env["published"].endpoint, key, experiment)
    request = env["records"].get(TABLE, PARTITION, hashlib.sha256(key.encode()).hexdigest())["request"]
    retry_key, planned = str(uuid.uuid4()), str(uuid.uuid4())
    _leave_claim(env, retry_key, planned, request, lease_left=LEASE_SECONDS)
    retried = requests.post(
        env["published"].endpoint,
        json={"ExperimentName": experiment},
        timeout=LEASE_SECONDS * 3,  # a retry that waited for a minute-long lease would time out here
        headers={"x-functions-key": service.key, "Idempotency-Key": retry_key},
    )
    assert retried.status_code == 200 and retried.json()["Id"] == planned, retried.text
    assert sorted(r["id"] for r in runs_in(service, experiment)) == sorted([first.json()["Id"], planned])


def test_a_working_owner_keeps_its_claim_by_renewing_the_lease(env: dict[str, Any], service: Any) -> None:
    """An owner slower than the lease renews it: a retry meanwhile waits, and never takes the claim over."""
    import asyncio

    from durableml.service import idempotency, state
    from durableml.service.records import records

    row_key, request = str(uuid.uuid4()), "a-request"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AzureWebJobsStorage", service.azurite.connection_string)
        state.reset()
        try:
            claim = idempotency.claim(row_key, request)
            assert claim.mine

            async def owner_outlives_its_lease() -> Any:
                async with idempotency.holding(claim):
                    await asyncio.sleep(LEASE_SECONDS * 2)
                    return await asyncio.to_thread(idempotency._look, claim, request)

            assert asyncio.run(owner_outlives_its_lease()) is None  # still its owner's: nobody took it over
            assert records().get(TABLE, PARTITION, claim.row)["owner"] == claim.owner
        finally:
            state.reset()


def test_retry_after_a_host_restart_finds_the_same_run(env: dict[str, Any], service: Any, tmp_path: Path) -> None:
    key, experiment = str(uuid.uuid4()), f"idem-{uuid.uuid4().hex[:8]}"
    first = post(service, env["published"].endpoint, key, experiment)
    assert first.status_code == 200
    service.host.kill()
    service.host.restart()
    retried = wait_until(
        lambda: _try(service, env["published"].endpoint, key, experiment),
        timeout=60,
        what="the restarted host to answer",
    )
    assert retried.json()["Id"] == first.json()["Id"]
    assert [r["id"] for r in runs_in(service, experiment)] == [first.json()["Id"]]


def _try(service: Any, url: str, key: str, experiment: str) -> requests.Response | None:
    try:
        response = post(service, url, key, experiment)
    except requests.ConnectionError:
        return None
    return response if response.status_code == 200 else None
