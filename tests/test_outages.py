"""Storage outages (issue 17, item 1): which failures are transient, the window setting, the API's answer to a
request that meets an outage, and the orchestrations' retry timing (durableml/service/outages.py,
orchestrators/outages.py, triggers/api.py)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError, ServiceResponseError

from durableml.contract import is_outage_failure
from durableml.exceptions import ConfigurationError, ServiceNotConnectedError, StorageUnavailableError
from durableml.service import outages
from durableml.storage_accounts import OUTAGE_WINDOW_SETTING
from orchestrators.outages import Backoff


def _http_error(status: int) -> HttpResponseError:
    error = HttpResponseError(message=f"status {status}")
    error.status_code = status
    return error


@pytest.mark.parametrize(
    "exc",
    [ServiceRequestError("refused"), ServiceResponseError("reset"), _http_error(503), _http_error(429)],
)
def test_storage_that_did_not_answer_is_transient(exc: Exception) -> None:
    assert outages.is_transient(exc)
    wrapped = outages.unavailable(exc)
    assert isinstance(wrapped, StorageUnavailableError) and str(wrapped).startswith("storage unavailable: ")
    assert is_outage_failure(RuntimeError(f"Activity function 'x' failed:  {type(wrapped).__name__}: {wrapped}"))


@pytest.mark.parametrize(
    "exc",
    [_http_error(404), ResourceNotFoundError("no such blob"), ValueError("bad"), ServiceNotConnectedError("none")],
)
def test_refusals_and_user_errors_are_not_transient(exc: Exception) -> None:
    assert not outages.is_transient(exc)
    assert not is_outage_failure(exc)


def test_a_cause_that_did_not_answer_makes_the_failure_transient() -> None:
    try:
        try:
            raise ServiceRequestError("refused")
        except ServiceRequestError as inner:
            raise RuntimeError("could not save the record") from inner
    except RuntimeError as outer:
        assert outages.is_transient(outer)


def test_an_activity_body_turns_only_outages_into_storage_unavailable() -> None:
    @outages.raising_unavailable
    def refused() -> None:
        raise ServiceRequestError("connection refused")

    @outages.raising_unavailable
    def wrong() -> None:
        raise ValueError("a user error")

    with pytest.raises(StorageUnavailableError, match="storage unavailable: ServiceRequestError"):
        refused()
    with pytest.raises(ValueError, match="a user error"):
        wrong()


def test_the_window_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(OUTAGE_WINDOW_SETTING, raising=False)
    assert outages.window_seconds() == 600.0
    monkeypatch.setenv(OUTAGE_WINDOW_SETTING, "30")
    assert outages.window_seconds() == 30.0
    for bad in ("0", "-1", "nan", "ten", str(10**9)):
        monkeypatch.setenv(OUTAGE_WINDOW_SETTING, bad)
        with pytest.raises(ConfigurationError, match=OUTAGE_WINDOW_SETTING):
            outages.window_seconds()


def test_retries_back_off_and_stop_at_the_window() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    backoff = Backoff(window_s=10)
    waits, now = [], t0
    while (wake := backoff.next_wake(now)) is not None:
        waits.append((wake - now).total_seconds())
        now = wake
    assert waits == [1.0, 2.0, 4.0, 3.0]  # doubling, the last one cut at the window's end
    assert now == t0 + timedelta(seconds=10)


def test_a_request_that_meets_an_outage_is_503_storage_unavailable() -> None:
    from triggers.api import _respond

    def work() -> None:
        raise ServiceRequestError("HTTPConnection(host='127.0.0.1', port=1): connection refused")

    response = asyncio.run(_respond(work))
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    error = json.loads(response.get_body())["error"]
    assert error["code"] == "StorageUnavailable" and error["message"].startswith("storage unavailable: "), error
