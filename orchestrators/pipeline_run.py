"""``pipeline_run``: runs a pipeline's step DAG, starting each step the moment its upstream steps succeed.

Input (the execution plan the service derives from a validated pipeline document)::

    {"run_id": str, "continue_on_step_failure": bool,
     "steps": [{"id": str, "name": str, "depends_on": [step ids], ...}]}   # topological order

Each step runs as a ``step_run`` sub-orchestration with instance id ``<run_id>:<step id>``, which keeps
every history short (the Python SDK replays the whole history on each wake-up). ``task_any`` over the
running steps (plus a ``cancel`` event) reacts to each completion at once, not level by level.

Chain edges (a step whose only dependent depends on nothing else) are handed over without a stop: such a
step's ``step_run`` returns as soon as the runner reports its job's end (``defer_record``), and the
dependent's ``step_start`` records that result right after submitting its own job (``record_first``),
so recording one step and starting the next is one activity instead of two activities and two episodes.
The pipeline's only sink hands its result to ``pipeline_finished`` the same way. When the dependent does
not start (the step failed, the run was canceled or is stopping), the result is recorded by a
``step_complete`` activity of this orchestration instead, or by ``pipeline_finished`` when nothing else
runs any more.

Cancel: a ``task_any`` that waits on a task not waited on before (a step just started, a recording) also waits on
a new ``cancel`` event waiter; one that waits only on tasks waited on before reuses the last waiter. Why: the SDK
sends a ``task_any`` to the host as a WhenAny action of its *new* children only (none when all were sent before),
and the host replays actions in order, waiting for each. A WhenAny of new steps without a new cancel waiter would
keep the host waiting for those steps, so a cancel would only be acted on once one of them ended; with the new
waiter in it, the cancel event (served to the newest waiter: external events are LIFO) ends that WhenAny at once.

Reuse ahead: when the plan says ``reuse_ahead`` (some step may reuse an earlier result), the first generation
starts with one ``steps_reuse`` activity, which records every step that reuses now, downstream ones included,
and the run Running; only the others get a ``step_run``.

The first step started also sets the run Running (``pipeline_running``). After ``GENERATION_STEPS``
completions, when no step runs, the orchestration continues as new with its state, so its own history
(replayed at every wake-up) stays short however long the pipeline is.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Generator, Optional

import azure.durable_functions as df

from app_decorators import function_name, orchestration
from orchestrators import outages

from durableml.contract import (
    ACTIVITY_NOTIFY_RUN_FINISHED,
    ACTIVITY_PIPELINE_FINISHED,
    ACTIVITY_STEP_COMPLETE,
    ACTIVITY_STEPS_CANCEL,
    ACTIVITY_STEPS_REUSE,
    CANCELED,
    EVENT_CANCEL,
    FAILED,
    FINISHED,
    NOT_STARTED,
    ORCHESTRATOR_PIPELINE_RUN,
    ORCHESTRATOR_STEP_RUN,
    RUNNING,
    ReusedAhead,
    is_outage_failure,
    step_instance_id,
)

bp = df.Blueprint()

NOTIFY_ATTEMPTS, NOTIFY_FIRST_RETRY_S = 6, 2.0
GENERATION_STEPS = 16


class Readiness:
    """Which steps can start: counts of unfinished upstream steps, updated as steps finish.

    Incremental, because the orchestrator replays its whole history on every wake-up: rescanning every
    step on every loop made long pipelines quadratic. Built from the statuses so far, so that a new
    generation (continue_as_new) resumes where the previous one stopped.
    """

    def __init__(self, plan: dict[str, Any], status: dict[str, str]) -> None:
        self.order = {s["id"]: i for i, s in enumerate(plan["steps"])}
        self.steps = {s["id"]: s for s in plan["steps"]}
        self.dependents: dict[str, list[str]] = {sid: [] for sid in self.steps}
        for s in plan["steps"]:
            for dep in set(s["depends_on"]):
                self.dependents[dep].append(s["id"])
        self.waiting_on = {s["id"]: len({d for d in s["depends_on"] if status[d] != FINISHED}) for s in plan["steps"]}
        self.ready = [sid for sid in self.steps if self.waiting_on[sid] == 0 and status[sid] == NOT_STARTED]
        self.sinks = sum(1 for after in self.dependents.values() if not after)

    def take(self) -> list[dict[str, Any]]:
        """The steps that became ready since the last call, in plan order."""
        ready, self.ready = sorted(self.ready, key=self.order.__getitem__), []
        return [self.steps[sid] for sid in ready]

    def finished(self, sid: str) -> None:
        for dependent in self.dependents[sid]:
            self.waiting_on[dependent] -= 1
            if self.waiting_on[dependent] == 0:
                self.ready.append(dependent)

    def hands_over(self, sid: str) -> bool:
        """True when the step's result can wait for whoever runs next: its only dependent depends on this
        step alone (a chain edge), or it is the pipeline's only sink (every other step is upstream of it,
        so nothing runs after it but ``pipeline_finished``)."""
        after = self.dependents[sid]
        if not after:
            return self.sinks == 1
        return len(after) == 1 and set(self.steps[after[0]]["depends_on"]) == {sid}


def final_status(status: dict[str, str], canceled: bool) -> str:
    if canceled:
        return CANCELED
    if any(v == FAILED for v in status.values()):
        return FAILED
    return FINISHED if all(v == FINISHED for v in status.values()) else FAILED


def step_outcome(task: Any) -> dict[str, Any]:
    """A step_run result, or a Failed result when the sub-orchestration itself failed: then with a Failed
    report, so that the step's record gets the reason (``step_complete`` records it, see ``_Run.ended``)."""
    value = task.result
    if isinstance(value, dict):
        return value
    reason = str(value).split(" \n ", 1)[0]  # the SDK's failure text is "<reason> \n <details JSON>"
    error = f"the step's orchestration failed: {reason}"
    report = {"job_id": None, "status": FAILED, "exit_code": None, "error": error, "complete": True}
    return {"status": FAILED, "error": error, "orchestration_failed": True, "report": report}


class _Run:
    """The orchestration's state between wake-ups; ``carried()`` is what a new generation starts from."""

    def __init__(self, plan: dict[str, Any]) -> None:
        state = plan.get("state") or {}
        self.plan = {k: v for k, v in plan.items() if k != "state"}
        self.run_id = plan["run_id"]
        self.status: dict[str, str] = state.get("status") or {s["id"]: NOT_STARTED for s in plan["steps"]}
        self.unrecorded: dict[str, dict[str, Any]] = state.get("unrecorded") or {}  # ended, not yet recorded
        self.first = bool(state.get("first", True))
        self.readiness = Readiness(plan, self.status)
        self.running: dict[str, Any] = {}
        self.recording: dict[str, Any] = {}  # step id -> its step_complete call, or the timer before a retry
        self.record_entries: dict[str, dict[str, Any]] = {}  # step id -> what its step_complete records
        self.record_retry: dict[str, outages.Backoff] = {}  # steps whose step_complete waits out a storage outage
        self.record_waits: dict[str, Any] = {}  # step id -> the timer before its step_complete is called again
        self.window = outages.window_of(plan)
        self.outage: Optional[str] = state.get("outage")  # why the run ends Failed: storage stayed away
        self.handed: dict[str, list[dict[str, Any]]] = {}  # step id -> results its step_start records
        self.stop_starting = self.canceled = False
        self.completions = 0

    def carried(self) -> dict[str, Any]:
        state = {"status": self.status, "unrecorded": self.unrecorded, "first": self.first}
        if self.outage:
            state["outage"] = self.outage
        return {**self.plan, "state": state}

    def step_input(self, step: dict[str, Any]) -> dict[str, Any]:
        work: dict[str, Any] = {"run_id": self.run_id, "step": step}
        if "outage_window_s" in self.plan:
            work["outage_window_s"] = self.plan["outage_window_s"]
        if self.first:
            work["pipeline_running"] = True
            self.first = False
        handover = [self.unrecorded.pop(d) for d in sorted(set(step["depends_on"])) if d in self.unrecorded]
        if handover:
            work["record_first"] = self.handed[step["id"]] = handover
        if self.readiness.hands_over(step["id"]):
            work["defer_record"] = True
        return work

    def record(self, context: df.DurableOrchestrationContext, sid: str, entry: dict[str, Any]) -> None:
        """Start recording an ended step (``step_complete``), concurrently with the steps still running."""
        self.record_entries[sid] = entry
        self.recording[sid] = context.call_activity(ACTIVITY_STEP_COMPLETE, {"run_id": self.run_id, **entry})

    def recorded(self, context: df.DurableOrchestrationContext, sid: str, task: Any) -> None:
        """A step_complete call ended: done, or (storage did not answer) retried after a timer until the run's
        outage window has passed, when the run stops starting steps and ends Failed with the outage as its error."""
        del self.recording[sid]
        if is_outage_failure(task.result):
            backoff = self.record_retry.setdefault(sid, outages.Backoff(self.window))
            wake = backoff.next_wake(context.current_utc_datetime)
            if wake is not None:
                self.record_waits[sid] = context.create_timer(wake)
                return
            self.outage = self.outage or f"storage unavailable for more than {self.window:g} s: {task.result}"
            self.stop_starting = True
        self.record_entries.pop(sid, None)
        self.record_retry.pop(sid, None)

    def pending(self) -> list[Any]:
        return [*self.running.values(), *self.recording.values(), *self.record_waits.values()]

    def ended(self, sid: str, outcome: dict[str, Any]) -> None:
        if outcome.get("orchestration_failed") and is_outage_failure(outcome.get("error")):
            self.outage = self.outage or f"storage unavailable: step '{sid}' could not go on: {outcome['error']}"
        self.status[sid] = outcome["status"]
        if "report" in outcome:  # ended but not recorded: the next step_start (or step_complete) records it
            self.unrecorded[sid] = {"step": self.readiness.steps[sid], "report": outcome["report"]}
        if sid in self.handed:
            handed = self.handed.pop(sid)
            if outcome.get("orchestration_failed"):  # its step_start may not have recorded them
                self.unrecorded.update({h["step"]["id"]: h for h in handed})
        if self.status[sid] == FINISHED:
            self.readiness.finished(sid)
        elif not self.plan.get("continue_on_step_failure"):
            self.stop_starting = True


def reuse_ahead(context: df.DurableOrchestrationContext, run: _Run) -> Generator[Any, Any, None]:
    """``steps_reuse``: every step that reuses an earlier result, recorded in one activity, marked Finished here
    (a fully reused pipeline costs one activity, not a ``step_run`` per step). When the call fails, the steps
    start as usual and each one's ``step_start`` decides."""
    order = run.readiness.order
    ready = sorted(run.readiness.ready, key=order.__getitem__)
    payload = {
        "run_id": run.run_id,
        "ready": ready,
        "depends_on": {s["id"]: list(s["depends_on"]) for s in run.plan["steps"]},
    }
    try:
        answer: ReusedAhead = yield from outages.call_activity(context, ACTIVITY_STEPS_REUSE, payload, run.window)
    except Exception:  # noqa: BLE001 (an activity failure: the usual way still works)
        return
    reused = answer.get("reused") or {}
    for sid in reused:
        run.status[sid] = FINISHED
        run.readiness.finished(sid)
    if reused:
        run.first = False  # steps_reuse set the run Running
        run.readiness.ready = [sid for sid in run.readiness.ready if run.status[sid] == NOT_STARTED]


@function_name(bp, ORCHESTRATOR_PIPELINE_RUN)
@orchestration(bp)
def pipeline_run(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Optional[dict[str, Any]]]:
    plan = context.get_input()
    run = _Run(plan)
    if plan.get("reuse_ahead") and "state" not in plan:  # the first generation only
        yield from reuse_ahead(context, run)
    cancel: Any = None
    waited_on: set[int] = set()  # id() of every task a task_any of this execution waited on
    while True:
        if not run.stop_starting:
            ready = run.readiness.take()
            if ready and run.completions >= GENERATION_STEPS and not run.pending():
                context.continue_as_new(run.carried())
                return None
            for step in ready:
                run.status[step["id"]] = RUNNING
                run.running[step["id"]] = context.call_sub_orchestrator(
                    ORCHESTRATOR_STEP_RUN, run.step_input(step), step_instance_id(run.run_id, step["id"])
                )
        if not run.pending():
            break  # pipeline_finished records what is left
        for sid, entry in sorted(run.unrecorded.items()):
            run.record(context, sid, entry)
        run.unrecorded.clear()
        pending = run.pending()
        if not run.canceled and (cancel is None or any(id(t) not in waited_on for t in pending)):
            cancel = context.wait_for_external_event(EVENT_CANCEL)  # see "Cancel" in the module docstring
        waiting = pending if run.canceled else [*pending, cancel]
        waited_on.update(id(t) for t in waiting)
        winner = yield context.task_any(waiting)
        if winner is cancel:
            run.canceled = run.stop_starting = True
            yield from outages.call_activity(
                context, ACTIVITY_STEPS_CANCEL, {"run_id": run.run_id, "step_ids": sorted(run.running)}, run.window
            )
            continue
        waited = next((k for k, t in run.record_waits.items() if t is winner), None)
        if waited is not None:
            del run.record_waits[waited]
            run.record(context, waited, run.record_entries[waited])
            continue
        recorded = next((k for k, t in run.recording.items() if t is winner), None)
        if recorded is not None:
            run.recorded(context, recorded, winner)
            continue
        sid = next(k for k, t in run.running.items() if t is winner)
        del run.running[sid]
        run.completions += 1
        run.ended(sid, step_outcome(winner))
    status = FAILED if run.outage and not run.canceled else final_status(run.status, run.canceled)
    summary: dict[str, Any] = {"run_id": run.run_id, "status": status, "steps": run.status}
    if run.outage:
        summary["error"] = run.outage
    finished = {**summary, "record_first": [entry for _, entry in sorted(run.unrecorded.items())]}
    yield from outages.call_activity(context, ACTIVITY_PIPELINE_FINISHED, finished, run.window)
    if run.plan.get("notify"):
        yield from _notify(context, run.run_id)
    return summary


def _notify(context: df.DurableOrchestrationContext, run_id: str) -> Generator[Any, Any, None]:
    """Send the run-finished notice, retried with backoff (2 s doubling, NOTIFY_ATTEMPTS tries); a receiver
    that keeps refusing does not change the run's outcome (the activity's failures are in the host log)."""
    delay = NOTIFY_FIRST_RETRY_S
    for attempt in range(NOTIFY_ATTEMPTS):
        try:
            yield context.call_activity(ACTIVITY_NOTIFY_RUN_FINISHED, {"run_id": run_id})
            return
        except Exception:  # noqa: BLE001 (an activity failure, whatever the receiver did)
            if attempt + 1 == NOTIFY_ATTEMPTS:
                return
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=delay))
        delay *= 2
