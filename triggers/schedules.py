"""Schedules: the HTTP routes that manage them and the timer that fires them (durableml.service.schedules).

``schedule_tick`` runs every ``TICK`` (5 s): time-based schedules fire within a tick of their occurrence,
data-change schedules poll their path every ``polling_interval`` minutes. Creating a schedule ticks it
at once, so a recurrence without start_time starts its first run immediately, as in v1.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any, Mapping

import azure.durable_functions as df
import azure.functions as func

from durableml.service import record_types as rt
from durableml.service import runs, schedules
from durableml.service.schedules import Firing
from triggers.api import _body, _respond, orchestration_exists, start_run
from app_decorators import durable_client, route, timer

bp = df.Blueprint()
log = logging.getLogger("durableml.schedules")
TICK = "*/5 * * * * *"


def _starter(client: df.DurableOrchestrationClient, loop: asyncio.AbstractEventLoop) -> schedules.Starter:
    """Start a firing's run from the tick's worker thread, on the host's event loop (the durable client is async)."""

    def start(firing: Firing) -> Mapping[str, Any]:
        future = asyncio.run_coroutine_threadsafe(start_firing(client, firing), loop)
        return future.result(timeout=120)

    return start


async def start_firing(client: df.DurableOrchestrationClient, firing: Firing) -> Mapping[str, Any]:
    """Start the firing's run (id ``firing.run_id``) unless its orchestration exists already."""
    if await orchestration_exists(client, firing.run_id):
        return await asyncio.to_thread(runs.get_run, firing.run_id)
    record, plan = await asyncio.to_thread(schedules.create_run, firing)
    await start_run(client, record, plan)
    return record


@timer(bp, "timer", TICK)
@durable_client(bp)
async def schedule_tick(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    loop = asyncio.get_running_loop()
    started = await asyncio.to_thread(schedules.tick, _starter(client, loop))
    if started:
        log.info("schedules started %d run(s): %s", len(started), ", ".join(s["run_id"] for s in started))


@route(bp, "schedules", ["GET", "POST"])
@durable_client(bp)
async def schedule_collection(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    if req.method == "GET":
        filters = {k: req.params.get(k) for k in ("activeOnly", "pipelineId", "pipelineEndpointId")}
        return await _respond(
            lambda: schedules.list_schedules({k: v for k, v in filters.items() if v is not None}),
            shape=list[rt.Schedule],
        )
    return await _respond(functools.partial(_create, req, client), 201, rt.Schedule)


async def _create(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> dict[str, Any]:
    record = await asyncio.to_thread(schedules.create, _body(req))
    loop = asyncio.get_running_loop()
    await asyncio.to_thread(schedules.tick, _starter(client, loop), None, record["id"])  # v1: first run at once
    return await asyncio.to_thread(schedules.get, record["id"])


@route(bp, "schedules/{schedule_id}", ["GET", "PATCH"])
async def schedule_item(req: func.HttpRequest) -> func.HttpResponse:
    schedule_id = req.route_params["schedule_id"]
    if req.method == "PATCH":
        return await _respond(lambda: schedules.update(schedule_id, _body(req)), shape=rt.Schedule)
    return await _respond(lambda: schedules.get(schedule_id), shape=rt.Schedule)


@route(bp, "schedules/{schedule_id}/runs", ["GET"])
async def schedule_runs(req: func.HttpRequest) -> func.HttpResponse:
    def started() -> list[dict[str, Any]]:
        found = []
        for firing in schedules.firings(req.route_params["schedule_id"]):
            try:
                found.append({**runs.get_run(firing["run_id"]), "trigger": firing["cause"]})
            except LookupError:
                continue  # claimed but not started yet
        return found

    return await _respond(started, shape=list[rt.ScheduleRun])
