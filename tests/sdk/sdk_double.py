"""A minimal test double of ``durableml.client.ServiceClient`` for the SDK unit tests.

It answers the handful of calls the authoring tests make (datastores, compute targets, a submit)
with canned records and remembers what it was asked, so tests can assert on the requests the
SDK sends. It is not a service: nothing runs, and calls the tests do not expect fail loudly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from durableml.exceptions import ComputeTargetNotFoundError, DatastoreNotFoundError


class ServiceDouble:
    """Canned datastores and compute targets; records uploads, submissions and snapshots."""

    def __init__(self, datastores: Sequence[str] = ("workspaceblobstore", "workspacefilestore")) -> None:
        self.datastores = {name: {"name": name, "type": "AzureBlob", "containerName": name} for name in datastores}
        self.computes: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, Any]] = []
        self.submitted: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the SDK called ServiceClient.{name}, which this test does not expect")

    # datastores
    def get_datastore(self, name: str | None) -> dict[str, Any]:
        name = name or "workspaceblobstore"
        if name not in self.datastores:
            raise DatastoreNotFoundError(f"datastore {name!r} is not registered")
        return self.datastores[name]

    def register_datastore(self, spec: Mapping[str, Any], overwrite: bool) -> dict[str, Any]:
        self.calls.append(("register_datastore", dict(spec)))
        self.datastores[spec["name"]] = {"name": spec["name"], "type": spec["type"]}
        return self.datastores[spec["name"]]

    def upload_files(
        self, datastore: str, files: Sequence[tuple[str, str]], overwrite: bool, show_progress: bool
    ) -> int:
        self.calls.append(("upload_files", (datastore, list(files), overwrite)))
        return len(files)

    # compute
    def list_compute(self) -> list[dict[str, Any]]:
        return list(self.computes.values())

    def get_compute(self, name: str) -> dict[str, Any]:
        if name not in self.computes:
            raise ComputeTargetNotFoundError(f"compute target {name!r} not found")
        return self.computes[name]

    def create_compute(self, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        self.computes[name] = {"name": name, **spec}
        return self.computes[name]

    attach_compute = create_compute

    # runs
    def upload_snapshot(self, source_directory: str, hash_paths: Sequence[str] = ()) -> str:
        self.calls.append(("upload_snapshot", source_directory, *([tuple(hash_paths)] if hash_paths else [])))
        return f"snapshot-{len(self.calls)}"

    def submit_pipeline(
        self,
        document: Mapping[str, Any],
        experiment: str,
        parameters: Mapping[str, Any],
        *,
        regenerate_outputs: bool,
        continue_on_step_failure: bool,
        tags: Mapping[str, str],
        properties: Mapping[str, str] | None = None,
        step_properties: Mapping[str, Mapping[str, str]] | None = None,
    ) -> dict[str, Any]:
        record = {
            "id": f"run-{len(self.submitted) + 1}",
            "experimentName": experiment,
            "status": "Finished",
            "document": document,
            "properties": dict(properties or {}),
            "stepProperties": {k: dict(v) for k, v in (step_properties or {}).items()},
            "parameters": dict(parameters),
            "tags": dict(tags),
            "regenerateOutputs": regenerate_outputs,
            "continueOnStepFailure": continue_on_step_failure,
        }
        self.submitted.append(record)
        return record

    def get_run(self, run_id: str) -> dict[str, Any]:
        return next(r for r in self.submitted if r["id"] == run_id)

    def wait_for_run_change(
        self, run_id: str, known_status: str | None, wait: float, steps: bool = False
    ) -> tuple[dict[str, Any], bool]:
        return self.get_run(run_id), False  # like a service without long polling

    def list_step_runs(self, run_id: str) -> list[dict[str, Any]]:
        return []
