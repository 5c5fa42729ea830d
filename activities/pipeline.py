"""Activities of the pipeline orchestrations: each parses its input and calls one service function.

Their names are the contract's (``durableml.contract``), which the orchestrators call them by. A failure because
storage did not answer leaves each of them as ``StorageUnavailableError``, which the orchestrations retry
(``durableml.service.outages``); any other failure is not retried.
"""

from __future__ import annotations

import asyncio
from typing import Any

import azure.durable_functions as df

from app_decorators import activity, durable_client, function_name
from durableml import contract
from durableml.service import runtime
from durableml.service.outages import raising_unavailable

bp = df.Blueprint()


@function_name(bp, contract.ACTIVITY_PIPELINE_FINISHED)
@activity(bp)
@raising_unavailable
def pipeline_finished(payload: dict[str, Any]) -> None:
    runtime.pipeline_finished(
        payload["run_id"],
        payload["status"],
        payload["steps"],
        payload.get("record_first") or (),
        payload.get("error"),
    )


@function_name(bp, contract.ACTIVITY_STEP_START)
@activity(bp)
@durable_client(bp)
@raising_unavailable
async def step_start(payload: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    instance_id = contract.step_instance_id(payload["run_id"], payload["step"]["id"])
    notify = client.create_http_management_payload(instance_id)["sendEventPostUri"]
    # blocking storage calls: off the event loop, which serves every other function of the host
    return await asyncio.to_thread(
        runtime.step_start,
        payload["run_id"],
        payload["step"],
        notify,
        payload.get("record_first") or (),
        bool(payload.get("pipeline_running")),
    )


@function_name(bp, contract.ACTIVITY_STEPS_REUSE)
@activity(bp)
@raising_unavailable
def steps_reuse(payload: dict[str, Any]) -> dict[str, Any]:
    return runtime.steps_reuse(payload["run_id"], payload["ready"], payload["depends_on"])


@function_name(bp, contract.ACTIVITY_STEP_COMPLETE)
@activity(bp)
@raising_unavailable
def step_complete(payload: dict[str, Any]) -> dict[str, Any]:
    return runtime.step_poll(payload["run_id"], payload["step"], payload.get("report"))


@function_name(bp, contract.ACTIVITY_STEP_TIMED_OUT)
@activity(bp)
@raising_unavailable
def step_timed_out(payload: dict[str, Any]) -> dict[str, Any]:
    return runtime.step_timed_out(payload["run_id"], payload["step"], payload["timeout"])


@function_name(bp, contract.ACTIVITY_STEPS_CANCEL)
@activity(bp)
@raising_unavailable
def steps_cancel(payload: dict[str, Any]) -> None:
    runtime.steps_cancel(payload["run_id"], payload["step_ids"])
