"""The SDK against the real service: funchost on this repository's function_app.py, over Azurite.

A v1-style notebook's calls (Workspace, Datastore, ComputeTarget/AmlCompute, snapshots) go through
HttpServiceClient and the HTTP API to Azure Tables and blobs, and back.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from durableml.compute.local import shutdown_workers
from durableml.config import WorkspaceConfig
from durableml.core import ComputeTarget, Datastore, Workspace
from durableml.core.compute import AmlCompute
from durableml.exceptions import (
    AuthenticationException,
    ComputeTargetException,
    DatastoreNotFoundError,
    DocumentValidationError,
    RunNotFoundError,
    UserErrorException,
)
from durableml.http_client import HttpServiceClient
from tests.conftest import REPO_ROOT, FunchostProcess

pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture(scope="module")
def service(funchost_process: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FunchostProcess]:
    """funchost on the repository's Function App, with its own durableml state directory."""
    state = tmp_path_factory.mktemp("durableml-state")
    host: FunchostProcess = funchost_process(REPO_ROOT, env={"DURABLEML_STATE_DIR": str(state)})
    yield host
    host.stop()
    shutdown_workers(state)


def _workspace(service: FunchostProcess, key: str | None) -> Workspace:
    config = WorkspaceConfig(endpoint=service.base_url, key=key)
    return Workspace("00000000-0000-0000-0000-000000000000", "rg", "ws", config=config)


@pytest.fixture
def ws(service: FunchostProcess) -> Workspace:
    """A workspace whose config names the funchost endpoint and its function key."""
    return _workspace(service, service.function_key)


def _client(ws: Workspace) -> HttpServiceClient:
    assert isinstance(ws._client, HttpServiceClient)  # create_client's default, no factory installed
    return ws._client


def _write(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


def _read_all(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


FILES = {
    "train.csv": b"a,b\n1,2\n",
    "nested/deeper/x.bin": bytes(range(256)) * 64,
    "with space/ü and #hash?.txt": "ünïcode\n".encode(),
    "empty.txt": b"",
}


def test_datastore_upload_download_round_trip(ws: Workspace, tmp_path: Path) -> None:
    store = Datastore(ws, "workspaceblobstore")
    prefix = f"roundtrip-{uuid.uuid4().hex[:8]}"
    _write(tmp_path / "src", FILES)
    store.upload(str(tmp_path / "src"), target_path=prefix, overwrite=True, show_progress=False)
    store.upload_files([str(tmp_path / "src" / "train.csv")], target_path=f"{prefix}-other", show_progress=False)

    assert store.download(str(tmp_path / "out"), prefix=f"{prefix}/", show_progress=False) == len(FILES)
    assert _read_all(tmp_path / "out" / prefix) == FILES
    assert not (tmp_path / "out" / f"{prefix}-other").exists()  # only what is under the prefix

    assert store.download(str(tmp_path / "out"), prefix=f"{prefix}/", show_progress=False) == 0  # all exist
    (tmp_path / "out" / prefix / "train.csv").write_bytes(b"changed locally")
    assert store.download(str(tmp_path / "out"), prefix=f"{prefix}/", overwrite=True, show_progress=False) == 4
    assert (tmp_path / "out" / prefix / "train.csv").read_bytes() == FILES["train.csv"]


def test_upload_overwrite_flag_reaches_the_service(ws: Workspace, tmp_path: Path) -> None:
    store = Datastore(ws, "workspaceblobstore")
    path = f"overwrite-{uuid.uuid4().hex[:8]}"
    _write(tmp_path, {"v.txt": b"first"})
    store.upload_files([str(tmp_path / "v.txt")], target_path=path, show_progress=False)
    _write(tmp_path, {"v.txt": b"second"})
    store.upload_files([str(tmp_path / "v.txt")], target_path=path, overwrite=False, show_progress=False)
    store.download(str(tmp_path / "a"), prefix=path, show_progress=False)
    assert (tmp_path / "a" / path / "v.txt").read_bytes() == b"first"
    store.upload_files([str(tmp_path / "v.txt")], target_path=path, overwrite=True, show_progress=False)
    store.download(str(tmp_path / "b"), prefix=path, show_progress=False)
    assert (tmp_path / "b" / path / "v.txt").read_bytes() == b"second"


def test_upload_shows_progress_like_v1(ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path, {"p.txt": b"x"})
    Datastore(ws, "workspaceblobstore").upload_files([str(tmp_path / "p.txt")], target_path="progress", overwrite=True)
    out = capsys.readouterr().out
    assert "Uploading an estimated of 1 files" in out and "Uploaded 1 files" in out


def test_datastores_are_listed_and_a_missing_one_raises_the_v1_error(ws: Workspace) -> None:
    assert {"workspaceblobstore", "workspacefilestore"} <= set(ws.datastores)
    with pytest.raises(DatastoreNotFoundError, match="no datastore named 'nope'") as caught:
        Datastore(ws, "nope")
    assert isinstance(caught.value, UserErrorException) and isinstance(caught.value, LookupError)


def test_builtin_datastore_types(ws: Workspace) -> None:
    assert Datastore(ws, "workspacefilestore").datastore_type == "AzureFile"


def test_registered_datastore_round_trip(ws: Workspace) -> None:
    name = f"reg{uuid.uuid4().hex[:8]}"
    store = Datastore.register_azure_blob_container(
        ws, datastore_name=name, container_name=f"c{name}", account_name="devstoreaccount1", account_key="secret=="
    )  # fmt: skip
    assert store.name == name and store.container_name == f"c{name}"
    assert Datastore.get(ws, name).container_name == f"c{name}"
    assert "account_key" not in ws._client.get_datastore(name)  # the service keeps no secret in its record


def test_compute_create_get_list_delete(ws: Workspace) -> None:
    name = f"cpu-{uuid.uuid4().hex[:6]}"
    with pytest.raises(ComputeTargetException):  # the v1 notebook pattern: look up, else create
        ComputeTarget(workspace=ws, name=name)
    config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", max_nodes=2)
    created = ComputeTarget.create(ws, name, config)
    created.wait_for_completion(show_output=False)
    assert type(created) is AmlCompute

    found = ComputeTarget(ws, name)
    assert type(found) is AmlCompute and isinstance(found, AmlCompute)
    assert (found.name, found.vm_size, found.max_nodes) == (name, "STANDARD_D2_V2", 2)
    assert type(ws.compute_targets[name]) is AmlCompute
    found.delete()
    assert name not in ws.compute_targets


def _snapshot_tree(root: Path) -> None:
    """Contents unique to this call (nothing is in the store yet), with lib/copy.py == lib/util.py."""
    token = uuid.uuid4().hex
    lib = f"X = '{token}'\n".encode()
    _write(root, {"train.py": f"print('{token}')\n".encode(), "lib/util.py": lib, "lib/copy.py": lib,
                  "data/big.csv": b"1,2,3\n" * 1000, "notes.log": b"log\n"})  # fmt: skip
    (root / ".amlignore").write_text(f"# {token}\ndata/\n*.log\n", encoding="utf-8")
    (root / ".gitignore").write_text(f"# {token}\nlib/\n", encoding="utf-8")  # not used: .amlignore wins


def _counting_puts(client: HttpServiceClient) -> list[str]:
    puts: list[str] = []
    session = client._session_for_requests()
    session.hooks["response"].append(
        lambda r, *a, **k: puts.append(r.request.path_url) if r.request.method == "PUT" else None
    )
    return puts


def _manifest(azurite: Any, snapshot_id: str) -> dict[str, str]:
    from azure.storage.blob import BlobServiceClient

    with BlobServiceClient.from_connection_string(azurite.connection_string) as blobs:
        data = blobs.get_blob_client("durableml-snapshots", f"manifests/{snapshot_id}.json").download_blob().readall()
    return dict(json.loads(data)["files"])


def test_snapshot_upload_honours_amlignore_and_skips_unchanged_files(
    ws: Workspace, tmp_path: Path, azurite: Any
) -> None:
    _snapshot_tree(tmp_path)
    client = _client(ws)
    puts = _counting_puts(client)

    first = client.upload_snapshot(str(tmp_path))
    manifest = _manifest(azurite, first)
    assert sorted(manifest) == [".amlignore", ".gitignore", "lib/copy.py", "lib/util.py", "train.py"]
    assert sorted(puts) == sorted({f"/api/snapshots/files/{sha}" for sha in manifest.values()})  # each sha once
    assert len(puts) == 4  # lib/copy.py has lib/util.py's bytes

    puts.clear()
    assert client.upload_snapshot(str(tmp_path)) == first
    assert puts == []  # nothing changed, nothing uploaded

    (tmp_path / "lib" / "util.py").write_text(f"X = '{uuid.uuid4()}'\n", encoding="utf-8")
    second = client.upload_snapshot(str(tmp_path))
    assert second != first and len(puts) == 1
    assert _manifest(azurite, second)["lib/util.py"] in puts[0]


def test_a_wrong_key_is_an_authentication_error(service: FunchostProcess) -> None:
    wrong = "not-the-key-" + uuid.uuid4().hex
    ws = _workspace(service, wrong)
    with pytest.raises(AuthenticationException, match=r"HTTP 401.*DURABLEML_KEY") as caught:
        Datastore(ws, "workspaceblobstore")
    assert wrong not in str(caught.value) and wrong not in repr(ws._client)
    with pytest.raises(AuthenticationException, match="No function key is configured"):
        ComputeTarget.list(_workspace(service, None))


def test_an_invalid_document_comes_back_with_its_issues(ws: Workspace) -> None:
    with pytest.raises(DocumentValidationError) as caught:
        _client(ws).submit_pipeline(
            {"schemaVersion": 99}, "http-client", {}, regenerate_outputs=False, continue_on_step_failure=False, tags={}
        )  # fmt: skip
    assert caught.value.issues and caught.value.issues[0].path == "$.schemaVersion"


def test_a_missing_run_raises_run_not_found(ws: Workspace) -> None:
    with pytest.raises(RunNotFoundError, match="no run with id 'no-such-run'"):
        _client(ws).get_run("no-such-run")
    assert _client(ws).list_runs(f"never-used-{uuid.uuid4().hex[:6]}") == []


def test_default_datastore_can_be_changed(ws: Workspace) -> None:
    assert ws.get_default_datastore().name == "workspaceblobstore"
    name = f"default{uuid.uuid4().hex[:8]}"
    Datastore.register_azure_blob_container(ws, name, container_name=name, account_name="devstoreaccount1")
    try:
        Datastore(ws, name).set_as_default()
        assert ws.get_default_datastore().name == name and Datastore.get_default(ws).name == name
    finally:
        ws.set_default_datastore("workspaceblobstore")
    assert ws.get_default_datastore().name == "workspaceblobstore"


STEP_SCRIPT = """
import argparse, os, sys
from azureml.core import Run

parser = argparse.ArgumentParser()
parser.add_argument("--out")
parser.add_argument("--n", type=int)
args = parser.parse_args()
Run.get_context().log("n", args.n)
os.makedirs(args.out, exist_ok=True)
with open(os.path.join(args.out, "result.txt"), "w") as handle:
    handle.write(f"n={args.n}\\n")
os.makedirs("outputs", exist_ok=True)
with open("outputs/model.txt", "w") as handle:
    handle.write("a model\\n")
print("hello from the step")
if args.n < 0:
    sys.exit("negative n")
"""


def _wait(run: Any, timeout: float = 90.0) -> str:
    deadline = time.monotonic() + timeout
    while (status := run.get_status()) not in ("Finished", "Failed", "Canceled"):
        assert time.monotonic() < deadline, f"run {run.id} still {status} after {timeout:.0f} s"
        time.sleep(0.2)
    return str(status)


def _pipeline(ws: Workspace, source: Path) -> Any:
    from durableml.pipeline.core import Pipeline, PipelineData, PipelineParameter
    from durableml.pipeline.steps import PythonScriptStep

    source.mkdir(parents=True, exist_ok=True)
    (source / "step.py").write_text(STEP_SCRIPT, encoding="utf-8")
    out = PipelineData("out", datastore=Datastore(ws, "workspaceblobstore"))
    step = PythonScriptStep(
        name="produce", script_name="step.py", source_directory=str(source),
        arguments=["--out", out, "--n", PipelineParameter("n", 3)], outputs=[out], allow_reuse=False,
    )  # fmt: skip
    return Pipeline(ws, [step])


def test_a_submitted_pipeline_runs_and_reports_back(ws: Workspace, tmp_path: Path) -> None:
    from durableml.core import Experiment

    experiment = f"http-client-{uuid.uuid4().hex[:6]}"
    run = Experiment(ws, experiment).submit(_pipeline(ws, tmp_path / "src"), pipeline_parameters={"n": 5})
    assert _wait(run) == "Finished"
    [step] = run.get_steps()
    assert step.get_status() == "Finished"
    assert step.get_metrics() == {"n": 5}
    assert "hello from the step" in _client(ws).get_run_log(step.id, 0)
    assert step.get_file_names() == ["outputs/model.txt"]
    step.download_file("outputs/model.txt", str(tmp_path / "model.txt"))
    assert (tmp_path / "model.txt").read_text(encoding="utf-8") == "a model\n"
    assert [record["id"] for record in _client(ws).list_runs(experiment)] == [run.id]
    assert experiment in ws.experiments


def test_metrics_logged_through_the_api_are_read_back(ws: Workspace, tmp_path: Path) -> None:
    from durableml.core import Experiment

    run = Experiment(ws, "http-client-metrics").submit(_pipeline(ws, tmp_path / "src"))
    _client(ws).log_metrics(run.id, [{"kind": "scalar", "name": "accuracy", "value": 0.9, "description": ""}])
    assert _client(ws).get_run_metrics(run.id)["accuracy"] == 0.9
    _wait(run)


def test_a_failing_step_fails_the_run(ws: Workspace, tmp_path: Path) -> None:
    from durableml.core import Experiment
    from durableml.exceptions import ActivityFailedException

    run = Experiment(ws, "http-client-fail").submit(_pipeline(ws, tmp_path / "src"), pipeline_parameters={"n": -1})
    assert _wait(run) == "Failed"
    with pytest.raises(ActivityFailedException):
        run.wait_for_completion(show_output=False)
