"""The Durable Task engine of funchost: dispatches orchestration episodes and activity work items.

Two asyncio loops share one store. The orchestration loop finds instances with visible inbox messages
and runs one episode per instance at a time (at most ``maxConcurrentOrchestratorFunctions`` at once);
the activity loop runs work items (at most ``maxConcurrentActivityFunctions`` at once) and commits each
result together with the removal of its work item, so a result is recorded exactly once even if the
activity itself ran twice across a crash.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

from azure.functions.durable_functions import ActivityTriggerConverter
from azure.functions import meta

from funchost.durable import history as h
from funchost.durable import http_activity
from funchost.durable.entities import DEFAULT_BATCH_SIZE, EntityRunner, is_entity
from funchost.durable.episode import EpisodeRunner
from funchost.durable.http_activity import HTTP_ACTIVITY, HttpSettings
from funchost.durable.history import EventType
from funchost.durable.store import NewMessage, Store, WorkItem
from funchost.functions import FunctionIndex, FunctionInfo
from funchost.invoke import Invoker


class DurableEngine:
    """Runs orchestrations and activities for one task hub."""

    def __init__(
        self,
        store: Store,
        index: FunctionIndex,
        invoker: Invoker,
        log: logging.Logger,
        max_activities: int,
        max_orchestrators: int,
        durable_settings: Optional[dict[str, Any]] = None,
    ) -> None:
        self.store = store
        self.index = index
        self.invoker = invoker
        self.log = log
        self.max_activities = max(1, max_activities)
        self.max_orchestrators = max(1, max_orchestrators)
        self._episode_pool = ThreadPoolExecutor(
            max_workers=self.max_orchestrators, thread_name_prefix="funchost-orchestrator"
        )
        settings = durable_settings or {}
        self.episodes = EpisodeRunner(store, index, log, self._call_orchestrator)
        self.entities = EntityRunner(
            store,
            index,
            log,
            self._call_orchestrator,
            int(settings.get("maxEntityOperationBatchSize", DEFAULT_BATCH_SIZE)),
        )
        self.http_settings = HttpSettings.from_durable(settings)
        self._busy_instances: set[str] = set()
        self._running_work: set[int] = set()
        self._wake_orch = asyncio.Event()
        self._wake_work = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._inflight: set[asyncio.Task[Any]] = set()
        self.activities_run = 0

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._orchestration_loop(), name="durable-orchestrations"),
            asyncio.create_task(self._activity_loop(), name="durable-activities"),
        ]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in [*self._tasks, *self._inflight]:
            try:
                await asyncio.wait_for(asyncio.shield(t), timeout=5) if t in self._inflight else await t
            except (asyncio.CancelledError, asyncio.TimeoutError, Exception):
                pass
        self._episode_pool.shutdown(wait=False, cancel_futures=True)

    def wake(self) -> None:
        """Something was written to the store: look for work now."""
        self._wake_orch.set()
        self._wake_work.set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    # ---------------------------------------------------------------- orchestrations
    async def _orchestration_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake_orch.clear()
            free = self.max_orchestrators - len(self._busy_instances)
            if free > 0:
                ready = await loop.run_in_executor(
                    self._episode_pool, self.store.ready_instances, time.time(), set(self._busy_instances), free
                )
                for iid in ready:
                    self._busy_instances.add(iid)
                    self._spawn(self._episode(iid))
            await self._sleep_until_due(self._wake_orch)

    async def _sleep_until_due(self, event: asyncio.Event) -> None:
        due = self.store.next_visible_time()
        timeout = 1.0 if due is None else min(1.0, max(0.0, due - time.time()))
        if timeout <= 0 and not self._busy_instances:
            timeout = 0.01
        try:
            await asyncio.wait_for(event.wait(), timeout=max(timeout, 0.005))
        except asyncio.TimeoutError:
            pass

    async def _episode(self, instance_id: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            if is_entity(instance_id):
                await loop.run_in_executor(self._episode_pool, self.entities.run, instance_id)
            else:
                outcome = await loop.run_in_executor(self._episode_pool, self.episodes.run, instance_id)
                if outcome.new_work:
                    self._wake_work.set()
        except Exception:
            self.log.error(
                "episode of %s failed in the host; it will be retried:\n%s", instance_id, traceback.format_exc()
            )
            await asyncio.sleep(0.5)
        finally:
            self._busy_instances.discard(instance_id)
            self._wake_orch.set()

    def _call_orchestrator(self, fi: FunctionInfo, context_json: str) -> str:
        """Call an orchestrator's or entity's SDK handle with its context JSON (positionally, as the worker)."""
        return str(fi.user_fn(context_json))

    # ---------------------------------------------------------------- activities
    async def _activity_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake_work.clear()
            free = self.max_activities - len(self._running_work)
            if free > 0:
                items = await loop.run_in_executor(None, self.store.pending_work, set(self._running_work), free)
                for item in items:
                    self._running_work.add(item.seq)
                    self._spawn(self._run_activity(item))
            try:
                await asyncio.wait_for(self._wake_work.wait(), timeout=1.0)
            except asyncio.TimeoutError:
                pass

    async def _run_activity(self, item: WorkItem) -> None:
        try:
            event = await self._execute_activity(item)
            await asyncio.get_running_loop().run_in_executor(None, self._commit_activity, item, event)
            self.activities_run += 1
        except Exception:
            self.log.error(
                "activity %s of %s could not be recorded; it will run again:\n%s",
                item.name,
                item.instance_id,
                traceback.format_exc(),
            )
            await asyncio.sleep(0.5)
        finally:
            self._running_work.discard(item.seq)
            self._wake_work.set()
            self._wake_orch.set()

    async def _execute_activity(self, item: WorkItem) -> dict[str, Any]:
        if item.name == HTTP_ACTIVITY:
            return await self._execute_http(item)
        fi = self.index.durable("activityTrigger", item.name)
        if fi is None:
            return _failed(item, item.name, f"FunctionNotFound: the activity function '{item.name}' is not registered")
        try:
            value = (
                ActivityTriggerConverter.decode(meta.Datum(item.input, "json"), trigger_metadata=None)
                if item.input is not None
                else None
            )
            result = await self.invoker.call(fi, value)
            encoded = ActivityTriggerConverter.encode(result, expected_type=None).value
        except Exception as exc:
            self.log.warning(
                "activity '%s' of %s failed: %s: %s", fi.durable_name, item.instance_id, type(exc).__name__, exc
            )
            return _failed(item, fi.durable_name, f"{type(exc).__name__}: {exc}", traceback.format_exc())
        return h.event(EventType.TaskCompleted, h.now(), TaskScheduledId=item.task_id, Result=encoded)

    async def _execute_http(self, item: WorkItem) -> dict[str, Any]:
        """call_http: TaskCompleted with the DurableHttpResponse, or TaskFailed with the error's message."""
        try:
            result = await http_activity.run(item.input or "null", self.http_settings)
        except Exception as exc:
            self.log.warning("call_http of %s failed: %s: %s", item.instance_id, type(exc).__name__, exc)
            reason, details = http_activity.failure_message(exc)
            return h.event(
                EventType.TaskFailed,
                h.now(),
                TaskScheduledId=item.task_id,
                Reason=reason,
                Details=details,
                FailureDetails=None,
            )
        return h.event(EventType.TaskCompleted, h.now(), TaskScheduledId=item.task_id, Result=result)

    def _commit_activity(self, item: WorkItem, event: dict[str, Any]) -> None:
        with self.store.transaction() as tx:
            if tx.finish_work(item.seq):
                tx.send([NewMessage(item.instance_id, item.execution_id, event)])

    # ---------------------------------------------------------------- metrics for benchmarks and status
    def metrics(self) -> dict[str, Any]:
        return {
            "episodes": self.episodes.episodes,
            "entityBatches": self.entities.batches,
            "entityOperations": self.entities.operations,
            "replaySeconds": round(self.episodes.replay_seconds, 4),
            "activities": self.activities_run,
            "runningActivities": len(self._running_work),
            "busyInstances": len(self._busy_instances),
            **self.store.stats(),
        }


def _failed(item: WorkItem, name: str, message: str, stack: Optional[str] = None) -> dict[str, Any]:
    """TaskFailed as the extension writes it for a Python activity (note the double space)."""
    details = json.dumps(
        {
            "ClassName": "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException",
            "Message": f"Result: Failure\nException: {message}\nStack: {stack or ''}",
        }
    )
    return h.event(
        EventType.TaskFailed,
        h.now(),
        TaskScheduledId=item.task_id,
        Reason=f"Activity function '{name}' failed:  {message}",
        Details=details,
        FailureDetails=None,
    )
