"""Identity-based storage end to end (issue 15): durableml under funchost with only the identity-based
``AzureWebJobsStorage__*`` settings the Bicep sets, against Azurite over HTTPS with OAuth (bearer tokens only),
tokens from a managed identity endpoint on loopback (:mod:`tests.identity_storage`).

The service's records (run, step), its blobs (datastore upload, snapshot, logs) and a step's input and output
all go through tokens: Azurite's account key is in no setting the service gets, and the test scans the job
specs, the records and the host's log for it. The step's script sees none of the identity endpoint's settings.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from durableml.core import Datastore, Experiment, Workspace
from durableml.data.data_reference import DataReference
from durableml.launcher import LocalDurableml, write_config
from durableml.pipeline.core import Pipeline, PipelineData
from durableml.pipeline.steps import PythonScriptStep
from funchost.azurite import account_key
from funchost.storage import DEVSTORE_KEY
from tests.identity_storage import IdentityEndpoint, identity_settings, start_oauth_azurite

from ._helpers import ensure_compute, step_summary

PROJECT = Path(__file__).resolve().parent / "projects" / "identity"
CLIENT_ID = "0b5b6c1e-7d0a-4f3e-9a52-6c2f1d3e4a5b"
IDENTITY_ENV = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET")


@pytest.fixture(scope="module")
def identity_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("identity")
    azurite, ca = start_oauth_azurite(work / "storage")
    try:
        with IdentityEndpoint(CLIENT_ID) as endpoint:
            env = {
                **identity_settings(azurite, CLIENT_ID),
                **endpoint.env,
                "REQUESTS_CA_BUNDLE": str(ca),
                "SSL_CERT_FILE": str(ca),
            }
            saved = os.environ.pop("AzureWebJobsStorage", None)
            launched = LocalDurableml(work / "svc", env=env, ready_timeout=60)
            try:
                launched.start()
                write_config(work / "project", launched.base_url, launched.function_key, "durableml-identity")
                yield {"launched": launched, "endpoint": endpoint, "work": work, "azurite": azurite, "env": env}
            finally:
                launched.stop()
                if saved is not None:
                    os.environ["AzureWebJobsStorage"] = saved
    finally:
        azurite.stop()


def _texts_under(root: Path) -> str:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and path.stat().st_size < 5_000_000 and "azurite" not in path.parts:
            found.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(found)


def test_a_pipeline_runs_on_identity_based_storage(identity_service: dict[str, Any], tmp_path: Path) -> None:
    svc, endpoint = identity_service["launched"], identity_service["endpoint"]
    ws = Workspace.from_config(path=str(identity_service["work"] / "project" / "config.json"))
    store = Datastore(ws)  # the workspace default: a container of the service's own account
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("hello identity\n")
    store.upload(str(tmp_path / "data"), target_path="identity-in", overwrite=True)

    data = DataReference(store, "data", "identity-in", mode="download")
    out = PipelineData("copied", datastore=store)
    copy = PythonScriptStep(
        "copy_env.py", name="copy", arguments=["--data", data, "--out", out], inputs=[data], outputs=[out],
        compute_target=ensure_compute(ws), source_directory=str(PROJECT), allow_reuse=False,
    )  # fmt: skip
    run: Any = Experiment(ws, "identity-storage").submit(Pipeline(ws, [copy]))
    run.wait_for_completion(show_output=False, timeout_seconds=180)
    assert run.get_status() == "Finished", step_summary(run)

    step_run = run.find_step_run("copy")[0]
    got = step_run.get_output_data("copied")
    target = tmp_path / "got"
    got.download(str(target))
    files = {p.name: p for p in target.rglob("*") if p.is_file()}
    assert files["a.txt"].read_text() == "HELLO IDENTITY\n"
    step_env = json.loads(files["env.json"].read_text())
    assert not set(IDENTITY_ENV) & set(step_env), step_env  # the step's script cannot ask for the node's tokens
    assert not [name for name in step_env if name.lower().startswith("azurewebjobsstorage")], step_env
    log = step_run.get_job_log()  # the step's log blob, appended and read with tokens too
    assert "copied" in log, log

    # every storage request went with a token from the identity endpoint, for Storage's audience only
    assert endpoint.issued["https://storage.azure.com"] >= 1 and endpoint.refused == 0, endpoint.issued

    # no account key anywhere: job specs, the service's state (records cache, worker files), the host's log
    keys = [DEVSTORE_KEY, account_key("devstoreaccount1"), "AccountKey"]
    seen = _texts_under(svc.state_dir) + svc.host.output()
    for key in keys:
        assert key not in seen
    specs = list(Path(svc.durableml_state).rglob("spec.json"))
    assert specs, "the local backend wrote no job spec"
    for spec in specs:
        text = spec.read_text()
        assert "Credential=managedidentity" in text and CLIENT_ID in text, text[:500]
        assert not any(key in text for key in keys)

    # the records, as the service reads them with its identity
    from durableml.storage_accounts import identity_connection, table_service

    env = identity_service["env"]
    trust = {k: v for k, v in env.items() if k.startswith(("REQUESTS_CA", "SSL_CERT"))}
    old = {k: os.environ.get(k) for k in [*IDENTITY_ENV[:2], *trust]}  # all restored: pip in later tests needs them
    os.environ.update(trust)
    os.environ.update(endpoint.env)
    try:
        tables = table_service(str(identity_connection(env)))
        dumped = [json.dumps(dict(e), default=str) for t in tables.list_tables() for e in
                  tables.get_table_client(t.name).list_entities()]  # fmt: skip
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    assert any(run.id in row for row in dumped)
    assert not any(key in row for key in keys for row in dumped)
