"""Polling for tests: wait until a condition holds, with a bound that fails the test when it never does."""

from __future__ import annotations

import time
from typing import Any, Callable


def wait_until(
    condition: Callable[[], Any], timeout: float = 30.0, interval: float = 0.02, what: str = "condition"
) -> Any:
    """Poll ``condition`` until it returns something true and return that; AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
