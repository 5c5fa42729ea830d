"""The backends the conformance suite runs against, each behind one small harness.

A harness makes a backend on a fresh state directory and knows the two things a test needs from the inside of a
backend: the pid of a running step's script, and the pid of the process that runs the step's runner (the one a
crash test kills). Adding a backend to the suite: write a harness and add it to ``HARNESSES``.
"""

from __future__ import annotations

import itertools
import json
import os
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Optional, Protocol

import pytest
from azure.storage.blob import BlobServiceClient

from durableml.compute import ComputeBackend, JobSpec
from funchost.azurite import AzuriteHandle
from tests.ray_cluster import ray_cluster  # noqa: F401 - the package's two-node Ray cluster (package scope)

REPO = Path(__file__).resolve().parents[2]
_ids = itertools.count(1)
StepFactory = Callable[..., JobSpec]


class Harness(Protocol):
    name: str

    def make(self, state_dir: Path, max_nodes: int) -> ComputeBackend: ...

    def script_pid(self, backend: Any, job_id: str) -> Optional[int]: ...

    def runner_pid(self, backend: Any, job_id: str) -> Optional[int]: ...

    def close(self, backend: Any) -> None: ...


class LocalHarness:
    """:class:`~durableml.compute.local.LocalCompute`: the runner runs in the target's detached worker."""

    name = "local"

    def __init__(self, request: pytest.FixtureRequest) -> None:
        pass

    def make(self, state_dir: Path, max_nodes: int) -> ComputeBackend:
        from durableml.compute.local import LocalCompute

        return LocalCompute(state_dir, max_nodes=max_nodes, log_interval=0.2)

    def script_pid(self, backend: Any, job_id: str) -> Optional[int]:
        running = backend.state.job(job_id).read_running() or {}
        return running.get("pid")

    def runner_pid(self, backend: Any, job_id: str) -> Optional[int]:
        return backend.worker_pid()  # type: ignore[no-any-return]

    def close(self, backend: Any) -> None:
        backend.shutdown()


class RayHarness:
    """:class:`~durableml.compute.ray.backend.RayCompute` on the session's two-node Ray cluster: the runner runs
    in the Ray job's entrypoint (``python -m durableml.compute.ray.node``)."""

    name = "ray"

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.cluster = request.getfixturevalue("ray_cluster")
        self.azurite: AzuriteHandle = request.getfixturevalue("azurite")

    def make(self, state_dir: Path, max_nodes: int) -> ComputeBackend:
        from durableml.compute.ray.backend import RayCompute

        return RayCompute(self.cluster.address, state_dir, max_nodes=max_nodes)

    def _running(self, job_id: str) -> dict[str, Any]:
        from azure.core.exceptions import ResourceNotFoundError

        from durableml.compute.ray.layout import JOBS_CONTAINER, RUNNING_BLOB, blob_name

        client = BlobServiceClient.from_connection_string(self.azurite.connection_string)
        try:
            with client:
                raw = client.get_blob_client(JOBS_CONTAINER, blob_name(job_id, RUNNING_BLOB)).download_blob().readall()
        except ResourceNotFoundError:
            return {}
        return dict(json.loads(raw))

    def script_pid(self, backend: Any, job_id: str) -> Optional[int]:
        return self._running(job_id).get("pid")

    def runner_pid(self, backend: Any, job_id: str) -> Optional[int]:
        return self._running(job_id).get("node_pid")

    def close(self, backend: Any) -> None:
        pass  # nothing runs on this machine on the backend's behalf


class _StaticToken:
    """A TokenCredential holding the loopback ARM server's token."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, int(time.time()) + 3600)


class ContainerAppsHarness:
    """:class:`~durableml.compute.containerapps.backend.ContainerAppsCompute` against a loopback ARM server
    (durableml/devtools/containerapps_arm.py) whose job executions run the step-runner image's entrypoint
    (``python -m durableml.compute.node``) as local processes, reading the spec with the job's storage secret."""

    name = "containerapps"

    def __init__(self, request: pytest.FixtureRequest) -> None:
        from durableml.devtools.containerapps_arm import ContainerAppsArmServer, JobDefinition, dockerfile_entrypoint

        self.azurite: AzuriteHandle = request.getfixturevalue("azurite")
        work = request.getfixturevalue("tmp_path") / "aca"
        work.mkdir()
        self.job = JobDefinition(
            "00000000-0000-0000-0000-000000000001",
            "durableml-rg",
            "step-runner-job",
            image="durablemlacr.azurecr.io/durableml-step-runner:test",
            command=dockerfile_entrypoint(REPO / "Dockerfile"),
            env=[{"name": "DURABLEML_STORAGE", "secretRef": "storage-connection"}, {"name": "PLAIN", "value": "1"}],
            secrets={"storage-connection": self.azurite.connection_string},
            workdir=work,
        )
        base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        base.update(PYTHONUNBUFFERED="1", DURABLEML_RAY_NODE_DIR=str(work / "node"))
        self.server = ContainerAppsArmServer([self.job], base_env=base, stop_grace=10).start()
        request.addfinalizer(self.server.stop)

    def make(self, state_dir: Path, max_nodes: int) -> ComputeBackend:
        from durableml.compute.containerapps.backend import ContainerAppsCompute

        return ContainerAppsCompute(
            self.job.id,
            state_dir,
            max_nodes=max_nodes,
            credential=_StaticToken(self.server.token),
            arm_endpoint=self.server.url,
        )

    def script_pid(self, backend: Any, job_id: str) -> Optional[int]:
        return _running_blob(self.azurite, job_id).get("pid")

    def runner_pid(self, backend: Any, job_id: str) -> Optional[int]:
        return _running_blob(self.azurite, job_id).get("node_pid")

    def close(self, backend: Any) -> None:
        pass  # the server's finalizer kills executions still running


def _running_blob(azurite: AzuriteHandle, job_id: str) -> dict[str, Any]:
    from azure.core.exceptions import ResourceNotFoundError

    from durableml.compute.layout import JOBS_CONTAINER, RUNNING_BLOB, blob_name

    client = BlobServiceClient.from_connection_string(azurite.connection_string)
    try:
        with client:
            raw = client.get_blob_client(JOBS_CONTAINER, blob_name(job_id, RUNNING_BLOB)).download_blob().readall()
    except ResourceNotFoundError:
        return {}
    return dict(json.loads(raw))


HARNESSES: dict[str, Callable[[pytest.FixtureRequest], Harness]] = {
    "local": LocalHarness,
    "ray": RayHarness,
    "containerapps": ContainerAppsHarness,
}


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest) -> Harness:
    return HARNESSES[request.param](request)


@pytest.fixture
def new_backend(harness: Harness, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``new_backend(max_nodes=2)``: a backend of the harness's kind on a fresh state directory."""
    made: list[Any] = []

    def factory(max_nodes: int = 2, state_dir: Optional[Path] = None) -> Any:
        backend = harness.make(state_dir or tmp_path / f"state{len(made)}", max_nodes)
        made.append(backend)
        return backend

    yield factory
    for backend in made:
        harness.close(backend)


@pytest.fixture
def blobs(azurite: AzuriteHandle) -> Iterator[BlobServiceClient]:
    client = BlobServiceClient.from_connection_string(azurite.connection_string)
    yield client
    client.close()


@pytest.fixture
def step(tmp_path_factory: pytest.TempPathFactory, azurite: AzuriteHandle) -> StepFactory:
    """``step(script, **spec_fields)``: a JobSpec running ``script`` (as main.py of a fresh source directory)."""

    def make(script: str, **fields: Any) -> JobSpec:
        src = tmp_path_factory.mktemp("src")
        (src / "main.py").write_text(textwrap.dedent(script), encoding="utf-8")
        defaults: dict[str, Any] = {
            "run_id": "conformance-run",
            "step_name": "main",
            "snapshot": str(src),
            "script_name": "main.py",
            "connection_string": azurite.connection_string,
            "experiment_name": "conformance",
        }
        job_id = fields.pop("job_id", None) or f"conf-{next(_ids)}-{src.name}"
        return JobSpec(job_id=job_id, **{**defaults, **fields})

    return make
