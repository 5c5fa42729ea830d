"""Riding out storage outages in the orchestrations: an activity that failed because storage did not answer
(``StorageUnavailableError``, see ``durableml.service.outages``) is called again after a durable timer, 1 s doubling
to 30 s, until the run's outage window has passed since its first such failure; then the failure stands. Any other
failure is not retried.

The window is the execution plan's ``outage_window_s`` (fixed when the run was created), so replays are
deterministic; plans from before it existed use the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generator, Mapping, Optional

import azure.durable_functions as df

from durableml.contract import DEFAULT_OUTAGE_WINDOW_S, is_outage_failure

FIRST_RETRY_S, MAX_RETRY_S = 1.0, 30.0


def window_of(work: Mapping[str, Any]) -> float:
    """The outage window an orchestration input carries (``outage_window_s``), else the default."""
    return float(work.get("outage_window_s") or DEFAULT_OUTAGE_WINDOW_S)


@dataclass
class Backoff:
    """Retry timing for one call: the time of its first outage failure, and the next delay."""

    window_s: float
    first: Optional[datetime] = None
    delay_s: float = FIRST_RETRY_S

    def next_wake(self, now: datetime) -> Optional[datetime]:
        """When to call again, or None once the window has passed (the failure then stands)."""
        if self.first is None:
            self.first = now
        if (now - self.first).total_seconds() >= self.window_s:
            return None
        wake = min(now + timedelta(seconds=self.delay_s), self.first + timedelta(seconds=self.window_s))
        self.delay_s = min(self.delay_s * 2, MAX_RETRY_S)
        return wake


def call_activity(
    context: df.DurableOrchestrationContext, name: str, payload: Any, window_s: float
) -> Generator[Any, Any, Any]:
    """``yield from call_activity(...)``: the activity's result, retried through storage outages."""
    backoff = Backoff(window_s)
    while True:
        try:
            result = yield context.call_activity(name, payload)
            return result
        except Exception as exc:  # noqa: BLE001 (an activity failure: retried only when it is an outage)
            if not is_outage_failure(exc):
                raise
            wake = backoff.next_wake(context.current_utc_datetime)
            if wake is None:
                raise
        yield context.create_timer(wake)
