"""``funchost start``: run a Python function app (v2 or v1 programming model) locally, like ``func start``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Optional, Sequence

from funchost import azurite
from funchost.azurite import StartingAzurite
from funchost.config import DEFAULT_RPC_PORT, load_local_settings
from funchost.errors import FunchostError

# the host's module (aiohttp, the Durable engine) is imported only after Azurite was begun: see _begin_storage
STORAGE_SETTING = "AzureWebJobsStorage"
log = logging.getLogger("funchost")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="funchost", description="A local Azure Functions host for Python apps.")
    sub = p.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="run the function app in --app until stopped (Ctrl-C)")
    start.add_argument(
        "--app",
        type=Path,
        default=Path("."),
        help="the function app folder: function_app.py, or v1 function folders (default: .)",
    )
    start.add_argument("--port", type=int, default=7071, help="HTTP port (default 7071)")
    start.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    start.add_argument("--state-dir", type=Path, default=None, help="state folder (default <app>/.funchost)")
    start.add_argument(
        "--rpc-port",
        type=int,
        default=DEFAULT_RPC_PORT,
        help="Durable rpc listener port (default 17071, or any free port if taken; 0 = any)",
    )
    start.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    return p


def _begin_storage(args: argparse.Namespace) -> tuple[Optional[StartingAzurite]] | None:
    """Begin the Azurite that ``AzureWebJobsStorage`` (environment, then local.settings.json) names on loopback, so
    that Node starts it while this process imports the host and the app; None when the host is to decide itself
    (no connection string, identity-based or not a local emulator). ``(None,)``: something already listens there."""
    app_dir = args.app.resolve()
    load_local_settings(app_dir)
    endpoints = azurite.local_endpoints(os.environ.get(STORAGE_SETTING) or "")
    if not endpoints:
        return None
    state_dir = (args.state_dir or app_dir / ".funchost").resolve()
    return (azurite.begin_azurite(endpoints, state_dir / "azurite", log.info, app_dir=app_dir),)


async def _run(args: argparse.Namespace, early_storage: tuple[Optional[StartingAzurite]] | None = None) -> int:
    from funchost.host import Host, build_config, free_port

    try:
        config = build_config(args.app, args.port, args.state_dir, args.bind)
        host = Host(config, free_port(args.rpc_port), early_storage)
    except BaseException:
        if early_storage is not None and early_storage[0] is not None:
            early_storage[0].stop()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await host.start()
    except BaseException:
        await host.stop()
        raise
    print(host.describe(), flush=True)
    print(
        f"\nHost started. Listening on {config.base_url} (state: {config.state_dir}, "
        f"keys: {config.state_dir / 'keys.json'})",
        flush=True,
    )
    await stop.wait()
    print("Stopping host...", flush=True)
    await host.stop()
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
        format="[%(asctime)s] %(levelname)s %(name)s: %(message)s",
        stream=sys.stdout,
    )
    logging.getLogger("azure").setLevel(logging.WARNING)
    try:
        early_storage = _begin_storage(args) if args.command == "start" else None
        return asyncio.run(_run(args, early_storage))
    except FunchostError as exc:
        print(f"funchost: error: {exc}", file=sys.stderr)
        return 2
