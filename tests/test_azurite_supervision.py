"""funchost supervises the Azurite it started (issue 17, item 2).

durableml is started the way ``durableml up`` starts it (:class:`durableml.launcher.LocalDurableml` without a
storage connection: funchost starts its own Azurite). The Azurite process is SIGKILLed; ``/admin/host/status``
says Degraded with the reason, then Running again on a new process with the same ports and data; what was
written (and persisted by Azurite) before the kill is still there, and a pipeline submitted after the
recovery runs. With restarts turned off, the API answers 503 ``StorageUnavailable`` at once instead of a 500.

What a hard kill can lose: Azurite keeps its metadata (containers, blob lists, tables, queues) in LokiJS
databases saved to ``__azurite_db_*__.json`` every few seconds (blob contents go to ``__blobstorage__`` at
once), so writes of the last seconds before a SIGKILL may be lost. The test therefore waits until Azurite
has saved what it wrote before killing it (README, "Troubleshooting").
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import threading
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests
from azure.storage.blob import BlobServiceClient

from durableml.core import Experiment, Workspace
from durableml.launcher import LocalDurableml
from durableml.pipeline.core import Pipeline, PipelineRun
from funchost.azurite import ACCOUNT_KEY, AzuriteHandle, start_azurite
from funchost.supervisor import AzuriteSupervisor
from tests.e2e._helpers import ensure_compute, step, step_summary
from tests.polling import wait_until


def _status(launched: LocalDurableml) -> dict[str, Any]:
    with urllib.request.urlopen(f"{launched.base_url}/admin/host/status", timeout=10) as response:
        return dict(json.loads(response.read()))


def _state_is(launched: LocalDurableml, state: str) -> dict[str, Any] | None:
    status = _status(launched)
    return status if status["state"] == state else None


def _gave_up(launched: LocalDurableml) -> dict[str, Any] | None:
    status = _status(launched)
    return status if status["storage"]["gaveUp"] else None


def _saved(data_dir: Path, *texts: str) -> bool:
    """Whether Azurite's saved metadata databases mention every text (what survives a hard kill)."""
    saved = "".join(p.read_text(encoding="utf-8", errors="replace") for p in data_dir.glob("__azurite_db_*__.json"))
    return all(text in saved for text in texts)


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalDurableml]:
    monkeypatch.delenv("AzureWebJobsStorage", raising=False)  # funchost starts its own Azurite
    with LocalDurableml(tmp_path / "svc", ready_timeout=90) as launched:
        yield launched


def _run_pipeline(ws: Workspace, journal: Path, name: str) -> Any:
    run: Any = Experiment(ws, "azurite-supervision").submit(Pipeline(ws, [step(name, journal, "e2e-cpu")]))
    status = run.wait_for_completion(show_output=False, timeout_seconds=180, raise_on_error=False)
    assert status == "Finished", step_summary(run)
    return run


def test_a_sigkilled_azurite_is_restarted_on_the_same_ports_and_data(local: LocalDurableml, tmp_path: Path) -> None:
    status = _status(local)
    storage = status["storage"]
    assert status["state"] == "Running" and storage["supervised"] is True, status
    assert storage["pid"] == local.azurite_pid and storage["restarts"] == 0
    data_dir = Path(storage["dataDir"])

    ws = Workspace.from_config(path=str(local.write_config(tmp_path / "project")))
    ensure_compute(ws, max_nodes=1)
    journal = tmp_path / "journal.txt"
    before = _run_pipeline(ws, journal, "before")
    blobs = BlobServiceClient.from_connection_string(local.host.env["AzureWebJobsStorage"])
    blobs.create_container("supervision").upload_blob("before-the-kill.txt", b"written before the kill")
    wait_until(lambda: _saved(data_dir, "before-the-kill.txt", before.id), 30, 0.2, "Azurite to save its metadata")

    os.kill(storage["pid"], signal.SIGKILL)
    degraded = wait_until(lambda: _state_is(local, "Degraded"), 20, 0.02, "the host to report Degraded")
    assert "was killed by SIGKILL" in degraded["reason"] and degraded["storage"]["supervised"] is True, degraded

    running = wait_until(lambda: _state_is(local, "Running"), 60, 0.1, "the host to report Running again")
    after = running["storage"]
    assert after["pid"] != storage["pid"] and after["restarts"] == 1, running
    assert after["ports"] == storage["ports"] and after["dataDir"] == storage["dataDir"]

    # the data written before the kill is still there, through the same connection string
    assert blobs.get_container_client("supervision").download_blob("before-the-kill.txt").readall() == (
        b"written before the kill"
    )
    assert PipelineRun(Experiment(ws, "azurite-supervision"), before.id).get_status() == "Finished"
    # a pipeline submitted after the recovery runs
    _run_pipeline(ws, journal, "after")
    assert [line.split()[:2] for line in journal.read_text().splitlines() if line.startswith("end")] == [
        ["end", "before"],
        ["end", "after"],
    ]

    output = local.host.output()
    assert f"Azurite (pid {storage['pid']}) was killed by SIGKILL; restart attempt 1 of" in output
    assert f"Azurite restarted (pid {after['pid']}, was {storage['pid']})" in output
    assert ACCOUNT_KEY not in output


def test_a_host_restarted_at_once_after_a_crash_starts_and_supervises_its_own_azurite(local: LocalDurableml) -> None:
    """The Azurite of a SIGKILLed funchost outlives it for a moment (its watchdog stops it within seconds): a host
    restarted at once must not take it for someone else's Azurite and be left without storage when it exits.

    The old Azurite is stopped (SIGSTOP) across the crash, so that it still holds its ports when the new host
    looks at them, and continued once the new host has decided what to do about it."""
    old = _status(local)["storage"]["pid"]
    os.kill(old, signal.SIGSTOP)
    try:
        local.host.kill()
        restart = threading.Thread(target=local.host.restart, name="restart", daemon=True)
        restart.start()
        wait_until(
            lambda: any(text in local.host.output() for text in ("already listening", "; stopping it")),
            60,
            0.02,
            "the new host to look at the old Azurite's ports",
        )
    finally:
        os.kill(old, signal.SIGCONT)
    restart.join(timeout=90)
    assert not restart.is_alive(), local.host.output()[-3000:]
    status = _status(local)
    assert status["storage"]["supervised"] is True and status["storage"]["pid"] != old, status
    assert f"Azurite (pid {old}) outlived the funchost that started it" in local.host.output()
    wait_until(lambda: not _answers_on(old), 20, 0.05, "the old Azurite to be gone")
    assert _status(local)["state"] == "Running"
    headers = {"x-functions-key": local.function_key}
    assert requests.get(f"{local.base_url}/api/workspace", headers=headers, timeout=30).status_code == 200


def _answers_on(pid: int) -> bool:
    """Whether process ``pid`` still runs (not a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def no_restarts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalDurableml]:
    monkeypatch.delenv("AzureWebJobsStorage", raising=False)
    env = {"FUNCHOST_AZURITE_MAX_RESTARTS": "0"}
    with LocalDurableml(tmp_path / "svc", ready_timeout=90, env=env) as launched:
        yield launched


def test_while_storage_is_down_the_api_answers_503_storage_unavailable(no_restarts: LocalDurableml) -> None:
    pid = _status(no_restarts)["storage"]["pid"]
    headers = {"x-functions-key": no_restarts.function_key}
    assert requests.get(f"{no_restarts.base_url}/api/workspace", headers=headers, timeout=30).status_code == 200

    os.kill(pid, signal.SIGKILL)
    degraded = wait_until(lambda: _gave_up(no_restarts), 20, 0.02, "the supervisor to give up")
    assert degraded["state"] == "Degraded", degraded
    assert "gave up restarting it after 0 attempts" in degraded["reason"], degraded

    response = requests.get(f"{no_restarts.base_url}/api/workspace", headers=headers, timeout=30)
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "2"
    error = response.json()["error"]
    assert error["code"] == "StorageUnavailable"
    assert error["message"].startswith(f"storage unavailable: Azurite (pid {pid}) was killed by SIGKILL"), error
    # a wrong key still gets 401, not the storage state
    assert requests.get(f"{no_restarts.base_url}/api/workspace", timeout=30).status_code == 401


def test_an_azurite_funchost_did_not_start_is_not_supervised(tmp_path: Path) -> None:
    with start_azurite(tmp_path / "azurite") as own:
        with LocalDurableml(tmp_path / "svc", storage=own.connection_string, ready_timeout=90) as launched:
            status = _status(launched)
    assert status["state"] == "Running"
    assert status["storage"]["supervised"] is False
    assert "not started by funchost" in status["storage"]["reason"], status


# ---------------------------------------------------------------------------------- the supervisor on its own
def _supervise(handle: AzuriteHandle, **options: Any) -> AzuriteSupervisor:
    return AzuriteSupervisor(handle, logging.getLogger("test-azurite-supervision"), **options)


async def _until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    return await asyncio.to_thread(wait_until, condition, timeout, 0.05, what)


def test_a_hanging_azurite_is_killed_and_restarted(tmp_path: Path) -> None:
    """SIGSTOP: the process lives and the kernel still accepts connections, but nothing answers."""
    handle = start_azurite(tmp_path / "azurite")
    supervisor = _supervise(handle, probe_every=0.2, probe_timeout=0.5, probe_failures=3)

    async def scenario() -> None:
        supervisor.start()
        try:
            os.kill(handle.pid, signal.SIGSTOP)
            await _until(lambda: supervisor.restarts == 1, 60, "the hung Azurite to be replaced")
            assert handle.process.returncode == -signal.SIGKILL
            assert supervisor.handle.pid != handle.pid and supervisor.handle.endpoints == handle.endpoints
            assert supervisor.unavailable() is None and await supervisor._probe() is None
        finally:
            await supervisor.stop()

    try:
        asyncio.run(scenario())
    finally:
        handle.stop()
    assert not supervisor.handle.is_running()


def test_restarts_back_off_and_are_bounded(tmp_path: Path) -> None:
    """A port taken by someone else while Azurite was down: each attempt fails until it is free again; with the
    attempts used up the supervisor gives up and says why."""
    handle = start_azurite(tmp_path / "azurite")
    host, port = handle.endpoints[0]
    handle.process.kill()
    handle.process.wait()
    squatter = socket.socket()
    squatter.bind((host, port))
    squatter.listen()
    supervisor = _supervise(handle, max_attempts=3, backoff_cap=0.5)

    async def scenario() -> None:
        supervisor.start()
        try:
            await _until(lambda: supervisor.attempts == 2, 60, "a second restart attempt")
            down = supervisor.unavailable()
            assert down is not None and "was killed by SIGKILL; restart attempt 2 of 3" in down, down
            assert "the last one failed: Azurite exited with code" in down, down
            squatter.close()  # the port is free again: the next attempt succeeds
            await _until(lambda: supervisor.restarts == 1, 60, "Azurite to be restarted")
            assert supervisor.unavailable() is None and supervisor.handle.endpoints == handle.endpoints

            assert supervisor.attempts == 2  # the first attempt failed, the second one succeeded

            # it dies again before it stayed up for stable_after seconds (a crash loop): the count goes on
            supervisor.handle.process.kill()
            await _until(lambda: supervisor.restarts == 2, 60, "the third and last attempt")
            supervisor.handle.process.kill()
            await _until(lambda: supervisor.gave_up, 60, "the supervisor to give up")
            down = supervisor.unavailable()
            assert down is not None and "gave up restarting it after 3 attempts" in down, down
            assert supervisor.status()["gaveUp"] is True
        finally:
            squatter.close()
            await supervisor.stop()

    asyncio.run(scenario())
    assert not supervisor.handle.is_running()
