"""Shared helpers of the Durable conformance suite (tests/test_durable_*.py); holds no tests.

``DurableHost`` wraps one funchost process running tests/apps/durable_app and talks to it only over
HTTP: the app's own HTTP functions (which call the unmodified ``DurableOrchestrationClient``) and the
public ``/runtime/webhooks/durabletask`` API.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional

import requests

APP_DIR = Path(__file__).resolve().parent / "apps" / "durable_app"
WEBHOOK = "/runtime/webhooks/durabletask"
TERMINAL = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
NO_INPUT = object()
POLL_TIMEOUT = 30.0


class DurableHost:
    """One funchost process running the conformance app, plus the folder its activities write to."""

    def __init__(self, proc: Any, work: Path) -> None:
        self.proc = proc
        self.work = work
        self.http = requests.Session()

    # -- keys and raw requests ------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return str(self.proc.base_url).rstrip("/")

    @property
    def function_key(self) -> str:
        return str(self.proc.keys["functionKeys"]["default"])

    @property
    def master_key(self) -> str:
        return str(self.proc.keys["masterKey"])

    @property
    def system_key(self) -> str:
        return str(self.proc.keys["systemKeys"]["durabletask_extension"])

    def _key(self, key: Optional[str]) -> Optional[str]:
        return {"function": self.function_key, "master": self.master_key, "system": self.system_key, None: None}.get(
            key, key
        )

    def api(self, method: str, path: str, *, key: Optional[str] = "function", **kwargs: Any) -> requests.Response:
        """A request to ``/api/<path>``; ``key`` is "function", "master", "system", a literal key or None."""
        headers = dict(kwargs.pop("headers", None) or {})
        presented = self._key(key)
        if presented is not None:
            headers["x-functions-key"] = presented
        kwargs.setdefault("timeout", 60)
        return self.http.request(method, f"{self.base_url}/api/{path}", headers=headers, **kwargs)

    def webhook(self, method: str, path: str, *, key: Optional[str] = "system", **kwargs: Any) -> requests.Response:
        """A request to the public Durable API; the key goes in the ``code`` query parameter."""
        params = dict(kwargs.pop("params", None) or {})
        presented = self._key(key)
        if presented is not None:
            params["code"] = presented
        kwargs.setdefault("timeout", 60)
        return self.http.request(method, f"{self.base_url}{WEBHOOK}/{path}", params=params, **kwargs)

    def alive(self) -> bool:
        try:
            r = self.http.get(
                f"{self.base_url}/admin/host/status", headers={"x-functions-key": self.master_key}, timeout=10
            )
        except requests.RequestException:
            return False
        return r.status_code == 200 and r.json().get("state") == "Running"

    def close(self) -> None:
        self.http.close()

    # -- Durable operations ---------------------------------------------------------------------

    def start(self, name: str, client_input: Any = NO_INPUT, instance_id: Optional[str] = None) -> str:
        """Start through the app's HTTP starter (``client.start_new``); returns the instance id."""
        path = f"orchestrators/{name}" + (f"/{instance_id}" if instance_id else "")
        body = None if client_input is NO_INPUT else json.dumps(client_input)
        r = self.api("POST", path, data=body)
        assert r.status_code == 202, f"starting {name}: {r.status_code} {r.text}"
        return str(r.json()["id"])

    def start_webhook(self, name: str, client_input: Any = NO_INPUT, instance_id: Optional[str] = None) -> str:
        path = f"orchestrators/{name}" + (f"/{instance_id}" if instance_id else "")
        kwargs: dict[str, Any] = {}
        if client_input is not NO_INPUT:
            kwargs["json"] = client_input
        r = self.webhook("POST", path, **kwargs)
        assert r.status_code == 202, f"starting {name} via webhook: {r.status_code} {r.text}"
        return str(r.json()["id"])

    def status(self, instance_id: str, history: bool = False) -> Optional[dict[str, Any]]:
        """The public status payload (None on 404); with history and history output when asked.

        The status *code* per runtime status is checked by dedicated tests (test_durable_management),
        so that one wrong code does not fail every test that merely polls.
        """
        params = {"showHistory": "true", "showHistoryOutput": "true"} if history else {}
        r = self.webhook("GET", f"instances/{instance_id}", params=params)
        if r.status_code == 404:
            return None
        try:
            body = r.json()
        except ValueError:
            body = None
        assert isinstance(body, dict) and "runtimeStatus" in body, (
            f"status of {instance_id}: {r.status_code} {r.text[:2000]}"
        )
        return dict(body)

    def wait(
        self,
        instance_id: str,
        *,
        timeout: float = POLL_TIMEOUT,
        history: bool = False,
        until: frozenset[str] = TERMINAL,
    ) -> dict[str, Any]:
        """Poll until the runtime status is in ``until``; returns that status payload."""
        return self.wait_until(
            instance_id,
            lambda s: s is not None and s["runtimeStatus"] in until,
            f"runtimeStatus in {sorted(until)}",
            timeout=timeout,
            history=history,
        )

    def wait_until(
        self,
        instance_id: str,
        predicate: Callable[[Optional[dict[str, Any]]], bool],
        what: str,
        *,
        timeout: float = POLL_TIMEOUT,
        history: bool = False,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: Optional[dict[str, Any]] = None
        while True:
            last = self.status(instance_id, history=history)
            if predicate(last):
                assert last is not None
                return last
            if time.monotonic() > deadline:
                raise AssertionError(f"{instance_id}: not {what} after {timeout:.0f}s; last status: {last}")
            time.sleep(0.05)

    def completed(self, instance_id: str, *, timeout: float = POLL_TIMEOUT, history: bool = False) -> Any:
        """Wait for Completed and return the output (fails with the status if it ends otherwise)."""
        status = self.wait(instance_id, timeout=timeout, history=history)
        assert status["runtimeStatus"] == "Completed", f"{instance_id} ended {status['runtimeStatus']}: {status}"
        return status["output"]

    def raise_event(self, instance_id: str, name: str, data: Any = None) -> requests.Response:
        """``client.raise_event`` through the app."""
        return self.api("POST", f"events/{instance_id}/{name}", data=json.dumps(data))


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = POLL_TIMEOUT) -> None:
    """Poll ``predicate`` until it holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def events_of(status: dict[str, Any], *types: str) -> list[dict[str, Any]]:
    """The ``historyEvents`` of a status payload, optionally only those of the given EventTypes."""
    history = status.get("historyEvents")
    assert history is not None, f"no historyEvents in {status}"
    return [e for e in history if not types or e["EventType"] in types]


def event_types(status: dict[str, Any]) -> list[str]:
    return [e["EventType"] for e in events_of(status)]


def parse_time(text: str) -> datetime:
    """An ISO-8601 UTC time as sent by the host (up to 7 fractional digits, trailing Z)."""
    text = text.rstrip("Z")
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6]}"
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def split_child_id(child_id: str) -> tuple[str, int]:
    """Split a default sub-orchestration id ``<parent executionId>:<n>``."""
    prefix, sep, number = child_id.rpartition(":")
    assert sep and prefix and number.isdigit(), f"{child_id!r} is not '<executionId>:<n>'"
    return prefix, int(number)


def start_host(funchost_process: Callable[..., Any], work: Path) -> DurableHost:
    """Start funchost on the conformance app with ``DURABLE_TEST_DIR`` = ``work``."""
    proc = funchost_process(APP_DIR, env={"DURABLE_TEST_DIR": str(work)})
    return DurableHost(proc, work)
