"""Dataset step inputs over several datastore paths (issue 3): FileDatasets mounted or downloaded as one
directory (files relative to the folder the paths share, as v1 removes that common prefix) and
TabularDatasets that read every file; bad multi-path inputs fail the step with a clear error."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from durableml.core import Dataset, Datastore, Experiment
from durableml.pipeline.core import Pipeline
from durableml.pipeline.steps import PythonScriptStep

from ._helpers import ensure_compute, step_summary
from .conftest import PROJECTS


@pytest.fixture(scope="module")
def ws(service: Any) -> Any:
    workspace = service.workspace()
    ensure_compute(workspace, max_nodes=2)
    return workspace


@pytest.fixture
def data(ws: Any, tmp_path: Path) -> tuple[Any, str]:
    """Files under ``mp/<unique>/`` on the default datastore: train/a.csv, train/b.csv, test/a.csv, notes.txt
    and other/skip.csv (which no dataset below selects)."""
    root = f"mp/{uuid.uuid4().hex[:8]}"
    local = tmp_path / "upload"
    files = {
        "train/a.csv": "n,split\n1,train\n",
        "train/b.csv": "n,split\n2,train\n3,train\n",
        "test/a.csv": "n,split\n4,test\n",
        "notes.txt": "notes",
        "other/skip.csv": "n,split\n9,other\n",
    }
    for rel, text in files.items():
        (local / rel).parent.mkdir(parents=True, exist_ok=True)
        (local / rel).write_text(text, encoding="utf-8")
    store = ws.get_default_datastore()
    store.upload(str(local), target_path=root, overwrite=True, show_progress=False)
    return store, root


def _read_step(files_arg: Any, report: Path, inputs: list[Any]) -> PythonScriptStep:
    return PythonScriptStep(
        script_name="read_inputs.py",
        name="read",
        source_directory=str(PROJECTS / "multi_path"),
        arguments=["--files", files_arg, "--report", str(report)],
        inputs=inputs,
        compute_target="e2e-cpu",
        allow_reuse=False,
    )


def _submit(ws: Any, step: PythonScriptStep) -> Any:
    run: Any = Experiment(ws, "e2e-multi-path").submit(Pipeline(ws, [step]))
    run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
    return run


def test_file_and_tabular_datasets_over_several_paths(
    ws: Any, service: Any, data: tuple[Any, str], tmp_path: Path
) -> None:
    store, root = data
    files = Dataset.File.from_files(
        path=[(store, f"{root}/train/*.csv"), (store, f"{root}/test"), (store, f"{root}/notes.txt")]
    )
    table = Dataset.Tabular.from_delimited_files(path=[(store, f"{root}/train/*.csv"), (store, f"{root}/test/a.csv")])
    report = tmp_path / "report.json"
    step = _read_step(
        files.as_mount(), report, [files.as_named_input("docs").as_download(), table.as_named_input("table")]
    )
    run = _submit(ws, step)
    assert run.get_status() == "Finished", f"{step_summary(run)}\n{service.log_tail()}"

    seen = json.loads(report.read_text())
    expected = ["notes.txt", "test/a.csv", "train/a.csv", "train/b.csv"]  # relative to mp/<unique>/
    assert seen["files"] == expected
    assert seen["contents"]["test/a.csv"] == "n,split\n4,test\n" and seen["contents"]["notes.txt"] == "notes"
    assert seen["docs"]["files"] == expected and seen["docs"]["path"] != seen["files_arg"]
    assert seen["table"]["rows"] == [
        {"n": 1, "split": "train"},
        {"n": 2, "split": "train"},
        {"n": 3, "split": "train"},
        {"n": 4, "split": "test"},
    ]


def test_a_path_that_matches_nothing_fails_the_step_naming_it(ws: Any, data: tuple[Any, str], tmp_path: Path) -> None:
    store, root = data
    files = Dataset.File.from_files(
        path=[(store, f"{root}/train/*.csv"), (store, f"{root}/missing/*.csv")], validate=False
    )
    run = _submit(ws, _read_step(files.as_mount(), tmp_path / "r.json", []))
    error = run.find_step_run("read")[0].get_details()["error"]
    assert run.get_status() == "Failed" and f"{root}/missing/*.csv" in error, error
    assert not (tmp_path / "r.json").exists()


def test_paths_on_two_datastores_are_named_as_not_supported(ws: Any, data: tuple[Any, str], tmp_path: Path) -> None:
    store, root = data
    other = Datastore.register_azure_blob_container(
        ws, "mp_second", container_name="mp-second", account_name="devstoreaccount1", create_if_not_exists=True
    )
    files = Dataset.File.from_files(path=[(store, f"{root}/notes.txt"), (other, "x/notes.txt")], validate=False)
    run = _submit(ws, _read_step(files.as_mount(), tmp_path / "r.json", []))
    error = run.find_step_run("read")[0].get_details()["error"]
    assert run.get_status() == "Failed", error
    assert "NotSupportedError" in error and "several datastores" in error and "mp_second:x/notes.txt" in error, error


# ---- the layout rule itself (durableml.data.layout), without a service
@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (
            [("d/train/*.csv", ["d/train/a.csv"]), ("d/test", ["d/test/a.csv"]), ("d/notes.txt", ["d/notes.txt"])],
            ["train/a.csv", "test/a.csv", "notes.txt"],
        ),
        ([("d/jan.csv", ["d/jan.csv"]), ("d/feb.csv", ["d/feb.csv"])], ["jan.csv", "feb.csv"]),
        ([("a/x.csv", ["a/x.csv"]), ("ab/y.csv", ["ab/y.csv"])], ["a/x.csv", "ab/y.csv"]),  # whole segments
        ([("*.csv", ["top.csv"]), ("deep/er/z.csv", ["deep/er/z.csv"])], ["top.csv", "deep/er/z.csv"]),
    ],
)
def test_files_land_relative_to_the_folder_all_paths_share(paths: Any, expected: list[str]) -> None:
    from durableml.data.layout import common_folder, path_folder, relative_to

    common = common_folder(path_folder(path, selected) for path, selected in paths)
    assert [relative_to(name, common) for _, selected in paths for name in selected] == expected
