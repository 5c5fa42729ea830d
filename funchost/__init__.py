"""funchost: a local Azure Functions host for Python v2 programming-model apps.

It runs an unmodified ``function_app.py`` the way the Azure Functions host does: HTTP triggers with
function keys, Durable Functions (the out-of-proc JSON protocol of azure-functions-durable 1.x),
timer, blob and queue triggers against a storage account (Azurite locally), and the Durable HTTP API.

Start it with ``python -m funchost start --app DIR``. See ``shared/docs/durable-protocol.md`` for the
protocol facts it reproduces.
"""

from __future__ import annotations

__all__ = ["__version__"]
__version__ = "0.1.0"
