"""The base of the trigger listeners (:class:`Listener`): the task set, a crash-proof invoke, and a thread
hop for blocking storage calls. The listeners (blob, queue, timer) subclass it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar

from funchost.config import HostConfig
from funchost.functions import FunctionInfo
from funchost.invoke import Invoker
from funchost.storage import BlobLease, Connections, host_id

T = TypeVar("T")


class Listener:
    """Base of the trigger listeners: background tasks, invocation with error logging, stop."""

    trigger_type = ""

    def __init__(
        self,
        config: HostConfig,
        functions: list[FunctionInfo],
        invoker: Invoker,
        connections: Connections,
        log: logging.Logger,
    ) -> None:
        self.config = config
        self.functions = [f for f in functions if f.trigger_type == self.trigger_type]
        self.invoker = invoker
        self.connections = connections
        self.log = log
        self.host_id = host_id(config)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False

    async def start(self) -> None:
        """Spawn the background tasks (subclasses add theirs with :meth:`spawn`)."""
        self._stopping = False

    async def stop(self) -> None:
        """Cancel every background task and wait for them to finish."""
        self._stopping = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run ``coro`` as a tracked background task; an unexpected crash is logged, not lost."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            self.log.error(
                "%s task %s stopped: %s: %s",
                type(self).__name__,
                task.get_name(),
                type(exc).__name__,
                exc,
                exc_info=exc,
            )

    async def blocking(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking storage SDK call off the event loop."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def invoke(
        self, fi: FunctionInfo, trigger_value: Any, binding_data: dict[str, Any], reason: str = ""
    ) -> bool:
        """Invoke ``fi``; True on success. A failure is logged with the function name, never raised."""
        self.log.info("Executing 'Functions.%s' (Reason='%s')", fi.name, reason or self.trigger_type)
        try:
            await self.invoker.call(fi, trigger_value, binding_data)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # user code failed: a failed invocation, the listener carries on
            self.log.error("Executed 'Functions.%s' (Failed): %s: %s", fi.name, type(exc).__name__, exc, exc_info=exc)
            return False
        self.log.info("Executed 'Functions.%s' (Succeeded)", fi.name)
        return True

    @contextlib.asynccontextmanager
    async def renewed(self, lease: BlobLease, what: str) -> AsyncIterator[None]:
        """Keep ``lease`` renewed (every third of its duration) while the body runs."""

        async def renew_loop() -> None:
            while True:
                await asyncio.sleep(lease.duration / 3)
                if not await self.blocking(lease.renew):
                    self.log.warning("lost the lease on %s while processing it", what)
                    return

        task = asyncio.get_running_loop().create_task(renew_loop())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def sleep(self, seconds: float) -> None:
        """Sleep (cancellable by :meth:`stop`)."""
        await asyncio.sleep(max(0.0, seconds))
