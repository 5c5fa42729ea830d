"""DataFactoryBackend: the compute backend of ``DataFactory`` targets (v1's ``DataFactoryCompute``).

In Azure ML v1 a Data Factory runs a DataTransferStep as a copy activity: the data moves between the storage
services and no node of the workspace touches it. Here the job is the copy: the backend accepts only
DataTransferStep jobs (``durableml:runner/data_transfer.py``, whose source and destination bindings are marked
``transfer``) and runs each in the detached worker of :class:`~durableml.compute.local.LocalCompute` (its state
directory, crash recovery, ``step_done`` notification, cancel and driver log: status, cancel and logs work as
for every backend). The driver asks the storage service to copy (Copy Blob), polls each copy, aborts pending
copies on cancel, and streams only what no storage service can copy itself (a SQL source's rows; a blob whose
account can sign no read URL) in bounded chunks. See :mod:`durableml.runner.data_transfer`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from durableml.compute.base import JobSpec
from durableml.compute.local import LocalCompute
from durableml.exceptions import ComputeTargetException

__all__ = ["DataFactoryBackend", "COPY_DRIVER", "COPIES_AT_ONCE"]

COPY_DRIVER = "durableml:runner/data_transfer.py"
COPIES_AT_ONCE = 4
"""DataTransferStep jobs a DataFactory target runs at once (each starts up to 8 blob copies at a time)."""


class DataFactoryBackend(LocalCompute):
    """Runs DataTransferStep copies for one DataFactory target; refuses any other job."""

    def __init__(self, state_dir: Path | str, max_nodes: int = COPIES_AT_ONCE, **options: Any) -> None:
        super().__init__(state_dir, max_nodes=max_nodes, **options)

    def submit(self, job: JobSpec) -> str:
        """Accept a DataTransferStep's copy job (idempotent on ``job.job_id``)."""
        bindings = [*job.inputs.values(), *job.outputs.values()]
        if job.script_name != COPY_DRIVER or not bindings or not all(b.get("transfer") for b in bindings):
            raise ComputeTargetException(
                f"job {job.job_id} ({job.step_name!r}) is not a DataTransferStep copy: a DataFactory compute "
                "target runs only DataTransferStep; run other steps on an AmlCompute target"
            )
        return super().submit(job)


def datafactory_backend(record: Mapping[str, Any], state_dir: Path) -> DataFactoryBackend:
    """The registry's factory for ``DataFactory`` targets."""
    return DataFactoryBackend(state_dir)
