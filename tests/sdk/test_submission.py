"""The submit path: parameter overrides, script checks, snapshots, options."""

from __future__ import annotations

from pathlib import Path

import pytest

from durableml.core import Dataset, Datastore, Experiment, Workspace
from durableml.data.datapath import DataPath, DataPathComputeBinding
from durableml.exceptions import ValidationError
from durableml.pipeline.core import Pipeline, PipelineParameter
from durableml.pipeline.steps import PythonScriptStep
from sdk_double import ServiceDouble


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("print(1)\n", encoding="utf-8")
    return tmp_path


def pipeline(ws: Workspace, blob_store: Datastore, script: str = "train.py", source: str = "src") -> Pipeline:
    params = [
        PipelineParameter("epochs", 10),
        PipelineParameter("rate", 0.1),
        PipelineParameter("path", DataPath(blob_store, "a")),
    ]
    step = PythonScriptStep(
        script_name=script,
        source_directory=source,
        compute_target="c",
        arguments=["--epochs", params[0], "--rate", params[1]],
        params={"PATH_NAME": "x"},
        inputs=[(params[2], DataPathComputeBinding())],
    )
    return Pipeline(ws, [step])


def test_submit_sends_the_document_overrides_and_options(
    ws: Workspace, blob_store: Datastore, service: ServiceDouble, project: Path
) -> None:
    run = Experiment(ws, "exp").submit(
        pipeline(ws, blob_store),
        pipeline_parameters={"epochs": 45, "rate": 1, "path": DataPath(blob_store, "b")},
        regenerate_outputs=True,
        tags={"team": "ml"},
    )
    (record,) = service.submitted
    assert record["parameters"] == {"epochs": 45, "rate": 1, "path": {"datastore": "workspaceblobstore", "path": "b"}}
    assert record["regenerateOutputs"] is True and record["tags"] == {"team": "ml"}
    assert record["document"]["steps"][0]["snapshot"]["id"] == "snapshot-1"
    assert service.calls == [("upload_snapshot", str(project / "src"))]
    assert run.id == "run-1" and run.experiment.name == "exp"


def test_pipeline_submit_uses_the_same_path(
    ws: Workspace, blob_store: Datastore, service: ServiceDouble, project: Path
) -> None:
    pipeline(ws, blob_store).submit("exp", continue_on_step_failure=True)
    assert service.submitted[0]["continueOnStepFailure"] is True


def test_unknown_or_mistyped_parameters_are_rejected_before_upload(
    ws: Workspace, blob_store: Datastore, service: ServiceDouble, project: Path
) -> None:
    experiment = Experiment(ws, "exp")
    with pytest.raises(
        ValidationError, match=r"names 'epoch', which the pipeline does not declare \(declared: epochs, path, rate\)"
    ):
        experiment.submit(pipeline(ws, blob_store), pipeline_parameters={"epoch": 3})
    with pytest.raises(
        ValidationError, match=r"pipeline_parameters\['epochs'\] is a string \('3'\), but the parameter is a int"
    ):
        experiment.submit(pipeline(ws, blob_store), pipeline_parameters={"epochs": "3"})
    with pytest.raises(ValidationError, match="is a file_dataset"):
        experiment.submit(
            pipeline(ws, blob_store), pipeline_parameters={"path": Dataset.File.from_files((blob_store, "x"))}
        )
    assert service.calls == [] and service.submitted == []


def test_missing_script_or_directory_is_reported_with_the_resolved_path(
    ws: Workspace, blob_store: Datastore, project: Path
) -> None:
    with pytest.raises(ValidationError, match=r"script 'missing.py' was not found in '.*src'"):
        Experiment(ws, "exp").submit(pipeline(ws, blob_store, script="missing.py"))
    with pytest.raises(ValidationError, match="source_directory 'nowhere' is not a directory"):
        Experiment(ws, "exp").submit(pipeline(ws, blob_store, source="nowhere"))


def test_unknown_submit_options_are_a_type_error(ws: Workspace, blob_store: Datastore, project: Path) -> None:
    with pytest.raises(TypeError, match="regenerate_output"):
        Experiment(ws, "exp").submit(pipeline(ws, blob_store), regenerate_output=True)
