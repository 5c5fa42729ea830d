"""Workspace, config.json, the service client seam, datastores and compute targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from durableml.core import Datastore, Experiment, Workspace
from durableml.core.authentication import InteractiveLoginAuthentication
from durableml.core.compute import AmlCompute, ComputeTarget, DatabricksCompute
from durableml.exceptions import (
    ComputeTargetException,
    ConfigurationError,
    InvalidNameError,
    ServiceNotConnectedError,
    UserErrorException,
    ValidationError,
)
from durableml.http_client import HttpServiceClient
from sdk_double import ServiceDouble


@pytest.fixture(autouse=True)
def _no_env_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DURABLEML_ENDPOINT", raising=False)
    monkeypatch.delenv("DURABLEML_KEY", raising=False)


def test_from_config_reads_azure_ml_config_and_durableml_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".azureml").mkdir()
    (tmp_path / ".azureml" / "config.json").write_text(
        json.dumps(
            {
                "subscription_id": "1234",
                "resource_group": "ml-rg",
                "workspace_name": "prod",
                "endpoint": "https://app.example.net/",
                "key": "secret",
            }
        ),
        encoding="utf-8",
    )
    (tmp_path / "nested").mkdir()
    monkeypatch.chdir(tmp_path / "nested")
    ws = Workspace.from_config()
    assert (ws.subscription_id, ws.resource_group, ws.name) == ("1234", "ml-rg", "prod")
    assert ws.service_endpoint == "https://app.example.net"
    assert InteractiveLoginAuthentication().get_authentication_header() == {"x-functions-key": "secret"}
    assert "secret" not in repr(ws.config)


def test_from_config_without_a_file_uses_the_local_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ws = Workspace.from_config()
    assert ws.name == "durableml-local" and ws.service_endpoint == "http://127.0.0.1:7071" and ws.location == "local"
    assert InteractiveLoginAuthentication().get_authentication_header() == {}


def test_environment_overrides_endpoint_and_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DURABLEML_ENDPOINT", "http://10.0.0.5:7071/")
    assert Workspace.from_config().service_endpoint == "http://10.0.0.5:7071"


def test_bad_config_files_say_what_is_wrong(tmp_path: Path) -> None:
    bad = tmp_path / "config.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="could not be read as JSON"):
        Workspace.from_config(path=str(bad))
    bad.write_text(json.dumps({"workspace_name": 5}), encoding="utf-8")
    with pytest.raises(ConfigurationError, match="'workspace_name' .* must be a non-empty string, got 5"):
        Workspace.from_config(path=str(bad))
    bad.unlink()
    with pytest.raises(ConfigurationError, match="No workspace config file"):
        Workspace.from_config(path=str(tmp_path / "missing"))


def test_unconnected_operations_raise_a_named_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ws = Workspace.from_config()
    assert isinstance(ws._client, HttpServiceClient)  # no service listening: calls fail with a named error
    assert ws.get_details()["name"] == "durableml-local"  # identity needs no service
    with pytest.raises(
        ServiceNotConnectedError, match=r"'get_datastore' needs the durableml service at http://127.0.0.1:7071"
    ):
        ws.get_default_datastore()


def test_datastore_lookup_and_missing_datastore(ws: Workspace) -> None:
    assert ws.get_default_datastore().name == "workspaceblobstore"
    assert Datastore(ws, "workspacefilestore").name == "workspacefilestore"
    with pytest.raises(UserErrorException, match="'nope' is not registered"):
        Datastore.get(ws, "nope")


def test_register_blob_container_sends_the_spec(ws: Workspace, service: ServiceDouble) -> None:
    store = Datastore.register_azure_blob_container(
        ws, datastore_name="pipelinedata", container_name="sampledata", account_name="pipelinedata", overwrite=True
    )
    assert store.name == "pipelinedata"
    assert service.calls[-1] == (
        "register_datastore",
        {
            "name": "pipelinedata",
            "type": "AzureBlob",
            "container_name": "sampledata",
            "account_name": "pipelinedata",
            "create_if_not_exists": False,
            "skip_validation": False,
        },
    )


def test_upload_files_positional_form_and_missing_files(
    ws: Workspace, blob_store: Datastore, service: ServiceDouble, tmp_path: Path
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x", encoding="utf-8")
    reference = blob_store.upload_files([str(tmp_path / "data" / "a.csv")], str(tmp_path), "target", overwrite=True)
    assert service.calls[-1] == (
        "upload_files",
        ("workspaceblobstore", [(str(tmp_path / "data" / "a.csv"), "target/data/a.csv")], True),
    )
    assert reference.path_on_datastore == "target"
    with pytest.raises(ValidationError, match="is not a file"):
        blob_store.upload_files(["missing.csv"])


def test_compute_lookup_returns_the_exact_class_or_raises(ws: Workspace) -> None:
    with pytest.raises(ComputeTargetException):
        ComputeTarget(workspace=ws, name="cpu")
    created = ComputeTarget.create(
        ws, "cpu", AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", min_nodes=0, max_nodes=4)
    )
    assert type(ComputeTarget(ws, "cpu")) is AmlCompute and type(AmlCompute(ws, "cpu")) is AmlCompute
    assert "cpu" in ws.compute_targets and ws.compute_targets["cpu"].type == "AmlCompute"
    assert created.get_status().serialize()["scaleSettings"] == {"minNodeCount": 0, "maxNodeCount": 4}
    with pytest.raises(ComputeTargetException, match="is of type 'AmlCompute', not 'Databricks'"):
        DatabricksCompute(ws, "cpu")


def test_bad_provisioning_settings_are_rejected(ws: Workspace) -> None:
    with pytest.raises(ValidationError, match="min_nodes <= max_nodes"):
        ComputeTarget.create(ws, "x", AmlCompute.provisioning_configuration(min_nodes=5, max_nodes=2))
    with pytest.raises(ValidationError, match="vm_priority"):
        ComputeTarget.create(ws, "x", AmlCompute.provisioning_configuration(vm_priority="spot", max_nodes=2))


def test_attach_configuration_hides_secrets() -> None:
    config = DatabricksCompute.attach_configuration(
        resource_group="rg", workspace_name="dbw", access_token="dapi-secret"
    )
    assert "dapi-secret" not in repr(config)


def test_experiment_names_follow_v1_rules(ws: Workspace) -> None:
    assert Experiment(ws, "Compare_Models_Exp").name == "Compare_Models_Exp"
    with pytest.raises(InvalidNameError, match="Experiment name 'bad name!'"):
        Experiment(ws, "bad name!")
