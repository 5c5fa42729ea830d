"""Storage outages while the host stays up, and records that disagree with their orchestrations (issue 17, items 1
and 3).

durableml runs as ``durableml up`` runs it: funchost starts and supervises its own Azurite. An outage is made real:
Azurite is stopped mid-step (SIGTERM: it saves first, so nothing is lost) and its three ports are held by this test
for N seconds, so every restart attempt of the supervisor fails (as with a port taken by someone else) until the
ports are free again. Meanwhile the step's script ends and its uploads, the activities and the records all meet a
storage that does not answer.

* 3 s and 30 s: the run resumes by itself and ends Finished; no step ran twice; every output is complete.
* longer than the outage window (4 s here): the run ends Failed with "storage unavailable" in its record (never
  stuck Running), and it can then be resumed.
* a run whose orchestration is gone can be canceled; a record lost or left behind by storage is repaired from the
  orchestration when the run is read and when the host starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from durableml.core import Experiment, Workspace
from durableml.launcher import LocalDurableml
from durableml.pipeline.core import Pipeline, PipelineData
from tests.e2e._helpers import ensure_compute, journal_counts, step, step_summary
from tests.polling import wait_until

EXPERIMENT = "storage-outage"


def _status(launched: LocalDurableml) -> dict[str, Any]:
    with urllib.request.urlopen(f"{launched.base_url}/admin/host/status", timeout=10) as response:
        return dict(json.loads(response.read()))


@contextlib.contextmanager
def _launched(root: Path, **env: str) -> Iterator[LocalDurableml]:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AzureWebJobsStorage", raising=False)  # funchost starts (and supervises) its own Azurite
        with LocalDurableml(root / "svc", ready_timeout=90, env=env) as launched:
            yield launched


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDurableml]:
    with _launched(tmp_path_factory.mktemp("outage")) as launched:
        yield launched


@pytest.fixture(scope="module")
def short_window(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDurableml]:
    with _launched(tmp_path_factory.mktemp("window"), DURABLEML_STORAGE_OUTAGE_WINDOW_SECONDS="4") as launched:
        yield launched


def _workspace(launched: LocalDurableml, where: Path) -> Workspace:
    ws = Workspace.from_config(path=str(launched.write_config(where)))
    ensure_compute(ws, max_nodes=2)
    return ws


def _storage_outage(launched: LocalDurableml, seconds: float, go: Path | None = None) -> None:
    """Stop funchost's Azurite and keep its ports taken for ``seconds`` (each restart attempt of the supervisor fails);
    then wait until it is back. ``go``: a file created once the outage has begun (a step waiting for it then ends
    during the outage).

    Azurite is stopped with SIGTERM, which saves its databases first: this is an outage, not a loss of data. What a
    hard kill loses, and how records are repaired from it, is ``test_a_lost_or_stale_record_...`` below; the chaos
    suite (test_chaos.py) SIGKILLs Azurite too."""
    storage = _status(launched)["storage"]
    os.kill(storage["pid"], signal.SIGTERM)
    squatters: list[socket.socket] = []
    stop = threading.Event()
    try:
        for port in storage["ports"].values():
            squatter = socket.socket()
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            wait_until(lambda s=squatter, p=port: _bound(s, p), 10, 0.005, f"port {port} to be free")
            squatters.append(squatter)
            threading.Thread(target=_drop_connections, args=(squatter, stop), daemon=True).start()
        if go is not None:
            go.touch()
        time.sleep(seconds)  # the outage itself
    finally:
        stop.set()
        for squatter in squatters:
            squatter.close()
    wait_until(lambda: _status(launched)["state"] == "Running", 90, 0.1, "Azurite to be back")


def _drop_connections(squatter: socket.socket, stop: threading.Event) -> None:
    """Reset every connection at once, as a storage that is down does (refused, not hanging: a connection left
    waiting in the backlog would hold a request until the outage ends, instead of failing it)."""
    squatter.settimeout(0.05)
    while not stop.is_set():
        try:
            connection, _ = squatter.accept()
        except (TimeoutError, OSError):
            continue
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()


def _bound(squatter: socket.socket, port: int) -> bool:
    try:
        squatter.bind(("127.0.0.1", port))
    except OSError:
        return False
    squatter.listen()
    return True


def _two_steps(ws: Workspace, journal: Path, name: str, go: Path) -> Any:
    data = PipelineData(f"{name}_data", datastore=ws.get_default_datastore())
    first = step(f"{name}-first", journal, "e2e-cpu", output=data, extra=["--wait-for", str(go)])
    second = step(f"{name}-second", journal, "e2e-cpu", inputs=[data])
    return Experiment(ws, EXPERIMENT).submit(Pipeline(ws, [first, second]))


def _started(journal: Path, name: str) -> bool:
    return journal_counts(journal, "start")[name] >= 1


@pytest.mark.parametrize("seconds", [3, 30])
def test_a_run_rides_out_a_storage_outage(service: LocalDurableml, tmp_path: Path, seconds: int) -> None:
    ws = _workspace(service, tmp_path / "project")
    journal = tmp_path / "journal.txt"
    run = _two_steps(ws, journal, f"out{seconds}", tmp_path / "go")
    wait_until(lambda: _started(journal, f"out{seconds}-first"), 120, 0.02, "the first step to start")
    _storage_outage(service, seconds, tmp_path / "go")  # the first step ends during the outage

    status = run.wait_for_completion(show_output=False, timeout_seconds=240, raise_on_error=False)
    assert status == "Finished", f"{status}\n{step_summary(run)}\n{service.host.output()[-3000:]}"
    assert journal_counts(journal, "end") == {f"out{seconds}-first": 1, f"out{seconds}-second": 1}
    assert journal_counts(journal, "start") == {f"out{seconds}-first": 1, f"out{seconds}-second": 1}
    second = run.find_step_run(f"out{seconds}-second")[0]
    assert second.get_status() == "Finished"
    assert "storage unavailable" not in str(run.get_details().get("error"))


def test_an_outage_longer_than_the_window_ends_the_run_failed_and_it_can_be_resumed(
    short_window: LocalDurableml, tmp_path: Path
) -> None:
    ws = _workspace(short_window, tmp_path / "project")
    journal = tmp_path / "journal.txt"
    run = _two_steps(ws, journal, "long", tmp_path / "go")
    wait_until(lambda: _started(journal, "long-first"), 120, 0.02, "the first step to start")
    _storage_outage(short_window, 12, tmp_path / "go")  # its upload, record and the next start meet it
    assert journal_counts(journal, "end")["long-first"] == 1

    status = run.wait_for_completion(show_output=False, timeout_seconds=240, raise_on_error=False)
    assert status == "Failed", f"{status}\n{step_summary(run)}"
    error = str(run.get_details().get("error"))
    assert "storage unavailable" in error, f"{error}\n{[s.get_details() for s in run.get_steps()]}"
    for step_run in run.get_steps():  # no step is left unfinished
        assert step_run.get_status() in ("Finished", "Failed", "Canceled", "NotStarted"), step_summary(run)

    resumed = run.resume()
    assert resumed.wait_for_completion(show_output=False, timeout_seconds=240, raise_on_error=False) == "Finished"
    assert journal_counts(journal, "end")["long-second"] == 1
    first = run.find_step_run("long-first")[0].get_details()
    assert "storage unavailable" in str(first.get("error")), first  # its output upload gave up after the window


# ---------------------------------------------------------------------------------- records vs orchestrations
def _api(launched: LocalDurableml, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"x-functions-key": launched.function_key}
    return requests.request(method, f"{launched.base_url}/api/{path}", headers=headers, timeout=60, **kwargs)


def _table(launched: LocalDurableml) -> Any:
    from azure.data.tables import TableServiceClient

    service = TableServiceClient.from_connection_string(launched.host.env["AzureWebJobsStorage"])
    return service.get_table_client("dmlRuns")  # durableml.service.records.RUNS


def test_a_run_whose_orchestration_is_gone_can_be_canceled(service: LocalDurableml, tmp_path: Path) -> None:
    ws = _workspace(service, tmp_path / "project")
    journal = tmp_path / "journal.txt"
    run = Experiment(ws, EXPERIMENT).submit(Pipeline(ws, [step("gone", journal, "e2e-cpu", extra=["--sleep", "60"])]))
    wait_until(lambda: _started(journal, "gone"), 120, 0.02, "the step to start")
    master = {"x-functions-key": service.master_key}
    base = f"{service.base_url}/runtime/webhooks/durabletask/instances/{run.id}"
    assert requests.post(f"{base}/terminate?reason=lost", headers=master, timeout=30).status_code == 202
    wait_until(
        lambda: requests.get(base, headers=master, timeout=30).json().get("runtimeStatus") == "Terminated",
        30,
        0.05,
        "the orchestration to be terminated",
    )
    assert requests.delete(base, headers=master, timeout=30).status_code == 200  # purged: gone

    answer = _api(service, "POST", f"runs/{run.id}/cancel")
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "Canceled", answer.text
    step_run = run.find_step_run("gone")[0]
    wait_until(lambda: step_run.get_status() == "Canceled", 60, 0.1, "the step to be canceled")
    assert journal_counts(journal, "end")["gone"] == 0  # its job was canceled, not left running
    assert run.get_status() == "Canceled"


def test_a_lost_or_stale_record_is_repaired_from_the_orchestration(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with _launched(tmp_path_factory.mktemp("repair")) as launched:
        ws = _workspace(launched, tmp_path / "project")
        journal = tmp_path / "journal.txt"
        runs = [
            Experiment(ws, EXPERIMENT).submit(Pipeline(ws, [step(f"kept{i}", journal, "e2e-cpu")])) for i in range(3)
        ]
        for run in runs:
            assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished"
        table = _table(launched)
        lost, stale, swept = runs
        # what a hard kill of Azurite can do: the record gone, or back at an older state
        table.delete_entity("run", lost.id)
        entity = dict(table.get_entity("run", stale.id))
        older = {**json.loads(entity["doc"]), "status": "Running", "ended": None}
        table.upsert_entity({**entity, "doc": json.dumps(older), "status": "Running"})

        answer = _api(launched, "GET", f"runs/{lost.id}")
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "Finished", answer.text
        assert _api(launched, "GET", f"runs/{stale.id}").json()["status"] == "Finished"

        table.delete_entity("run", swept.id)
        launched.host.kill()
        launched.host.restart()  # the sweep at start-up rebuilds it, before anyone reads it
        wait_until(lambda: _status_of(table, swept.id) == "Finished", 60, 0.1, "the record to be rebuilt at start-up")
        assert journal_counts(journal, "end") == {"kept0": 1, "kept1": 1, "kept2": 1}


def _status_of(table: Any, run_id: str) -> str | None:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return str(json.loads(table.get_entity("run", run_id)["doc"])["status"])
    except ResourceNotFoundError:
        return None
