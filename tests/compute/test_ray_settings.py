"""The Ray backend's configuration, without a cluster: resource requests, the auth header, addresses, settings, and
a cluster that does not answer (the step fails with the reason; the header never shows)."""

from __future__ import annotations

from pathlib import Path

import pytest

from durableml.compute.ray import ray_backend, wants_ray
from durableml.compute.ray.backend import RayCompute, parse_auth_header, resource_requests
from durableml.core.compute import RayCompute as SdkRayCompute
from durableml.exceptions import ComputeTargetException, ConfigurationError, ValidationError
from funchost.azurite import AzuriteHandle
from funchost.host import free_port

from .conftest import StepFactory

HEADER = "Authorization: Bearer top-secret-token-123"


def test_resource_requests_default_to_one_cpu_and_map_vm_sizes_only_when_asked() -> None:
    assert resource_requests("STANDARD_NC6") == {"entrypoint_num_cpus": 1.0}
    assert resource_requests("STANDARD_NC6", vm_sizes="azure") == {
        "entrypoint_num_cpus": 1.0,
        "entrypoint_num_gpus": 1.0,
    }
    assert resource_requests("Standard_D2_v2", vm_sizes="azure") == {"entrypoint_num_cpus": 1.0}
    table = {"standard_d13_v2": {"num_cpus": 8, "memory": 1000, "resources": {"highmem": 1}}}
    assert resource_requests("STANDARD_D13_V2", vm_sizes=table) == {
        "entrypoint_num_cpus": 8.0,
        "entrypoint_memory": 1000,
        "entrypoint_resources": {"highmem": 1.0},
    }
    assert resource_requests("STANDARD_D13_V2", num_cpus=0.5, vm_sizes=table)["entrypoint_num_cpus"] == 0.5
    with pytest.raises(ComputeTargetException, match="vm_sizes must be None, 'azure' or a mapping"):
        resource_requests("x", vm_sizes="gcp")


def test_auth_headers_and_addresses() -> None:
    assert parse_auth_header(HEADER) == {"Authorization": "Bearer top-secret-token-123"}
    assert parse_auth_header("Bearer abc") == {"Authorization": "Bearer abc"}
    assert parse_auth_header({"X-Api-Key": "k"}) == {"X-Api-Key": "k"}
    assert parse_auth_header(None) == {}
    config = SdkRayCompute.attach_configuration("http://head:8265/", auth_header=HEADER, max_nodes=3)
    assert "top-secret" not in repr(config)
    assert config.to_dict() == {
        "type": "AmlCompute",
        "backend": "ray",
        "rayAddress": "http://head:8265",
        "rayAuthHeader": HEADER,
        "maxNodeCount": 3,
    }
    for bad in ("head:8265", "ftp://head", "http://", "http://head:8265/?x=1"):
        with pytest.raises(ValidationError, match="is not valid: give the URL of the cluster's dashboard"):
            SdkRayCompute.attach_configuration(bad)


def test_which_targets_run_on_ray_and_with_what(tmp_path: Path) -> None:
    record = {"name": "cpu", "type": "AmlCompute", "max_nodes": 3, "vm_size": "STANDARD_NC6"}
    assert not wants_ray(record, {})
    assert wants_ray(record, {"DURABLEML_AMLCOMPUTE_BACKEND": "ray"})
    assert wants_ray({**record, "backend": "ray"}, {})
    with pytest.raises(ConfigurationError, match="no cluster address is set"):
        ray_backend(record, tmp_path, {"DURABLEML_AMLCOMPUTE_BACKEND": "ray"})
    env = {
        "DURABLEML_AMLCOMPUTE_BACKEND": "ray",
        "DURABLEML_RAY_ADDRESS": "http://head:8265",
        "DURABLEML_RAY_AUTH_HEADER": HEADER,
        "DURABLEML_RAY_OPTIONS": '{"vm_sizes": "azure", "python": "/opt/py/bin/python"}',
    }
    backend = ray_backend(record, tmp_path, env)
    assert isinstance(backend, RayCompute) and backend.max_nodes == 3 and backend.python == "/opt/py/bin/python"
    assert backend.requests == {"entrypoint_num_cpus": 1.0, "entrypoint_num_gpus": 1.0}
    assert "top-secret" not in repr(backend)
    with pytest.raises(ConfigurationError, match="unknown Ray options"):
        ray_backend(record, tmp_path, {**env, "DURABLEML_RAY_OPTIONS": '{"cpus": 1}'})
    attached = {**record, "backend": "ray", "rayAddress": "http://other:8265", "rayNumCpus": 0.5}
    backend = ray_backend(attached, tmp_path, env)  # an attached cluster ignores the deployment's settings
    assert backend.address == "http://other:8265" and backend.requests == {"entrypoint_num_cpus": 0.5}


def test_a_cluster_that_does_not_answer_fails_the_step_with_the_reason(
    tmp_path: Path, step: StepFactory, azurite: AzuriteHandle
) -> None:
    address = f"http://127.0.0.1:{free_port()}"
    backend = RayCompute(address, tmp_path / "state", auth_header=HEADER)
    spec = step("print('never runs')\n")
    backend.submit(spec)
    status = backend.poll(spec.job_id)
    assert status.state.value == "Failed"
    assert status.error is not None and status.error.startswith("the step could not start on Ray: the Ray cluster at ")
    assert address in status.error and "top-secret" not in status.error


def test_a_stop_that_fails_while_the_ray_job_still_runs_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancel asks Ray to stop the job; if that fails, the error is swallowed only when the job has ended anyway
    (Ray's JobStatus.is_terminal is a method: as an attribute it was always true, hiding every failed stop)."""
    from ray.job_submission import JobStatus

    backend = RayCompute(f"http://127.0.0.1:{free_port()}", tmp_path / "state")
    status = {"now": JobStatus.RUNNING}

    def call(method: str, *args: object, **kwargs: object) -> object:
        if method == "stop_job":
            raise ComputeTargetException("the Ray cluster refused the stop")
        assert method == "get_job_info", method
        return type("Info", (), {"status": status["now"]})()

    monkeypatch.setattr(backend, "_call", call)
    with pytest.raises(ComputeTargetException, match="refused the stop"):
        backend._stop({"submission_id": "job-1"})
    status["now"] = JobStatus.STOPPED
    backend._stop({"submission_id": "job-1"})  # ended meanwhile: nothing to stop
