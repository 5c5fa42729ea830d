"""Datastores on other storage accounts (issue 12, item 1), written the way v1 code is written.

The service runs on a private Azurite that serves two more accounts besides its own: ``otheracct`` (private
containers, reached with an account key, a SAS token, a service principal or the service's identity) and
``publicdata`` (a container with anonymous public read access). Fixtures are uploaded there with the Azure SDK,
as a data owner would; the v1 code registers the datastores, reads and writes them (``Datastore.upload``,
``download``), and runs a pipeline whose step mounts one account's folder, downloads the other's and writes its
output to the first. No credential ends up in a record, a log, the step's environment or in Azurite's data.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from durableml.compat import enable

enable()

from azureml.core import Datastore, Experiment, Workspace  # noqa: E402
from azureml.exceptions import UserErrorException  # noqa: E402
from azureml.pipeline.core import Pipeline, PipelineData  # noqa: E402
from azureml.pipeline.steps import PythonScriptStep  # noqa: E402
from funchost.azurite import account_key  # noqa: E402

from ._helpers import ensure_compute  # noqa: E402
from .conftest import PROJECTS, Service, running_service  # noqa: E402

OTHER, PUBLIC = "otheracct", "publicdata"
PRIVATE_FILES = {"data/a.csv": "x,y\n1,2\n", "data/sub/b.csv": "x,y\n3,4\n"}
PUBLIC_FILES = {"iris/iris.csv": "sepal,petal\n5.1,1.4\n", "iris/README.txt": "public sample data\n"}
CLIENT_SECRET = "sp-secret-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_service(None, tmp_path_factory.mktemp("e2e-accounts"), accounts=(OTHER, PUBLIC)) as svc:
        _upload_fixtures(svc)
        yield svc


def _blob_service(svc: Service, account: str) -> Any:
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient.from_connection_string(svc.azurite.account_connection_string(account))


def _upload_fixtures(svc: Service) -> None:
    other = _blob_service(svc, OTHER)
    for container in ("training", "lake", "share"):
        client = other.create_container(container)
        for name, text in PRIVATE_FILES.items():
            client.upload_blob(name, text.encode())
    public = _blob_service(svc, PUBLIC).create_container("open", public_access="container")
    for name, text in PUBLIC_FILES.items():
        public.upload_blob(name, text.encode())


@pytest.fixture(scope="module")
def ws(service: Service) -> Workspace:
    workspace = Workspace.from_config(path=str(service.project / "config.json"))
    ensure_compute(workspace, max_nodes=2)
    return workspace


def _sas(container: str) -> str:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    return generate_container_sas(
        OTHER,
        container,
        account_key=account_key(OTHER),
        permission=ContainerSasPermissions(read=True, list=True, write=True, create=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=2),
    )


def _downloaded(store: Datastore, target: Path, prefix: str) -> dict[str, str]:
    store.download(str(target), prefix=prefix, show_progress=False)
    return {p.relative_to(target).as_posix(): p.read_text() for p in target.rglob("*") if p.is_file()}


def test_every_credential_form_reads_the_other_account(ws: Workspace, service: Service, tmp_path: Path) -> None:
    stores = {
        "bykey": Datastore.register_azure_blob_container(
            ws, "bykey", "training", account_name=OTHER, account_key=account_key(OTHER)
        ),
        "bysas": Datastore.register_azure_blob_container(
            ws, "bysas", "training", account_name=OTHER, sas_token=_sas("training")
        ),
        "byidentity": Datastore.register_azure_blob_container(
            ws, "byidentity", "training", account_name=OTHER, grant_workspace_access=True
        ),
        "bynothing": Datastore.register_azure_blob_container(ws, "bynothing", "training", account_name=OTHER),
        "bysp": Datastore.register_azure_data_lake_gen2(
            ws,
            "bysp",
            filesystem="lake",
            account_name=OTHER,
            tenant_id=str(uuid.uuid4()),
            client_id=str(uuid.uuid4()),
            client_secret=CLIENT_SECRET,
        ),
        "byshare": Datastore.register_azure_file_share(
            ws, "byshare", "share", account_name=OTHER, account_key=account_key(OTHER)
        ),
    }
    for name, store in stores.items():
        assert store.account_name == OTHER
        assert _downloaded(store, tmp_path / name, "data") == PRIVATE_FILES, name
        again = Datastore.get(ws, name)
        assert again.account_name == OTHER
    listed = service.api("GET", "/api/datastores").text
    for secret in (account_key(OTHER), _sas("training").split("sig=")[-1], CLIENT_SECRET):
        assert secret not in listed


def test_writes_go_to_the_other_account(ws: Workspace, service: Service, tmp_path: Path) -> None:
    store = Datastore.register_azure_blob_container(
        ws, "writable", "training", account_name=OTHER, sas_token=_sas("training"), overwrite=True
    )
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "new.txt").write_text("written through the SAS\n")
    store.upload(str(tmp_path / "up"), target_path="uploaded", overwrite=True, show_progress=False)
    blob = _blob_service(service, OTHER).get_container_client("training").download_blob("uploaded/new.txt")
    assert blob.readall() == b"written through the SAS\n"


def test_an_anonymous_public_container_is_read_only(ws: Workspace, tmp_path: Path) -> None:
    public = Datastore.register_azure_blob_container(ws, "opendata", "open", account_name=PUBLIC)
    assert _downloaded(public, tmp_path / "pub", "iris") == PUBLIC_FILES
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "x.txt").write_text("no\n")
    with pytest.raises(UserErrorException, match="read-only.*anonymously.*account_key= or sas_token="):
        public.upload(str(tmp_path / "up"), target_path="nope", show_progress=False)


def test_refusals_name_the_problem(ws: Workspace, service: Service) -> None:
    wrong = "d3Jvbmc=" * 11
    with pytest.raises(UserErrorException, match="refused the credential"):
        Datastore.register_azure_blob_container(ws, "wrongkey", "training", account_name=OTHER, account_key=wrong)
    with pytest.raises(UserErrorException, match="durableml up --account nosuchacct"):
        Datastore.register_azure_blob_container(ws, "noacct", "training", account_name="nosuchacct", account_key=wrong)
    with pytest.raises(UserErrorException, match="container 'missing' does not exist"):
        Datastore.register_azure_blob_container(
            ws, "nocont", "missing", account_name=OTHER, account_key=account_key(OTHER)
        )
    with pytest.raises(UserErrorException, match="client_secret is missing"):
        Datastore.register_azure_data_lake_gen2(
            ws, "halfsp", filesystem="lake", account_name=OTHER, tenant_id="t", client_id="c"
        )
    created = Datastore.register_azure_blob_container(
        ws, "madeforme", "fresh", account_name=OTHER, account_key=account_key(OTHER), create_if_not_exists=True
    )
    assert created.container_name == "fresh"
    assert "fresh" in {c.name for c in _blob_service(service, OTHER).list_containers()}


def test_a_pipeline_reads_both_accounts_and_keeps_the_secrets(ws: Workspace, service: Service, tmp_path: Path) -> None:
    sas = _sas("training")
    private = Datastore.register_azure_blob_container(
        ws, "pipelinein", "training", account_name=OTHER, sas_token=sas, overwrite=True
    )
    keyed = Datastore.register_azure_blob_container(
        ws, "pipelineout", "training", account_name=OTHER, account_key=account_key(OTHER), overwrite=True
    )
    public = Datastore.register_azure_blob_container(ws, "pipelinepublic", "open", account_name=PUBLIC)
    mounted, downloaded = private.path("data").as_mount(), public.path("iris").as_download()
    summary = PipelineData("summary", datastore=keyed)
    step = PythonScriptStep(
        script_name="read_both.py",
        name="read both",
        arguments=["--private", mounted, "--public", downloaded, "--out", summary],
        inputs=[mounted, downloaded],
        outputs=[summary],
        compute_target="e2e-cpu",
        source_directory=str(PROJECTS / "other_accounts"),
        allow_reuse=False,
    )
    run = Experiment(ws, "other-accounts").submit(Pipeline(ws, steps=[step]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished", run.get_details()
    step_run = run.find_step_run("read both")[0]
    got = _downloaded(keyed, tmp_path / "out", f"azureml/{step_run.id}/summary")
    seen = json.loads(got[f"azureml/{step_run.id}/summary/summary.json"])
    assert seen == {
        "private": {k.removeprefix("data/"): v for k, v in PRIVATE_FILES.items()},
        "public": {k.removeprefix("iris/"): v for k, v in PUBLIC_FILES.items()},
    }
    environment = got[f"azureml/{step_run.id}/summary/environment.json"]

    secrets = {"account key": account_key(OTHER), "sas signature": sas.split("sig=")[-1].split("&")[0]}
    texts = {
        "step environment": environment,
        "run record": service.api("GET", f"/api/runs/{run.id}").text,
        "step records": service.api("GET", f"/api/runs/{run.id}/steps").text,
        "datastores": service.api("GET", "/api/datastores").text,
        "step log": step_run.get_job_log(),
        "funchost output": service.host.output(),
    }
    leaks = [(what, where) for what, s in secrets.items() for where, text in texts.items() if s in text]
    assert leaks == []
    holders = {
        what: sorted(
            str(path)
            for root in (service.state_dir, service.azurite.data_dir, service.host.state_dir)
            for path in Path(root).rglob("*")
            if path.is_file() and s.encode() in path.read_bytes()
        )
        for what, s in secrets.items()
    }
    # only the job's spec.json (mode 0600, what the compute node stages with), never a record, table, blob,
    # orchestration history or log: the datastores' credentials are sealed in the service's secret table
    for what, paths in holders.items():
        assert all(p.endswith(f"{step_run.id}/spec.json") for p in paths), (what, paths)


def test_the_example_runs_offline_with_one_command() -> None:
    example = PROJECTS.parents[2] / "examples" / "other_accounts"
    done = subprocess.run(
        [sys.executable, str(example / "run.py")], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (report,) = (example / "results").rglob("holiday_sales.csv")
    assert report.read_text().splitlines() == [
        "date,holiday,store,amount",
        "2026-01-01,New Year,north,120",
        "2026-01-06,Epiphany,north,95",
        "2026-01-01,New Year,south,60",
        "2026-01-06,Epiphany,south,75",
    ]
