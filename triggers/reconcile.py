"""``reconcile_runs``: when the host starts, and every 10 minutes, bring run records up to their orchestrations.

Every unfinished pipeline run's record is reconciled with its ``pipeline_run`` orchestration, and every
``pipeline_run`` orchestration of the last day without a record gets its record rebuilt
(``durableml.service.reconcile``): after a storage crash no run answers 404 or shows an older state than its
orchestration reached, and a run whose orchestration ended while storage was away gets its end. Reading a run
reconciles it too (``triggers/api.py``); this sweep covers the runs nobody reads.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

import azure.durable_functions as df
import azure.functions as func

from app_decorators import durable_client, function_name, timer
from durableml import contract
from durableml.service import reconcile, runs
from durableml.service.records import RUNS, records
from triggers.api import orchestration_of

bp = df.Blueprint()
log = logging.getLogger("durableml.reconcile")

EVERY = "0 */10 * * * *"
LOOK_BACK = timedelta(days=1)  # orchestrations older than this whose record is missing are left alone


@function_name(bp, "reconcile_runs")
@timer(bp, "timer", EVERY, run_on_startup=True)
@durable_client(bp)
async def reconcile_runs(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    repaired = 0
    unfinished = await asyncio.to_thread(_unfinished_runs)
    for run_id in unfinished:
        repaired += await _reconcile(client, run_id)
    since = datetime.now(timezone.utc) - LOOK_BACK
    for status in await client.get_status_by(created_time_from=since):
        run_id = status.instance_id
        if status.name != contract.ORCHESTRATOR_PIPELINE_RUN or not run_id or run_id in unfinished:
            continue
        if await asyncio.to_thread(runs.find_run, run_id) is None:
            repaired += await _reconcile(client, run_id)
    if repaired:
        log.warning("reconciled %d run record(s) with their orchestrations", repaired)


def _unfinished_runs() -> set[str]:
    where = "kind eq 'pipeline' and status ne 'Finished' and status ne 'Failed' and status ne 'Canceled'"
    return {r["id"] for r in records().query(RUNS, runs.PARTITION, where)}


async def _reconcile(client: df.DurableOrchestrationClient, run_id: str) -> int:
    """1 when the record changed (rebuilt or ended), else 0; a failure is logged and the sweep goes on."""
    try:
        before = await asyncio.to_thread(runs.find_run, run_id)
        after = await asyncio.to_thread(reconcile.repair, run_id, await orchestration_of(client, run_id), before)
    except Exception:  # noqa: BLE001 (one run's trouble does not stop the others' repair)
        log.exception("could not reconcile run %s", run_id)
        return 0
    return int(after is not None and (before is None or before.get("status") != after.get("status")))
