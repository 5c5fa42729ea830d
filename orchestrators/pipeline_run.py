"""``pipeline_run``: runs a pipeline's step DAG, starting each step the moment its upstream steps succeed.

Input (the execution plan the service derives from a validated pipeline document)::

    {"run_id": str, "continue_on_step_failure": bool,
     "steps": [{"id": str, "name": str, "depends_on": [step ids], "spec": {...}}]}   # topological order

Each step runs as a ``step_run`` sub-orchestration with instance id ``<run_id>:<step id>``, which keeps
every history short (the Python SDK replays the whole history on each wake-up). ``task_any`` over the
running steps (plus a ``cancel`` event) reacts to each completion at once, not level by level.
"""
from __future__ import annotations

from typing import Any

import azure.durable_functions as df

bp = df.Blueprint()

FINISHED, FAILED, CANCELED, NOT_STARTED, RUNNING = "Finished", "Failed", "Canceled", "NotStarted", "Running"
CANCEL_EVENT = "cancel"


def ready_steps(plan: dict[str, Any], status: dict[str, str]) -> list[dict[str, Any]]:
    """Steps not started whose upstream steps all finished, in plan order."""
    return [s for s in plan["steps"]
            if status[s["id"]] == NOT_STARTED and all(status[d] == FINISHED for d in s["depends_on"])]


def final_status(status: dict[str, str], canceled: bool) -> str:
    if canceled:
        return CANCELED
    if any(v == FAILED for v in status.values()):
        return FAILED
    return FINISHED if all(v == FINISHED for v in status.values()) else FAILED


def step_outcome(task: Any) -> dict[str, Any]:
    """A step_run result, or a Failed result when the sub-orchestration itself failed."""
    value = task.result
    if isinstance(value, dict):
        return value
    return {"status": FAILED, "error": f"step orchestration failed: {value}"}


@bp.orchestration_trigger(context_name="context")
def pipeline_run(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    plan = context.get_input()
    run_id = plan["run_id"]
    status = {s["id"]: NOT_STARTED for s in plan["steps"]}
    results: dict[str, Any] = {}
    running: dict[str, Any] = {}
    stop_starting = canceled = False
    cancel = context.wait_for_external_event(CANCEL_EVENT)
    yield context.call_activity("pipeline_started", {"run_id": run_id})
    while True:
        if not stop_starting:
            for step in ready_steps(plan, status):
                status[step["id"]] = RUNNING
                running[step["id"]] = context.call_sub_orchestrator(
                    "step_run", {"run_id": run_id, "step": step}, f"{run_id}:{step['id']}")
        if not running:
            break
        winner = yield context.task_any([*running.values(), cancel] if not canceled else list(running.values()))
        if winner is cancel:
            canceled = stop_starting = True
            yield context.call_activity("steps_cancel", {"run_id": run_id, "step_ids": sorted(running)})
            continue
        sid = next(k for k, t in running.items() if t is winner)
        del running[sid]
        results[sid] = step_outcome(winner)
        status[sid] = results[sid]["status"]
        if status[sid] != FINISHED and not plan.get("continue_on_step_failure"):
            stop_starting = True
    outcome = final_status(status, canceled)
    summary = {"run_id": run_id, "status": outcome, "steps": status}
    yield context.call_activity("pipeline_finished", summary)
    return summary
