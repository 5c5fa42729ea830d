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


class Readiness:
    """Which steps can start: counts of unfinished upstream steps, updated as steps finish.

    Incremental, because the orchestrator replays its whole history on every wake-up: rescanning every
    step on every loop made long pipelines quadratic.
    """

    def __init__(self, plan: dict[str, Any]) -> None:
        self.order = {s["id"]: i for i, s in enumerate(plan["steps"])}
        self.steps = {s["id"]: s for s in plan["steps"]}
        self.waiting_on = {s["id"]: len(set(s["depends_on"])) for s in plan["steps"]}
        self.dependents: dict[str, list[str]] = {sid: [] for sid in self.steps}
        for s in plan["steps"]:
            for dep in set(s["depends_on"]):
                self.dependents[dep].append(s["id"])
        self.ready = [sid for sid in self.steps if self.waiting_on[sid] == 0]

    def take(self) -> list[dict[str, Any]]:
        """The steps that became ready since the last call, in plan order."""
        ready, self.ready = sorted(self.ready, key=self.order.__getitem__), []
        return [self.steps[sid] for sid in ready]

    def finished(self, sid: str) -> None:
        for dependent in self.dependents[sid]:
            self.waiting_on[dependent] -= 1
            if self.waiting_on[dependent] == 0:
                self.ready.append(dependent)


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
    readiness = Readiness(plan)
    results: dict[str, Any] = {}
    running: dict[str, Any] = {}
    stop_starting = canceled = False
    cancel = context.wait_for_external_event(CANCEL_EVENT)
    yield context.call_activity("pipeline_started", {"run_id": run_id})
    while True:
        if not stop_starting:
            for step in readiness.take():
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
        if status[sid] == FINISHED:
            readiness.finished(sid)
        elif not plan.get("continue_on_step_failure"):
            stop_starting = True
    outcome = final_status(status, canceled)
    summary = {"run_id": run_id, "status": outcome, "steps": status}
    yield context.call_activity("pipeline_finished", summary)
    return summary
