"""``step_run``: one step: reuse or submit, wait for the compute target, record the outcome.

Every activity call rides out storage outages (``orchestrators/outages.py``: retried with backoff while storage
does not answer, up to the run's outage window).

It waits for the runner's ``step_done`` event raced against a durable timer; on the timer it polls
(backoff 0.5 s doubling to 30 s; at least 5 s while the job still waits for a node, which in a wide fan-out is
most of them), so a lost event costs at most one poll interval. After many polls it
continues as new, keeping its history short for steps that run for hours.

A step with a time limit (``step_start`` answers ``timeout``; see ``durableml.service.timeouts``) gets a
deadline, the orchestration's time at submission plus the limit, carried across generations: no timer
runs past it, and once it has passed ``step_timed_out`` cancels the job and records the step Failed
("timed out after N s"). Enforced here, it works the same on every compute backend.

The event carries the job's terminal report (status, error, outputs, metrics; see
``durableml.compute.base.job_report``), so ``step_complete`` records it without reading the job's state
again. With ``defer_record`` (set by ``pipeline_run`` on chain edges) a complete report is returned
unrecorded instead (``{"report": ...}``), for the next step's ``step_start`` to record.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Generator, Optional

import azure.durable_functions as df

from app_decorators import function_name, orchestration
from orchestrators import outages

from durableml.contract import (
    ACTIVITY_STEP_COMPLETE,
    ACTIVITY_STEP_START,
    ACTIVITY_STEP_TIMED_OUT,
    EVENT_STEP_DONE,
    ORCHESTRATOR_STEP_RUN,
    QUEUED,
    TERMINAL,
    StepPending,
    StepResult,
    StepStart,
)

bp = df.Blueprint()

FIRST_POLL_S, MAX_POLL_S, POLLS_PER_GENERATION = 0.5, 30.0, 50
QUEUED_POLL_S = 5.0  # at least this long between polls of a job still waiting for a node


def complete_report(value: Any) -> Optional[dict[str, Any]]:
    """The event's job report when it is a complete terminal one, else None (then step_complete reads it)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, dict) and value.get("complete") and value.get("status") in TERMINAL:
        return value
    return None


@function_name(bp, ORCHESTRATOR_STEP_RUN)
@orchestration(bp)
def step_run(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Optional[StepResult]]:
    work = context.get_input()
    window = outages.window_of(work)
    if not work.get("submitted"):
        started: StepStart = yield from outages.call_activity(context, ACTIVITY_STEP_START, work, window)
        if started.get("result") is not None:  # reused, or failed before it could run
            return started["result"]
        work = {k: v for k, v in work.items() if k not in ("record_first", "pipeline_running")}
        work.update(submitted=True, poll_s=FIRST_POLL_S)
        if started.get("timeout"):
            work["timeout"] = started["timeout"]
            deadline = context.current_utc_datetime + timedelta(seconds=float(started["timeout"]["seconds"]))
            work["deadline"] = deadline.isoformat()
    for _ in range(POLLS_PER_GENERATION):
        wake = context.current_utc_datetime + timedelta(seconds=work["poll_s"])
        if work.get("deadline"):
            deadline = datetime.fromisoformat(work["deadline"])
            if context.current_utc_datetime >= deadline:
                timed_out: StepResult = yield from outages.call_activity(context, ACTIVITY_STEP_TIMED_OUT, work, window)
                return timed_out
            wake = min(wake, deadline)
        done = context.wait_for_external_event(EVENT_STEP_DONE)
        timer = context.create_timer(wake)
        winner = yield context.task_any([done, timer])
        report = None
        if winner is done:
            timer.cancel()
            report = complete_report(done.result)
        if report is not None and work.get("defer_record"):
            return {
                "status": report["status"],
                "step_run_id": work["step"].get("step_run_id"),
                "error": report.get("error"),
                "reused_from": None,
                "report": report,
            }
        result: Optional[StepResult | StepPending] = yield from outages.call_activity(
            context, ACTIVITY_STEP_COMPLETE, {**work, "report": report}, window
        )
        if result is not None and "pending" not in result:  # None: an answer from before "pending" was given
            return result
        work["poll_s"] = min(work["poll_s"] * 2, MAX_POLL_S)
        if result is not None and result.get("pending") == QUEUED:
            work["poll_s"] = max(work["poll_s"], QUEUED_POLL_S)  # not started yet: its end is not near
    context.continue_as_new(work)
    return None
