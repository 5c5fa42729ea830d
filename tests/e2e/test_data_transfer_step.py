"""DataTransferStep end to end, as v1 code writes it: a DataFactoryCompute, a folder copied into a PipelineData
that a later step reads, and a file copied to a DataReference path on another datastore path."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from ._helpers import STEPS_DIR, ensure_compute, step_summary


@pytest.fixture
def ws(v1_ws: Any) -> Any:
    from azureml.core.compute import ComputeTarget, DataFactoryCompute

    ensure_compute(v1_ws)
    if "adf" not in v1_ws.compute_targets:
        ComputeTarget.create(v1_ws, "adf", DataFactoryCompute.provisioning_configuration()).wait_for_completion()
    return v1_ws


def test_copies_into_pipeline_data_and_to_a_datastore_path(ws: Any, tmp_path: Path) -> None:
    from azureml.core import Experiment
    from azureml.data.data_reference import DataReference
    from azureml.pipeline.core import Pipeline, PipelineData
    from azureml.pipeline.steps import DataTransferStep, PythonScriptStep

    store = ws.get_default_datastore()
    folder = f"transfer-{uuid.uuid4().hex[:8]}"
    (tmp_path / "names.txt").write_text("source\n")
    (tmp_path / "other.txt").write_text("more\n")
    store.upload_files([str(tmp_path / "names.txt"), str(tmp_path / "other.txt")], target_path=folder, overwrite=True)

    staged = PipelineData("staged", datastore=store)
    copy = DataTransferStep(name="copy-folder", source_data_reference=DataReference(store, "src", folder),
                            destination_data_reference=staged, compute_target="adf", allow_reuse=False)  # fmt: skip
    journal = tmp_path / "journal.txt"
    read = PythonScriptStep(
        script_name="step.py", name="read-copy", source_directory=str(STEPS_DIR), compute_target="e2e-cpu",
        arguments=["--name", "read-copy", "--journal", str(journal), "--in", staged], inputs=[staged],
        allow_reuse=False,
    )  # fmt: skip
    one_file = DataReference(store, "one", f"{folder}/other.txt")
    publish = DataTransferStep(
        name="copy-file", source_data_reference=one_file, compute_target="adf", source_reference_type="file",
        destination_reference_type="file", allow_reuse=False,
        destination_data_reference=DataReference(store, "dst", f"{folder}-published/copy-of-other.txt"),
    )  # fmt: skip
    run: Any = Experiment(ws, "e2e-data-transfer").submit(Pipeline(ws, [read, publish]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False) == "Finished", (
        step_summary(run)
    )
    assert copy.name == "copy-folder"
    assert "read 1 upstream names" in run.find_step_run("read-copy")[0].get_job_log()  # names.txt came through
    assert "copied 2 file(s)" in run.find_step_run("copy-folder")[0].get_job_log()

    store.download(str(tmp_path / "down"), prefix=f"{folder}-published")
    assert (tmp_path / "down" / f"{folder}-published" / "copy-of-other.txt").read_text() == "more\n"
