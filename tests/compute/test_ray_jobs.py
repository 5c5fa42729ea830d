"""What the Ray backend leaves on the cluster and in storage, on the real two-node cluster of ``tests/ray_cluster.py``:
a Ray job carries no storage secret (only a read-only URL of its spec blob, which is deleted once the job ended),
its resource requests reach Ray (a step no node can take waits Queued until canceled), and an entrypoint that
cannot even start fails the step with Ray's reason."""

from __future__ import annotations

from pathlib import Path

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobClient

from durableml.compute import JobState
from durableml.compute.ray.backend import RayCompute
from durableml.compute.ray.layout import JOBS_CONTAINER, SPEC_BLOB, SPEC_URL_ENV, blob_name
from funchost.azurite import AzuriteHandle
from tests.ray_cluster import RayCluster

from .conftest import StepFactory

TIMEOUT = 90.0


def test_a_ray_job_carries_no_storage_secret_and_its_spec_url_dies_with_it(
    ray_cluster: RayCluster, azurite: AzuriteHandle, step: StepFactory, tmp_path: Path
) -> None:
    backend = RayCompute(ray_cluster.address, tmp_path / "state", max_nodes=1)
    spec = step("print('hello')\n")
    backend.submit(spec)
    info = backend.client().get_job_info(spec.job_id)
    account_key = azurite.connection_string.split("AccountKey=")[1].split(";")[0]
    shown = f"{info.entrypoint} {info.runtime_env} {info.metadata}"
    assert account_key not in shown and "AccountKey" not in shown
    url = info.runtime_env["env_vars"][SPEC_URL_ENV]
    assert url.split("?")[0].endswith(f"/{JOBS_CONTAINER}/{blob_name(spec.job_id, SPEC_BLOB)}") and "sig=" in url
    assert "sp=r&" in url or url.endswith("sp=r"), "the URL only reads"
    assert backend.wait(spec.job_id, timeout=TIMEOUT).state is JobState.FINISHED
    try:
        BlobClient.from_blob_url(url).download_blob().readall()
        raise AssertionError("the spec blob outlived its job")
    except ResourceNotFoundError:
        pass


def test_an_entrypoint_that_cannot_start_fails_the_step_with_rays_reason(
    ray_cluster: RayCluster, step: StepFactory, tmp_path: Path
) -> None:
    backend = RayCompute(ray_cluster.address, tmp_path / "state", python="/no/such/python")
    spec = step("print('never runs')\n")
    backend.submit(spec)
    status = backend.wait(spec.job_id, timeout=TIMEOUT)
    assert status.state is JobState.FAILED
    assert status.error is not None and status.error.startswith(f"the Ray job {spec.job_id} failed: ")
    assert "exit code 127" in status.error, status.error  # the shell's "not found" follows when Ray has read it
    assert backend.submission(spec.job_id) == spec.job_id, "not rerun: the entrypoint failed, nothing was lost"


def test_resource_requests_reach_ray_a_step_no_node_can_take_stays_queued_until_canceled(
    ray_cluster: RayCluster, step: StepFactory, tmp_path: Path
) -> None:
    backend = RayCompute(ray_cluster.address, tmp_path / "state", resources={"durableml_test_gpu_box": 1})
    spec = step("print('never runs')\n")
    backend.submit(spec)
    for _ in range(3):
        assert backend.poll(spec.job_id).state is JobState.QUEUED  # Ray's PENDING: no node has the resource
    assert str(backend.client().get_job_info(spec.job_id).status.value) == "PENDING"
    backend.cancel(spec.job_id)
    status = backend.wait(spec.job_id, timeout=TIMEOUT)
    assert status.state is JobState.CANCELED and backend.logs(spec.job_id) == ""
