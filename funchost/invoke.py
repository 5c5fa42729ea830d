"""Invoking a user function the way the Python worker does: bind inputs, call, apply outputs."""

from __future__ import annotations

import asyncio
import inspect
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Protocol

import azure.functions as func
from azure.functions import _abc

from funchost.functions import FunctionInfo


class BindingProvider(Protocol):
    """Reads input bindings and writes output bindings (blob, queue) for one storage account."""

    def input_value(self, binding: dict[str, Any], binding_data: dict[str, Any]) -> Any: ...

    def write_output(self, binding: dict[str, Any], value: Any, binding_data: dict[str, Any]) -> None: ...


class Out(func.Out):  # type: ignore[type-arg]
    """The ``func.Out[T]`` object handed to user code for an output binding."""

    def __init__(self) -> None:
        self._value: Any = None
        self.was_set = False

    def set(self, val: Any) -> None:
        self._value = val
        self.was_set = True

    def get(self) -> Any:
        return self._value


class _TraceContext(_abc.TraceContext):
    def __init__(self) -> None:
        self._tp = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"

    @property
    def trace_state(self) -> str:
        return ""

    @property
    def trace_parent(self) -> str:
        return self._tp

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _RetryContext(_abc.RetryContext):
    def __init__(self, retry_count: int) -> None:
        self._count = retry_count

    @property
    def retry_count(self) -> int:
        return self._count

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> Any:
        return None


class InvocationContext(func.Context):
    """The concrete ``func.Context`` the worker passes as ``context``."""

    def __init__(self, function_name: str, function_directory: str, retry_count: int = 0) -> None:
        self._invocation_id = str(uuid.uuid4())
        self._function_name = function_name
        self._function_directory = function_directory
        self._trace_context = _TraceContext()
        self._retry_context = _RetryContext(retry_count)
        self._tls = threading.local()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> Any:
        return self._trace_context

    @property
    def retry_context(self) -> Any:
        return self._retry_context

    @property
    def thread_local_storage(self) -> Any:
        return self._tls


class Invoker:
    """Calls user functions: sync ones in a bounded thread pool, async ones on the event loop."""

    def __init__(
        self,
        app_dir: str,
        bindings: BindingProvider | None,
        durable_client_json: Callable[[dict[str, Any]], str],
        threads: int,
    ) -> None:
        self.app_dir = app_dir
        self.bindings = bindings
        self.durable_client_json = durable_client_json
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="funchost-worker")

    async def run_sync(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: fn(*args, **kwargs))

    async def call(self, fi: FunctionInfo, trigger_value: Any, binding_data: dict[str, Any] | None = None) -> Any:
        """Invoke ``fi`` with its trigger value; returns the function's return value.

        ``binding_data`` holds trigger metadata usable in binding expressions (``{name}`` etc.).
        Output bindings set through ``func.Out`` or ``$return`` are written after a successful call.
        """
        data = dict(binding_data or {})
        kwargs: dict[str, Any] = {fi.trigger["name"]: trigger_value}
        outs: dict[str, tuple[dict[str, Any], Out]] = {}
        for b in fi.bindings:
            if b is fi.trigger or b.get("name") == "$return":
                continue
            if b.get("type") == "durableClient":
                kwargs[b["name"]] = self.durable_client_json(b)
            elif b.get("direction") == "OUT":
                out = Out()
                kwargs[b["name"]] = out
                outs[b["name"]] = (b, out)
            elif self.bindings is not None:
                kwargs[b["name"]] = await self.run_sync(self.bindings.input_value, b, data)
        params = inspect.signature(fi.user_fn).parameters
        if "context" in params and "context" not in kwargs:
            kwargs["context"] = InvocationContext(fi.name, self.app_dir)
        if fi.is_async:
            result = await fi.user_fn(**kwargs)
        else:
            result = await self.run_sync(fi.user_fn, **kwargs)
        await self._write_outputs(fi, outs, result, data)
        for binding, out in outs.values():  # an HTTP output binding with a name (v1: "message"), set with .set()
            if binding.get("type") == "http" and out.was_set and result is None:
                result = out.get()
        return result

    async def _write_outputs(
        self, fi: FunctionInfo, outs: dict[str, tuple[dict[str, Any], Out]], result: Any, data: dict[str, Any]
    ) -> None:
        if self.bindings is None:
            return
        for binding, out in outs.values():
            if out.was_set and binding.get("type") != "http":
                await self.run_sync(self.bindings.write_output, binding, out.get(), data)
        for b in fi.bindings:
            if b.get("name") == "$return" and b.get("type") not in ("http",) and result is not None:
                await self.run_sync(self.bindings.write_output, b, result, data)
