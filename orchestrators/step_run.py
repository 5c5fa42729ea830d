"""``step_run``: one step: reuse or submit, wait for the compute target, record the outcome.

It waits for the runner's ``step_done`` event raced against a durable timer; on the timer it polls
(backoff 0.5 s doubling to 30 s), so a lost event costs at most one poll interval. After many polls it
continues as new, keeping its history short for steps that run for hours.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

bp = df.Blueprint()

DONE_EVENT = "step_done"
FIRST_POLL_S, MAX_POLL_S, POLLS_PER_GENERATION = 0.5, 30.0, 50


@bp.orchestration_trigger(context_name="context")
def step_run(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    work = context.get_input()
    if not work.get("submitted"):
        started = yield context.call_activity("step_start", work)
        if started.get("result") is not None:  # reused, or failed before it could run
            return started["result"]
        work = {**work, "submitted": True, "poll_s": FIRST_POLL_S}
    for _ in range(POLLS_PER_GENERATION):
        done = context.wait_for_external_event(DONE_EVENT)
        timer = context.create_timer(context.current_utc_datetime + timedelta(seconds=work["poll_s"]))
        winner = yield context.task_any([done, timer])
        if winner is done:
            timer.cancel()
        result = yield context.call_activity("step_complete", work)
        if result is not None:
            return result
        work["poll_s"] = min(work["poll_s"] * 2, MAX_POLL_S)
    context.continue_as_new(work)
    return None
