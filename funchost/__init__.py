"""funchost: a local Azure Functions host for Python apps (v2 and v1 programming models).

It runs an unmodified ``function_app.py`` (or a v1 app's ``<function>/function.json`` folders) the way the Azure
Functions host does: HTTP triggers with function keys, Durable Functions (the out-of-proc JSON protocol of
azure-functions-durable 1.x: orchestrations, entities, call_http), timer, blob and queue triggers against a storage
account (Azurite locally), and the Durable HTTP API.

Start it with ``python -m funchost start --app DIR``. See ``shared/docs/durable-protocol.md`` and
``docs/durable-protocol-extra.md`` for the protocol facts it reproduces.
"""

from __future__ import annotations

__all__ = ["__version__"]
__version__ = "0.1.0"
