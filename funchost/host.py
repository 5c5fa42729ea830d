"""The composition root: builds every part of funchost for one app and runs it until stopped."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any, Optional

from aiohttp import web

from funchost import azurite, keys as keys_mod
from funchost.azurite import StartingAzurite
from funchost.supervisor import AzuriteSupervisor
from funchost.config import (
    DEFAULT_RPC_PORT as DEFAULT_RPC_PORT,
    HostConfig,
    load_host_json,
    load_local_settings,
    max_request_bytes,
    storage_configured,
)
from funchost.durable.client_ops import DurableClientOps
from funchost.durable.engine import DurableEngine
from funchost.durable.http_api import DurableHttpApi, DurableUrls, guarded
from funchost.durable import rpc_key, sdk_speedups
from funchost.durable.store import Store
from funchost.errors import FunchostError
from funchost.functions import FunctionIndex, load_app
from funchost.invoke import Invoker
from funchost.ports import free_port as free_port  # re-exported: tests and older callers import it from here
from funchost.server import HttpTriggers, require

log = logging.getLogger("funchost")
STORAGE_SETTING = "AzureWebJobsStorage"
RPC_BIND = "127.0.0.1"


class Host:
    """One running function app: HTTP server, rpc listener, Durable engine, trigger listeners."""

    def __init__(
        self, config: HostConfig, rpc_port: int, early_storage: Optional[tuple[Optional[StartingAzurite]]] = None
    ) -> None:
        self.config = config
        self.rpc_port = rpc_port
        # (what funchost.cli._begin_storage gave) when the CLI began Azurite before importing this module: not again
        self.early_storage = early_storage
        self.supervisor: Optional[AzuriteSupervisor] = None
        self.storage_note: dict[str, Any] = {"supervised": False, "reason": "no storage connection is configured"}
        self.index: Optional[FunctionIndex] = None
        self.engine: Optional[DurableEngine] = None
        self.listeners: list[Any] = []
        self.runners: list[web.AppRunner] = []
        self.started_at = time.monotonic()
        self.speedups: Optional[sdk_speedups.SpeedupReport] = None

    # ---------------------------------------------------------------- start / stop
    async def start(self) -> None:
        cfg = self.config
        load_local_settings(cfg.app_dir)
        # the app's own host name, as the Functions host sets it (Core Tools: localhost:<port>)
        os.environ.setdefault("WEBSITE_HOSTNAME", cfg.base_url.split("://", 1)[-1].rstrip("/"))
        try:
            starting = self._ensure_storage()  # Node starts Azurite while this process imports the app
        except BaseException:
            if self.early_storage is not None and self.early_storage[0] is not None:
                self.early_storage[0].stop()
            raise
        try:
            self.index = load_app(cfg.app_dir)
            if starting is not None:
                self.supervisor = AzuriteSupervisor(await asyncio.to_thread(starting.wait), log)
        except BaseException:
            if starting is not None and self.supervisor is None:
                starting.stop()
            raise
        if self.supervisor is not None:
            self.supervisor.start()
        self.speedups = sdk_speedups.install()
        for name, why in self.speedups.skipped.items():
            log.info("Durable SDK speed-up '%s' not applied: %s", name, why)
        self.keys = keys_mod.load_or_create(cfg.state_dir)
        self.store = Store(cfg.state_dir / "durable.sqlite3")
        rpc_base = f"http://{RPC_BIND}:{self.rpc_port}/durabletask/"
        self.urls = DurableUrls(cfg.base_url, rpc_base, cfg.hub_name, "Storage", self.keys.durable_system_key)
        if not rpc_key.install(rpc_base, self.keys.durable_system_key):
            raise FunchostError(
                "the installed azure-functions-durable has no http_utils._get_session: funchost cannot give its "
                "client the rpc listener's key; install the version requirements.txt pins"
            )
        threads = int(os.environ.get("PYTHON_THREADPOOL_THREAD_COUNT", str(max(cfg.max_concurrent_activities, 8))))
        self.invoker = Invoker(str(cfg.app_dir), self._bindings(), self._client_binding_json, threads)
        self.engine = DurableEngine(
            self.store,
            self.index,
            self.invoker,
            log,
            cfg.max_concurrent_activities,
            cfg.max_concurrent_orchestrators,
            cfg.durable,
        )
        self.ops = DurableClientOps(self.store, self.index, self.engine.wake)
        self.api = DurableHttpApi(self.ops, self.urls)
        await self._serve()
        await self.engine.start()
        await self._start_listeners()

    async def stop(self) -> None:
        for listener in self.listeners:
            try:
                await listener.stop()
            except Exception as exc:  # keep stopping the rest
                log.warning("stopping %s failed: %s", type(listener).__name__, exc)
        if self.engine:
            await self.engine.stop()
        await _close_durable_client_session()
        for runner in self.runners:
            await runner.cleanup()
        if getattr(self, "store", None):
            self.store.close()
        if self.supervisor is not None:
            await self.supervisor.stop()

    @property
    def azurite(self) -> Optional[azurite.AzuriteHandle]:
        """The Azurite funchost started and supervises (the current process after a restart), if any."""
        return self.supervisor.handle if self.supervisor is not None else None

    def storage_unavailable(self) -> Optional[str]:
        """None unless the supervised Azurite is down (then what a request answered 503 says)."""
        return self.supervisor.unavailable() if self.supervisor is not None else None

    def _ensure_storage(self) -> Optional[StartingAzurite]:
        """The Azurite being started for a local connection string that nothing serves yet, else None."""
        conn = os.environ.get(STORAGE_SETTING)
        if not conn and storage_configured(os.environ):
            self.storage_note = {
                "supervised": False,
                "reason": "identity-based storage: not an Azurite funchost started",
            }
            log.info("storage: identity-based %s settings (no connection string)", STORAGE_SETTING)
            return None
        if not conn:
            log.warning(
                "%s is not set: blob/queue/timer triggers are off. Set it in local.settings.json "
                "(UseDevelopmentStorage=true for Azurite).",
                STORAGE_SETTING,
            )
            return None
        endpoints = azurite.local_endpoints(conn)
        if not endpoints:
            self.storage_note = {
                "supervised": False,
                "reason": f"{STORAGE_SETTING} names a storage account that is not a local emulator: "
                "not started by funchost",
            }
            return None
        if self.early_storage is not None:
            starting = self.early_storage[0]
        else:
            starting = azurite.begin_azurite(
                endpoints, self.config.state_dir / "azurite", log.info, app_dir=self.config.app_dir
            )
        if starting is None:
            host, port = endpoints[0]
            self.storage_note = {
                "supervised": False,
                "reason": f"the storage emulator at {host}:{port} was running before funchost started: not started by "
                "funchost, so funchost neither restarts nor stops it",
            }
            log.info("storage: %s", self.storage_note["reason"])
            return None
        return starting

    def _bindings(self) -> Any:
        if not storage_configured(os.environ):
            return None
        from funchost.bindings import StorageBindings
        from funchost.storage import Connections

        self.connections = Connections()
        return StorageBindings(self.connections, self.config)

    async def _start_listeners(self) -> None:
        if not storage_configured(os.environ) or self.index is None:
            return
        import funchost.triggers as triggers

        listeners: dict[str, Any] = getattr(triggers, "LISTENERS", {})
        for trigger_type, cls in listeners.items():
            functions = self.index.by_trigger(trigger_type)
            if functions:
                listener = cls(self.config, functions, self.invoker, self.connections, log)
                await listener.start()
                self.listeners.append(listener)

    def _client_binding_json(self, binding: dict[str, Any]) -> str:
        import json

        data = self.urls.client_binding()
        if binding.get("taskHub"):
            data["taskHubName"] = binding["taskHub"]
        return json.dumps(data)

    # ---------------------------------------------------------------- HTTP
    async def _serve(self) -> None:
        assert self.index is not None
        app = web.Application(client_max_size=max_request_bytes())
        app.router.add_get("/admin/host/status", self._host_status)
        app.router.add_get("/admin/funchost/metrics", require(self.keys, "ADMIN")(self._metrics))
        app.router.add_get(
            "/admin/funchost/instances/{iid}/history", require(self.keys, "ADMIN")(guarded(self.api.raw_history))
        )
        self.api.add_routes(app, "/runtime/webhooks/durabletask", guard=require(self.keys, "SYSTEM"))
        self.http = HttpTriggers(
            self.index.by_trigger("httpTrigger"),
            self.invoker,
            self.keys,
            self.config.route_prefix,
            log,
            storage_unavailable=self.storage_unavailable,
        )
        self.http.add_routes(app)
        rpc = web.Application(client_max_size=max_request_bytes())
        # the whole management API: the same key as the public webhook API (the SDK's client sends it in a
        # header, funchost.durable.rpc_key)
        self.api.add_routes(rpc, "/durabletask", guard=require(self.keys, "SYSTEM"))
        # the rpc listener is for this process's own client: loopback only, whatever --bind says
        for application, bind, port in ((app, self.config.bind, self.config.port), (rpc, RPC_BIND, self.rpc_port)):
            runner = web.AppRunner(application, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, bind, port).start()
            self.runners.append(runner)
        log.info("Durable rpc listener: %s (the system or master key required)", self.urls.rpc_base)

    async def _host_status(self, request: web.Request) -> web.Response:
        """``Running``, or ``Degraded`` with the reason while the Azurite funchost supervises is down."""
        body: dict[str, Any] = {
            "state": "Running",
            "version": "funchost",
            "processUptime": int((time.monotonic() - self.started_at) * 1000),
        }
        if self.speedups is not None:
            body["sdkSpeedups"] = self.speedups.as_json()
        if self.supervisor is None:
            body["storage"] = dict(self.storage_note)
        else:
            body["storage"] = self.supervisor.status()
            down = self.supervisor.unavailable()
            if down is not None:
                body["state"], body["reason"] = "Degraded", down
        return web.json_response(body)

    async def _metrics(self, request: web.Request) -> web.Response:
        assert self.engine is not None
        return web.json_response(await asyncio.get_running_loop().run_in_executor(None, self.engine.metrics))

    def describe(self) -> str:
        """The function list printed at start, like `func start`."""
        assert self.index is not None
        lines = ["Functions:", ""]
        http = {name: (methods, url) for name, methods, url in self.http.urls(self.config.base_url)}
        for f in self.index.functions:
            if f.name in http:
                methods, url = http[f.name]
                lines.append(f"        {f.name}: [{','.join(methods)}] {url}")
            else:
                lines.append(f"        {f.name}: {f.trigger_type}")
        return "\n".join(lines)


async def _close_durable_client_session() -> None:
    """The Durable SDK keeps one shared aiohttp session per process; close it so shutdown is clean."""
    from azure.durable_functions.models.utils import http_utils

    close = getattr(http_utils, "_close_session", None)
    if close is not None:
        await close()


def build_config(app_dir: Path, port: int, state_dir: Optional[Path], bind: str = "127.0.0.1") -> HostConfig:
    app_dir = app_dir.resolve()
    return HostConfig(
        app_dir=app_dir,
        state_dir=(state_dir or app_dir / ".funchost").resolve(),
        host_json=load_host_json(app_dir),
        port=port,
        bind=bind,
    )
