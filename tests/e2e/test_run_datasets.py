"""Datasets a run used, as v1 code reads them: ``get_details()["inputDatasets"|"outputDatasets"]`` with Dataset
objects, an id for every dataset (registered or not) that works later with ``Dataset.get_by_id`` and over v1
REST (``SavedDataSetReference``), and ``register_model(..., datasets=[...])`` linking them."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import requests

from durableml.core import Dataset, Experiment
from durableml.data import OutputFileDatasetConfig
from durableml.data.dataset_consumption_config import DatasetConsumptionConfig
from durableml.data.file_dataset import FileDataset
from durableml.pipeline.core import Pipeline, PipelineParameter
from durableml.pipeline.steps import PythonScriptStep

from ._helpers import ensure_compute, step_summary

PROJECT = Path(__file__).resolve().parent / "projects" / "run_datasets"


def test_a_step_run_lists_its_datasets_and_their_ids_work_later(service: Any, tmp_path: Path) -> None:
    ws = service.workspace()
    store = ws.get_default_datastore()
    folder = f"run-datasets-{uuid.uuid4().hex[:8]}"
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(f"{name}\n")
    store.upload_files([str(tmp_path / "a.txt"), str(tmp_path / "b.txt")], target_path=folder, overwrite=True)
    files = Dataset.File.from_files((store, f"{folder}/*.txt"))  # never registered
    copied = OutputFileDatasetConfig(name="copied", destination=(store, "run-datasets/{run-id}/copied"))
    step = PythonScriptStep(
        "copy_files.py",
        name="copy",
        arguments=[files.as_named_input("files_in").as_mount(), copied],
        compute_target=ensure_compute(ws),
        source_directory=str(PROJECT),
        allow_reuse=False,
    )
    run: Any = Experiment(ws, "e2e-run-datasets").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished", step_summary(run)
    details = run.find_step_run("copy")[0].get_details()

    [used] = details["inputDatasets"]
    assert used["consumptionDetails"] == {"type": "RunInput", "inputName": "files_in", "mechanism": "Mount"}
    assert isinstance(used["dataset"], FileDataset) and used["dataset"].id
    again = Dataset.get_by_id(ws, used["dataset"].id)  # an unregistered dataset, by the id the run gave it
    assert sorted(Path(p).name for p in again.to_path()) == ["a.txt", "b.txt"]

    [made] = details["outputDatasets"]
    assert made["outputType"] == "RunOutput" and made["outputDetails"] == {"outputName": "copied"}
    assert made["identifier"]["savedId"] == made["dataset"].id
    assert sorted(Path(p).name for p in made["dataset"].to_path()) == ["copied-a.txt", "copied-b.txt"]

    # the same id over v1 REST: a published pipeline's FileDataset parameter assigned by SavedDataSetReference
    parameter = PipelineParameter("files", default_value=files)
    again_step = PythonScriptStep(
        "copy_files.py",
        name="copy-again",
        arguments=[DatasetConsumptionConfig("files_in", parameter).as_mount(), OutputFileDatasetConfig(name="out")],
        compute_target=ensure_compute(ws),
        source_directory=str(PROJECT),
        allow_reuse=False,
    )
    published = Pipeline(ws, [again_step]).publish(name=f"run-datasets-{folder}", description="", version="1")
    answer = requests.post(
        published.endpoint,
        headers={"x-functions-key": service.key},
        json={
            "ExperimentName": "e2e-run-datasets",
            "DataSetDefinitionValueAssignments": {"files": {"SavedDataSetReference": {"Id": used["dataset"].id}}},
        },
        timeout=30,
    )
    assert answer.status_code == 200, answer.text

    # and a model registered from the run links the dataset by that id
    step_run = run.find_step_run("copy")[0]
    model = step_run.register_model(
        "run-datasets-model", model_path="outputs", datasets=[("training", used["dataset"])]
    )
    linked = service.api("GET", f"/api/models/{model.name}").json()
    linked = linked[0] if isinstance(linked, list) else linked
    assert used["dataset"].id in str(linked.get("datasets")), linked
