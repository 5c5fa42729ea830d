"""The key of funchost's Durable rpc listener, presented by the Durable SDK's client in this process.

The rpc listener (``rpcBaseUrl``, loopback, durable-protocol.md §4.1) serves the whole management API: list
instances with their inputs, terminate, purge, raise events. The Durable extension leaves it open to
loopback; funchost requires the key every other management route requires (the ``durabletask_extension``
system key, or the master key), so that another local user, or a web page posting to ``127.0.0.1``, cannot
drive it.

The client that calls it is the unmodified ``DurableOrchestrationClient`` of the function app, which runs in
funchost's own process (funchost starts no separate worker) and builds every request from ``rpcBaseUrl``
alone, through one shared aiohttp session (``azure.durable_functions.models.utils.http_utils``). Putting the
key in ``rpcBaseUrl`` would put a secret in URLs; instead :func:`install` wraps the SDK's session factory so
that its session carries a client middleware adding the ``x-functions-key`` header to requests for the rpc
listener's origin, and to no other URL. The key then travels only in a header, like every other key funchost
checks, and never in a URL or a log.
"""

from __future__ import annotations

import importlib
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import ClientHandlerType, ClientRequest, ClientResponse

KEY_HEADER = "x-functions-key"
_MODULE = "azure.durable_functions.models.utils.http_utils"


def key_middleware(rpc_base: str, key: str) -> Callable[[ClientRequest, ClientHandlerType], Awaitable[ClientResponse]]:
    """An aiohttp client middleware adding ``key`` to requests for ``rpc_base``'s scheme, host and port."""
    origin = _origin(rpc_base)

    async def add_key(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        if _origin(str(request.url)) == origin:
            request.headers[KEY_HEADER] = key
        return await handler(request)

    add_key.funchost_rpc_key = True  # type: ignore[attr-defined]
    return add_key


def install(rpc_base: str, key: str) -> bool:
    """Make the Durable SDK's client present ``key`` to the rpc listener at ``rpc_base`` (once per process; a
    second call replaces the key and listener). False if the SDK's layout is not the expected one."""
    module = importlib.import_module(_MODULE)
    factory = getattr(module, "_get_session", None)
    if factory is None:
        return False
    original = getattr(factory, "original", factory)
    middleware = key_middleware(rpc_base, key)

    async def keyed_session() -> Any:
        session = await original()
        present = tuple(session._middlewares)  # aiohttp >= 3.12; the SDK builds its session without any
        if middleware not in present:
            kept = tuple(m for m in present if not getattr(m, "funchost_rpc_key", False))
            session._middlewares = (*kept, middleware)
        return session

    keyed_session.original = original  # type: ignore[attr-defined]
    module._get_session = keyed_session  # type: ignore[attr-defined]
    return True


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
