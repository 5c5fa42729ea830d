"""The Durable Functions Python samples, vendored unchanged (tests/apps/durable_samples), run under funchost, each
checked against the output its tutorial documents.

Each sample runs in its own funchost process against the session Azurite, driven over HTTP as its README says
(POST ``/api/orchestrators/<name>``, then the check-status response's ``statusQueryGetUri``). GitHub and Twilio,
which two samples call, are the loopback fakes of tests/durable/public_apis.py behind an HTTPS proxy.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests

from tests.durable.public_apis import PublicApis

SAMPLES = Path(__file__).resolve().parent / "apps" / "durable_samples"
TERMINAL = {"Completed", "Failed", "Terminated"}


@pytest.fixture(scope="module")
def apis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PublicApis]:
    with PublicApis(tmp_path_factory.mktemp("public-apis")) as fake:
        yield fake
    assert fake.refused == [], f"the samples tried to reach other hosts: {fake.refused}"


@pytest.fixture(scope="module")
def sample(funchost_process, apis: PublicApis) -> Iterator[Callable[[str], Any]]:
    """``sample("samples/monitor")``: a funchost running that sample (one per sample, stopped at the end)."""
    started: dict[str, Any] = {}

    def start(folder: str) -> Any:
        if folder not in started:
            started[folder] = funchost_process(SAMPLES / folder, env=apis.env())
        return started[folder]

    yield start
    for proc in started.values():
        proc.stop()


def _run(proc: Any, orchestrator: str, body: Any = None, timeout: float = 30) -> dict[str, Any]:
    """Start ``orchestrator`` through the sample's HTTP starter; wait for the end; the final status."""
    data = None if body is None else json.dumps(body)
    r = requests.post(f"{proc.base_url}/api/orchestrators/{orchestrator}", data=data, timeout=30)
    assert r.status_code == 202, r.text
    return _wait(r.json()["statusQueryGetUri"], timeout)


def _wait(status_uri: str, timeout: float, until: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = requests.get(status_uri, timeout=30).json()
        if (until or (lambda s: s["runtimeStatus"] in TERMINAL))(status):
            return dict(status)
        assert time.monotonic() < deadline, f"not done after {timeout:.0f}s: {status}"
        time.sleep(0.05)


@pytest.mark.parametrize(
    "folder,orchestrator",
    [("samples/function_chaining", "E1_HelloSequence"), ("samples-v2/function_chaining", "my_orchestrator")],
)
def test_function_chaining(sample: Callable[[str], Any], folder: str, orchestrator: str) -> None:
    status = _run(sample(folder), orchestrator)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


def test_fan_in_fan_out_backs_up_the_function_files(sample: Callable[[str], Any], azurite: Any) -> None:
    from azure.storage.blob import BlobServiceClient

    root = SAMPLES / "samples" / "fan_in_fan_out"
    expected: dict[str, int] = {}
    for path, _, files in os.walk(root):  # the files E2_GetFileList picks: the E2_* functions' code and json
        if "E2_" in path:
            for name in files:
                if name in ("__init__.py", "function.json"):
                    expected[f"{Path(path).name}_{name}"] = (Path(path) / name).stat().st_size
    assert len(expected) == 6
    container = BlobServiceClient.from_connection_string(azurite.connection_string).get_container_client("backups")
    for blob in expected:  # the sample uploads without overwrite: start from none of its blobs
        if container.exists() and container.get_blob_client(blob).exists():
            container.delete_blob(blob)

    status = _run(sample("samples/fan_in_fan_out"), "E2_BackupSiteContent", str(root))
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == sum(expected.values())
    for blob, size in expected.items():
        assert container.get_blob_client(blob).get_blob_properties().size == size


def test_counter_entity(sample: Callable[[str], Any]) -> None:
    proc = sample("samples/counter_entity")
    status = _run(proc, "DurableOrchestration")
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == 3  # signal add(3), then call get on a new counter
    r = requests.get(
        f"{proc.base_url}/api/entity/Counter/myCounter", headers={"x-functions-key": proc.function_key}, timeout=30
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"entity": "Counter", "key": "myCounter", "state": 3}
    missing = requests.get(
        f"{proc.base_url}/api/entity/Counter/nobody", headers={"x-functions-key": proc.function_key}, timeout=30
    )
    assert (missing.status_code, missing.text) == (404, "Entity not found")


def test_human_interaction_verifies_the_texted_code(sample: Callable[[str], Any], apis: PublicApis) -> None:
    proc = sample("samples/human_interaction")
    phone = "+14255550123"
    r = requests.post(f"{proc.base_url}/api/orchestrators/E4_SMSPhoneVerification", data=json.dumps(phone), timeout=30)
    assert r.status_code == 202, r.text
    urls = r.json()
    deadline = time.monotonic() + 30
    while not any(m["To"] == phone for m in apis.sms):
        assert time.monotonic() < deadline, "no SMS challenge was sent"
        time.sleep(0.05)
    text = next(m for m in apis.sms if m["To"] == phone)
    assert text["From"] == "+15005550006"  # the binding's "from": %TwilioPhoneNumber%
    code = text["Body"].removeprefix("Your verification code is ")
    assert code.isdigit()
    raise_url = urls["sendEventPostUri"].replace("{eventName}", "SmsChallengeResponse")
    assert requests.post(raise_url, json=code, timeout=30).status_code == 202
    status = _wait(urls["statusQueryGetUri"], 30)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] is True


def test_monitor_alerts_when_there_are_too_many_open_issues(sample: Callable[[str], Any], apis: PublicApis) -> None:
    apis.open_issues[("octo", "busy")] = 5
    phone = "+14255550199"
    status = _run(sample("samples/monitor"), "E3_Monitor", {"repo": "octo/busy", "phone": phone})
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == "Monitor completed!"
    alert = [m for m in apis.sms if m["To"] == phone]
    assert [m["Body"] for m in alert] == ["Hey! You may want to check on your repo, there are too many open issues"]


def test_monitor_reports_progress_while_the_repository_is_quiet(sample: Callable[[str], Any], apis: PublicApis) -> None:
    apis.open_issues[("octo", "quiet")] = 1
    proc = sample("samples/monitor")
    body = json.dumps({"repo": "octo/quiet", "phone": "+14255550100"})
    r = requests.post(f"{proc.base_url}/api/orchestrators/E3_Monitor", data=body, timeout=30)
    assert r.status_code == 202, r.text
    urls = r.json()
    status = _wait(urls["statusQueryGetUri"], 30, until=lambda s: s["customStatus"] is not None)
    # checked once, found few issues, and now waits a minute for the next check (a durable timer)
    assert status["runtimeStatus"] == "Running"
    assert status["customStatus"] == "The repository does not have too many issues, for now ..."
    assert not any(m["To"] == "+14255550100" for m in apis.sms)
    terminate = urls["terminatePostUri"].replace("{text}", "test-over")
    assert requests.post(terminate, timeout=30).status_code == 202
    assert _wait(urls["statusQueryGetUri"], 30)["runtimeStatus"] == "Terminated"
