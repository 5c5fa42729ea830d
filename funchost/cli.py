"""``funchost start``: run a Python function app (v2 or v1 programming model) locally, like ``func start``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Optional, Sequence

from funchost.errors import FunchostError
from funchost.host import DEFAULT_RPC_PORT, Host, build_config, free_port


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


async def _run(args: argparse.Namespace) -> int:
    config = build_config(args.app, args.port, args.state_dir, args.bind)
    host = Host(config, free_port(args.rpc_port))
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
        return asyncio.run(_run(args))
    except FunchostError as exc:
        print(f"funchost: error: {exc}", file=sys.stderr)
        return 2
