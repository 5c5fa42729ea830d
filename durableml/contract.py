"""The contract between the orchestrators, the activities and the service: names and shapes, nothing else.

Standard library only, so that the orchestrators (deterministic code the Durable Functions SDK replays)
can import it, and so can the service, the activities, the compute backends and the SDK.

Who uses what::

    triggers/api.py        starts ORCHESTRATOR_PIPELINE_RUN with a PipelinePlan, raises EVENT_CANCEL
    pipeline_run           calls ORCHESTRATOR_STEP_RUN (StepWork) and the activities below; first, when the plan
                           says ``reuse_ahead``, ACTIVITY_STEPS_REUSE (ReuseAhead -> ReusedAhead)
    step_run               calls ACTIVITY_STEP_START / ACTIVITY_STEP_COMPLETE, waits for EVENT_STEP_DONE,
                           calls ACTIVITY_STEP_TIMED_OUT when the step's time limit passes first
    compute backends       raise EVENT_STEP_DONE with a job report (durableml.compute.base.job_report)
    durableml.service      implements the activities, writes records with the Status names

Statuses are Azure ML v1's run statuses; a step run and a pipeline run use the same names.
"""

from __future__ import annotations

from typing import Any, Final, Literal, NotRequired, TypedDict

__all__ = [
    "ACTIVITY_NOTIFY_RUN_FINISHED",
    "ACTIVITY_PIPELINE_FINISHED",
    "ACTIVITY_STEP_COMPLETE",
    "ACTIVITY_STEP_START",
    "ACTIVITY_STEP_TIMED_OUT",
    "ACTIVITY_STEPS_CANCEL",
    "ACTIVITY_STEPS_REUSE",
    "EVENT_CANCEL",
    "EVENT_STEP_DONE",
    "ORCHESTRATOR_PIPELINE_RUN",
    "ORCHESTRATOR_STEP_RUN",
    "CANCELED",
    "FAILED",
    "FINISHED",
    "NOT_STARTED",
    "QUEUED",
    "RUNNING",
    "STATUSES",
    "TERMINAL",
    "Handover",
    "PipelinePlan",
    "PlanState",
    "PlanStep",
    "StepPending",
    "StepResult",
    "StepStart",
    "StepWork",
    "ReuseAhead",
    "ReusedAhead",
    "Status",
    "step_instance_id",
    "OUTAGE_MARKER",
    "DEFAULT_OUTAGE_WINDOW_S",
    "is_outage_failure",
]

# ------------------------------------------------------------------------------------------------ statuses
Status = Literal["NotStarted", "Queued", "Running", "Finished", "Failed", "Canceled"]
NOT_STARTED: Final = "NotStarted"
QUEUED: Final = "Queued"
RUNNING: Final = "Running"
FINISHED: Final = "Finished"
FAILED: Final = "Failed"
CANCELED: Final = "Canceled"
STATUSES: Final = (NOT_STARTED, QUEUED, RUNNING, FINISHED, FAILED, CANCELED)
TERMINAL: Final = frozenset({FINISHED, FAILED, CANCELED})

# ------------------------------------------------------------------------------------------ function names
ORCHESTRATOR_PIPELINE_RUN: Final = "pipeline_run"
ORCHESTRATOR_STEP_RUN: Final = "step_run"
ACTIVITY_STEP_START: Final = "step_start"
ACTIVITY_STEP_COMPLETE: Final = "step_complete"
ACTIVITY_STEP_TIMED_OUT: Final = "step_timed_out"
ACTIVITY_STEPS_CANCEL: Final = "steps_cancel"
ACTIVITY_STEPS_REUSE: Final = "steps_reuse"
ACTIVITY_PIPELINE_FINISHED: Final = "pipeline_finished"
ACTIVITY_NOTIFY_RUN_FINISHED: Final = "notify_run_finished"

# ---------------------------------------------------------------------------------------------- events
EVENT_STEP_DONE: Final = "step_done"  # raised on a step_run instance by the compute side; payload: job report
EVENT_CANCEL: Final = "cancel"  # raised on a pipeline_run instance by POST /api/runs/{id}/cancel


def step_instance_id(run_id: str, step_id: str) -> str:
    """The instance id of a step's ``step_run`` sub-orchestration."""
    return f"{run_id}:{step_id}"


# ------------------------------------------------------------------------------------------ storage outages
# An activity that failed because storage did not answer raises durableml.exceptions.StorageUnavailableError; the
# orchestrations retry exactly those (orchestrators/outages.py) for the plan's ``outage_window_s`` (see
# durableml.service.outages, which sets it from the app setting).
OUTAGE_MARKER: Final = "StorageUnavailableError"
DEFAULT_OUTAGE_WINDOW_S: Final = 600.0


def is_outage_failure(failure: Any) -> bool:
    """Whether an activity's failure (the exception an orchestration sees, or its text) was a storage outage."""
    return isinstance(failure, (BaseException, str)) and OUTAGE_MARKER in str(failure)


# ---------------------------------------------------------------------------------------------- shapes
class PlanStep(TypedDict):
    """One step of the execution plan (topological order)."""

    id: str
    name: str
    depends_on: list[str]
    step_run_id: str


class PlanState(TypedDict):
    """What a new generation of ``pipeline_run`` (continue_as_new) starts from."""

    status: dict[str, str]
    unrecorded: dict[str, Handover]
    first: bool


class PipelinePlan(TypedDict):
    """``pipeline_run``'s input, derived by the service from a validated pipeline document."""

    run_id: str
    continue_on_step_failure: bool
    steps: list[PlanStep]
    outage_window_s: NotRequired[float]
    record_text: NotRequired[str]  # the run's record as created, packed (service.runs.pack_record; reconcile reads it)
    record: NotRequired[dict[str, Any]]  # the same, unpacked, in plans made before record_text
    notify: NotRequired[bool]
    reuse_ahead: NotRequired[bool]  # some step may reuse an earlier result: try them all at once first
    state: NotRequired[PlanState]


class Handover(TypedDict):
    """An ended step whose result another activity records (``record_first``)."""

    step: PlanStep
    report: Any


class StepWork(TypedDict):
    """``step_run``'s input, and (with ``report``) the input of ``step_start`` / ``step_complete``."""

    run_id: str
    step: PlanStep
    outage_window_s: NotRequired[float]
    defer_record: NotRequired[bool]
    record_first: NotRequired[list[Handover]]
    pipeline_running: NotRequired[bool]
    submitted: NotRequired[bool]
    poll_s: NotRequired[float]
    timeout: NotRequired[dict[str, Any]]
    deadline: NotRequired[str]
    report: NotRequired[Any]


class StepResult(TypedDict):
    """What ``step_run`` returns to ``pipeline_run``: the step's outcome (``report`` when not recorded yet)."""

    status: str
    step_run_id: str | None
    error: str | None
    reused_from: NotRequired[str | None]
    report: NotRequired[Any]
    orchestration_failed: NotRequired[bool]


class StepPending(TypedDict):
    """``step_complete``'s answer while the step's job has not ended: its state (Queued or Running)."""

    pending: str


class StepStart(TypedDict):
    """``step_start``'s answer: ``result`` when the step is already decided (reused or failed), else empty or,
    for a step with a time limit, ``timeout``: ``{"seconds": float, "source": str}`` (``step_timed_out``'s input)."""

    result: NotRequired[StepResult]
    timeout: NotRequired[dict[str, Any]]


class ReuseAhead(TypedDict):
    """``steps_reuse``'s input: the run, the steps ready to start, and every plan step's upstream step ids."""

    run_id: str
    ready: list[str]
    depends_on: dict[str, list[str]]


class ReusedAhead(TypedDict):
    """``steps_reuse``'s answer: the steps it recorded as reused (each as ``step_run`` would have returned it), in
    the order it reused them; the run was set Running if there is any."""

    reused: dict[str, StepResult]
