"""Fixtures for the compute tests: a LocalCompute on the session Azurite, and a way to write steps.

* ``blobs``: a BlobServiceClient on the session Azurite.
* ``compute``: one LocalCompute (max_nodes=2) shared by the module; its worker is shut down at the end.
* ``new_compute``: a factory for private LocalComputes (own state dir, own worker), all shut down at the end.
* ``step``: ``step(script_text, **spec_fields)`` writes the script into a fresh source directory and
  returns a JobSpec for it with a unique job id.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
from azure.storage.blob import BlobServiceClient

from durableml.compute import JobSpec
from durableml.compute.local import LocalCompute
from funchost.azurite import AzuriteHandle
from tests.polling import wait_until

_ids = itertools.count(1)
StepFactory = Callable[..., JobSpec]


@pytest.fixture(scope="session")
def blobs(azurite: AzuriteHandle) -> Iterator[BlobServiceClient]:
    client = BlobServiceClient.from_connection_string(azurite.connection_string)
    yield client
    client.close()


@pytest.fixture(scope="module")
def compute(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCompute]:
    local = LocalCompute(tmp_path_factory.mktemp("compute") / "state", max_nodes=2, log_interval=0.2)
    yield local
    local.shutdown()


@pytest.fixture
def new_compute(tmp_path: Path) -> Iterator[Callable[..., LocalCompute]]:
    made: list[LocalCompute] = []

    def factory(**options: Any) -> LocalCompute:
        local = LocalCompute(tmp_path / f"state{len(made)}", **{"log_interval": 0.2, **options})
        made.append(local)
        return local

    yield factory
    for local in made:
        local.shutdown()


@pytest.fixture
def step(tmp_path_factory: pytest.TempPathFactory, azurite: AzuriteHandle) -> StepFactory:
    def make(script: str, files: dict[str, str] | None = None, **fields: Any) -> JobSpec:
        job_id = fields.pop("job_id", None) or f"step-{next(_ids)}"
        src = tmp_path_factory.mktemp("src")
        (src / "main.py").write_text(textwrap.dedent(script), encoding="utf-8")
        for name, text in (files or {}).items():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_text(textwrap.dedent(text), encoding="utf-8")
        defaults: dict[str, Any] = {
            "run_id": "run-1",
            "step_name": "main",
            "snapshot": str(src),
            "script_name": "main.py",
            "connection_string": azurite.connection_string,
            "experiment_name": "exp",
        }
        return JobSpec(job_id=job_id, **{**defaults, **fields})

    return make


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``condition`` every 20 ms until it returns something true; AssertionError after ``timeout`` s."""
    return wait_until(condition, timeout=timeout, interval=0.02, what=what)


def process_gone(pid: int) -> bool:
    """True if ``pid`` has exited (a zombie waiting for init to reap it counts as exited)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def blob_text(blobs: BlobServiceClient, container: str, name: str) -> str:
    """The text of one blob."""
    return blobs.get_container_client(container).download_blob(name).readall().decode("utf-8")


def uploaded_log(blobs: BlobServiceClient, compute: LocalCompute, job_id: str, run_id: str = "run-1") -> str:
    """The job's driver log blob once it holds the whole log file (``compute.logs``), which it must soon.

    The local worker reports a job first and sends its log's last bytes to the blob right after (the
    backend serves logs from the file, complete before the report), so the blob may lag for a moment.
    """
    from azure.core.exceptions import ResourceNotFoundError

    def complete() -> tuple[str] | None:
        try:
            text = blob_text(blobs, "durableml-logs", f"{run_id}/{job_id}/70_driver_log.txt")
        except ResourceNotFoundError:
            return None
        return (text,) if text == compute.logs(job_id) else None

    return str(wait_for(complete, what=f"job {job_id}'s log blob to equal its log file")[0])


def blob_names(blobs: BlobServiceClient, container: str, prefix: str) -> list[str]:
    """Sorted names of the blobs under ``prefix``."""
    return sorted(b.name for b in blobs.get_container_client(container).list_blobs(name_starts_with=prefix))
