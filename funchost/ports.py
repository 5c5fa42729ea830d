"""Free TCP ports on loopback: a module of its own, so that what only starts funchost (funchost/process.py, the
``durableml up`` CLI) does not import the host (aiohttp, the Durable engine, the Functions SDK) to pick a port."""

from __future__ import annotations

import socket

from funchost.errors import FunchostError


def free_port(preferred: int = 0, host: str = "127.0.0.1") -> int:
    """``preferred`` if it can be bound, else a port the OS picks."""
    for candidate in ([preferred] if preferred else []) + [0]:
        with socket.socket() as s:
            try:
                s.bind((host, candidate))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise FunchostError("no free TCP port on loopback")
