"""``Idempotency-Key``: a retried run request starts one run, not two, across concurrent retries and restarts.

The first request with a key inserts a claim (table ``dmlIdempotency``, row key = sha256 of the key)
holding the run id it will create, the request's fingerprint and a lease. Inserting is atomic, so of
concurrent requests exactly one owns the claim; the others wait for it to be ``started`` and answer
with the same run. The lease is short (``LEASE_SECONDS``) and the owner renews it while it works
(:func:`holding`), so a slow owner keeps its claim however long it takes, while an owner that died
(host crash) leaves a lease that runs out within seconds: the next retry takes the claim over
(ETag-guarded, so only one retry does) and finishes the same run id, after checking whether the
orchestration had started already. A key reused with a different request is a 409.
Claims are kept (a retry days later still finds its run); keys are never stored, only their hash.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator, Optional

from durableml.exceptions import ConflictError, ValidationError
from durableml.service.records import records

TABLE, PARTITION = "dmlIdempotency", "key"
LEASE_SECONDS = 5.0  # how long a claim stays its owner's without a renewal
RENEW_SECONDS = 1.5  # how often a working owner renews its lease
WAIT_SECONDS = 60.0  # how long a retry waits for an owner that is still at work


@dataclass(frozen=True)
class Claim:
    """A claim on an idempotency key: the run it stands for and whether this request must create it."""

    row: str
    run_id: str
    owner: str
    started: bool
    mine: bool


def fingerprint(*parts: Any) -> str:
    """A stable hash of what a request asks for (target and body)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def check_key(key: str) -> str:
    """The key as sent; 400 unless it is 1-255 printable ASCII characters."""
    if not (0 < len(key) <= 255 and key.isascii() and key.isprintable()):
        raise ValidationError(
            "the Idempotency-Key header must be 1-255 printable ASCII characters, such as a UUID "
            "the caller generates once per logical request and reuses on every retry"
        )
    return key


def _now() -> datetime:
    return datetime.now(timezone.utc)


def claim(key: str, request: str) -> Claim:
    """Claim ``key`` for the request with fingerprint ``request``, or find who holds it."""
    row = hashlib.sha256(check_key(key).encode()).hexdigest()
    return _insert(row, request) or _existing(row, request)


def _insert(row: str, request: str) -> Optional[Claim]:
    owner, run_id = uuid.uuid4().hex, str(uuid.uuid4())
    fresh: dict[str, Any] = {
        "run_id": run_id,
        "request": request,
        "owner": owner,
        "started": False,
        "lease": (_now() + timedelta(seconds=LEASE_SECONDS)).isoformat(),
    }
    return Claim(row, run_id, owner, False, True) if records().insert(TABLE, PARTITION, row, fresh) else None


def _existing(row: str, request: str) -> Claim:
    held = records().get(TABLE, PARTITION, row)
    if held is None:  # released by a refused first request a moment ago: claim it afresh
        return _insert(row, request) or _existing(row, request)
    if held["request"] != request:
        raise ConflictError(
            "this Idempotency-Key was used for a different request (another endpoint, version or "
            "body); send a new key for a new request"
        )
    return Claim(row, held["run_id"], held["owner"], bool(held["started"]), False)


async def wait_or_take_over(current: Claim, request: str, timeout: float = WAIT_SECONDS) -> Claim:
    """Wait for the owner of ``current`` to start its run; take the claim over if its lease runs out.

    Async, sleeping between reads: a waiting retry must not hold a worker thread the owner needs.
    """
    deadline = time.monotonic() + timeout
    delay = 0.05
    while time.monotonic() < deadline:
        found = await asyncio.to_thread(_look, current, request)
        if found is not None:
            return found
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)
    raise ConflictError("the first request with this Idempotency-Key is still starting its run; retry shortly")


def _look(current: Claim, request: str) -> Optional[Claim]:
    """The claim once started, or taken over when its lease ran out; None while its owner is at work."""
    held = records().get(TABLE, PARTITION, current.row)
    if held is None:  # the owner's request was refused and released the key: this retry tries itself
        return _insert(current.row, request)
    if held["started"]:
        return Claim(current.row, held["run_id"], held["owner"], True, False)
    if datetime.fromisoformat(held["lease"]) < _now():
        return _take_over(current.row, held["owner"])
    return None


def _take_over(row: str, previous_owner: str) -> Optional[Claim]:
    owner = uuid.uuid4().hex
    lease = (_now() + timedelta(seconds=LEASE_SECONDS)).isoformat()

    def change(doc: dict[str, Any]) -> None:
        if doc["owner"] != previous_owner or doc["started"]:
            raise _Lost()
        doc.update(owner=owner, lease=lease)

    try:
        doc = records().update(TABLE, PARTITION, row, change)
    except _Lost:
        return None
    return Claim(row, doc["run_id"], owner, False, True)


class _Lost(Exception):
    """Another retry took the claim over first."""


@contextlib.asynccontextmanager
async def holding(claim_: Claim) -> AsyncIterator[None]:
    """Renew the claim's lease every ``RENEW_SECONDS`` while the block (the owner's work) runs."""

    async def renew() -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            if not await asyncio.to_thread(_renew, claim_):
                return

    task = asyncio.get_running_loop().create_task(renew(), name="idempotency-lease")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _renew(claim_: Claim) -> bool:
    """Extend the lease; False once the claim is started or no longer this owner's (nothing to renew)."""
    lease = (_now() + timedelta(seconds=LEASE_SECONDS)).isoformat()

    def change(doc: dict[str, Any]) -> None:
        if doc["owner"] != claim_.owner or doc["started"]:
            raise _Lost()
        doc.update(lease=lease)

    try:
        records().update(TABLE, PARTITION, claim_.row, change)
    except (_Lost, LookupError):
        return False
    except Exception:  # noqa: BLE001 (storage trouble: the next renewal tries again; the lease may run out)
        return True
    return True


def mark_started(claim_: Claim) -> None:
    """Record that the claim's run exists and its orchestration started."""
    records().update(TABLE, PARTITION, claim_.row, lambda doc: doc.update(started=True))


def release(claim_: Claim) -> None:
    """Forget an unstarted claim whose request was refused, so a retry gets the same answer at once."""

    def change(doc: dict[str, Any]) -> None:
        if doc["owner"] != claim_.owner or doc["started"]:
            raise _Lost()

    try:
        records().update(TABLE, PARTITION, claim_.row, change)
    except (_Lost, LookupError):
        return
    records().delete(TABLE, PARTITION, claim_.row)
