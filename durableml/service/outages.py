"""Storage outages: which failures are transient, and how long runs wait for storage to come back.

A storage call that fails because storage did not answer (the Azure SDK's ServiceRequestError or
ServiceResponseError: connection refused or dropped, a timeout; or a 408, 429 or 5xx answer) is *transient*: the
same call will work once storage is back. Activities turn such failures into
:class:`~durableml.exceptions.StorageUnavailableError` (:func:`raising_unavailable`), and the orchestrations retry
exactly those with backoff (``orchestrators/outages.py``) for up to the outage window; every other failure (a user
error, a bug) is not retried. The HTTP API answers them 503 ``StorageUnavailable`` with a Retry-After.

The window is the app setting ``DURABLEML_STORAGE_OUTAGE_WINDOW_SECONDS`` (default 600 s, from 1 s to 7 days). It is
read when a run is created and carried in its execution plan, so every replay of its orchestrations sees the same
value. A run whose storage stays away longer ends Failed with "storage unavailable" in its record (written once
storage answers again; see ``durableml.service.reconcile``).
"""

from __future__ import annotations

import functools
import inspect
import os
from typing import Any, Callable, TypeVar

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from durableml.contract import DEFAULT_OUTAGE_WINDOW_S as DEFAULT_WINDOW_S
from durableml.exceptions import ConfigurationError, StorageUnavailableError
from durableml.storage_accounts import OUTAGE_WINDOW_SETTING as WINDOW_SETTING

MOST_WINDOW_S = 7 * 24 * 3600.0
TRANSIENT_HTTP = frozenset({408, 429, 500, 502, 503, 504})

F = TypeVar("F", bound=Callable[..., Any])


def window_seconds() -> float:
    """The outage window from ``DURABLEML_STORAGE_OUTAGE_WINDOW_SECONDS`` (default 600 s)."""
    raw = os.environ.get(WINDOW_SETTING, "").strip()
    if not raw:
        return DEFAULT_WINDOW_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 1.0 <= value <= MOST_WINDOW_S:  # also NaN
        raise ConfigurationError(
            f"app setting {WINDOW_SETTING} must be a number of seconds from 1 to {MOST_WINDOW_S:g}, got {raw!r}"
        )
    return value


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says that storage did not answer, rather than refused the request."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (StorageUnavailableError, ServiceRequestError, ServiceResponseError)):
            return True
        if isinstance(current, HttpResponseError) and current.status_code in TRANSIENT_HTTP:
            return True
        current = current.__cause__ or current.__context__
    return False


def unavailable(exc: BaseException) -> StorageUnavailableError:
    """The StorageUnavailableError for a transient failure, with the storage client's own reason."""
    if isinstance(exc, StorageUnavailableError):
        return exc
    reason = " ".join(str(exc).split())[:300]
    return StorageUnavailableError(f"storage unavailable: {type(exc).__name__}: {reason}", inner_exception=exc)


def raising_unavailable(fn: F) -> F:
    """Decorate an activity's body: transient storage failures leave it as StorageUnavailableError (retried by the
    orchestration); every other failure leaves unchanged (not retried)."""

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except Exception as exc:
                if is_transient(exc):
                    raise unavailable(exc) from exc
                raise

        return run_async  # type: ignore[return-value]

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if is_transient(exc):
                raise unavailable(exc) from exc
            raise

    return run  # type: ignore[return-value]
