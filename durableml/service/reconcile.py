"""Reconciling run records with what their orchestrations actually did.

A run's record and its ``pipeline_run`` orchestration live in different stores (the records in the workspace's table
storage, the orchestrations in the Durable backend), so they can disagree:

* storage stayed unavailable longer than the run's outage window (``durableml.service.outages``): the orchestration
  ended Failed, but could not write that to the record;
* a hard kill of the storage emulator (Azurite persists its tables every few seconds, see docs/design/faults.md)
  lost the latest record writes, while the orchestration went on: a record is missing, or older than what the
  orchestration reached;
* the orchestration is gone (purged, or the host's data directory was lost) while the record says Running.

:func:`repair` brings the record up to what the orchestration reached: a missing record is rebuilt from the
orchestration's input (the plan carries the record it was started with), a record behind a Completed, Failed or
Terminated orchestration gets its end (status, error, and the steps that never recorded their own end), and a run
whose orchestration is gone ends Failed, its still-running jobs canceled. It is called when a run is read, before
cancel and resume, and for every unfinished run when the host starts (``triggers/api.py``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping, Optional

from durableml.contract import CANCELED, FAILED, FINISHED, NOT_STARTED, TERMINAL
from durableml.service import changes, runtime
from durableml.service.records import RUNS, records
from durableml.service.runs import PARTITION, unpack_record, update_run, utc_now

log = logging.getLogger("durableml.reconcile")

GRACE_S = 60.0  # a NotStarted run younger than this may be starting: its orchestration can still be on its way
GONE = (
    "the run's orchestration is gone (purged, or lost with the host's data), so nothing more runs for it; "
    "resume it to run the steps that did not finish"
)


@dataclass(frozen=True)
class Orchestration:
    """What the Durable backend says about a run's ``pipeline_run`` instance (``status`` None: no such instance)."""

    status: Optional[str]  # a Durable runtime status name: Running, Completed, Failed, Terminated, ...
    output: Any = None
    input: Any = None


def repair(
    run_id: str, orchestration: Orchestration, record: Optional[dict[str, Any]], now: Optional[datetime] = None
) -> Optional[dict[str, Any]]:
    """The run's record (``record``, as the caller just read it, or None when there is none), repaired from its
    orchestration when it is missing or behind; None when there is neither a record nor an orchestration to rebuild
    it from."""
    if record is None:
        record = _rebuild(run_id, orchestration)
        if record is None:
            return None
    if record.get("kind") != "pipeline" or record["status"] in TERMINAL:
        return record
    ended = _end(record, orchestration, now or datetime.now(timezone.utc))
    if ended is None:
        return record
    status, error, step_statuses = ended
    _end_steps(run_id, status, error, step_statuses, cancel_jobs=orchestration.status != "Completed")
    log.warning(
        "run %s was %s while its orchestration had ended (%s): recorded it %s",
        run_id,
        record["status"],
        orchestration.status or "gone",
        status,
    )
    return update_run(run_id, status=status, ended=record.get("ended") or utc_now(), error=error)


def cancel_orphan(run_id: str) -> dict[str, Any]:
    """Cancel a run whose orchestration is gone: cancel its steps' jobs and record it (and them) Canceled."""
    error = "canceled; the run's orchestration was gone, so its steps' jobs were canceled directly"
    _end_steps(run_id, CANCELED, error, {}, cancel_jobs=True)
    return update_run(run_id, status=CANCELED, ended=utc_now(), error=error)


def _rebuild(run_id: str, orchestration: Orchestration) -> Optional[dict[str, Any]]:
    plan = _json(orchestration.input)
    record = unpack_record(plan) if orchestration.status is not None and isinstance(plan, Mapping) else None
    if record is None:
        return None
    if records().insert(RUNS, PARTITION, run_id, record):
        log.warning("run %s: its record was missing (lost by storage); rebuilt from its orchestration", run_id)
        changes.changed(run_id)
        return record
    return records().get(RUNS, PARTITION, run_id)


def _end(
    record: Mapping[str, Any], orchestration: Orchestration, now: datetime
) -> Optional[tuple[str, Optional[str], dict[str, str]]]:
    """(status, error, step statuses) the run reached, or None while it goes on (or may still be starting)."""
    status, output = orchestration.status, _json(orchestration.output)
    if status == "Completed" and isinstance(output, Mapping) and output.get("status") in TERMINAL:
        return str(output["status"]), output.get("error"), dict(output.get("steps") or {})
    if status == "Failed":
        return FAILED, f"the run's orchestration failed: {output}", {}
    if status == "Terminated":
        return CANCELED, f"the run's orchestration was terminated: {output or 'no reason given'}", {}
    if status is None and (record["status"] != NOT_STARTED or _age_s(record, now) > GRACE_S):
        return FAILED, GONE, {}  # a started run's orchestration existed: now it is gone
    return None


def _json(value: Any) -> Any:
    """An orchestration's input or output as a value (the Python SDK hands the extension JSON text)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _age_s(record: Mapping[str, Any], now: datetime) -> float:
    try:
        created = datetime.fromisoformat(str(record.get("created")).replace("Z", "+00:00"))
    except ValueError:
        return float("inf")
    if created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)
    return (now - created).total_seconds()


def _end_steps(
    run_id: str, status: str, error: Optional[str], step_statuses: Mapping[str, str], cancel_jobs: bool
) -> None:
    """Record an end for each step of the run that has none: the orchestration's word for it, else the run's."""
    open_steps = [
        r for r in records().query(RUNS, PARTITION, "parent_id eq @p", {"p": run_id}) if r["status"] not in TERMINAL
    ]
    if not open_steps:
        return
    if cancel_jobs:
        try:
            runtime.steps_cancel(run_id, [r["step_id"] for r in open_steps])
        except Exception as exc:  # noqa: BLE001 (the document may be lost too: the records still get their end)
            log.warning("run %s: could not cancel its steps' jobs: %s", run_id, exc)
    step_status = CANCELED if status == CANCELED else FAILED
    for r in open_steps:
        reached = step_statuses.get(r["step_id"])
        if reached == FINISHED:  # its own end was lost with storage: the orchestration saw it finish
            update_run(r["id"], status=FINISHED, ended=utc_now())
        elif reached in TERMINAL:
            update_run(r["id"], status=reached, ended=utc_now(), error=r.get("error") or error)
        else:
            update_run(r["id"], status=step_status, ended=utc_now(), error=f"the run ended before this step: {error}")
