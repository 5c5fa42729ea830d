"""The dataset registry and reading datasets outside a step, through the SDK against a real funchost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from durableml.compute.local import shutdown_workers
from durableml.config import WorkspaceConfig
from durableml.core import Dataset, Datastore, Workspace
from durableml.exceptions import ConflictError, DatasetNotFoundError

ROOT = Path(__file__).resolve().parent.parent
CSV = "a,b\n1,x\n2,y\n3,z\n"


@pytest.fixture(scope="module")
def ws(funchost_process: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    state = tmp_path_factory.mktemp("datasets")
    host = funchost_process(ROOT, env={"DURABLEML_STATE_DIR": str(state)})
    config = WorkspaceConfig("s", "r", "w", endpoint=host.base_url, key=host.function_key)
    workspace = Workspace("s", "r", "w", config=config)
    data = state / "data"
    (data / "tables").mkdir(parents=True)
    (data / "tables" / "part1.csv").write_text(CSV)
    (data / "tables" / "part2.csv").write_text("a,b\n4,w\n")
    (data / "notes.txt").write_text("hello")
    Datastore(workspace, "workspaceblobstore").upload(str(data), target_path="ds-test", overwrite=True)
    yield workspace
    host.stop()
    shutdown_workers(state)


def test_register_get_by_name_versions_and_conflicts(ws: Workspace) -> None:
    store = Datastore(ws, "workspaceblobstore")
    first = Dataset.Tabular.from_delimited_files([(store, "ds-test/tables/part1.csv")])
    registered = first.register(ws, name="table", description="one part")
    assert registered.version == 1 and registered.name == "table"
    assert first.register(ws, name="table").version == 1  # same definition: the existing version
    both = Dataset.Tabular.from_delimited_files([(store, "ds-test/tables/*.csv")])
    with pytest.raises(ConflictError, match="create_new_version=True"):
        both.register(ws, name="table")
    assert both.register(ws, name="table", create_new_version=True).version == 2
    assert Dataset.get_by_name(ws, "table").version == 2
    assert Dataset.get_by_name(ws, "table", version=1).version == 1
    assert Dataset.get_by_id(ws, registered.id).version == 1
    with pytest.raises(DatasetNotFoundError, match="no dataset named 'missing'"):
        Dataset.get_by_name(ws, "missing")
    assert "table" in ws.datasets.keys() and ws.datasets["table"].version == 2


def test_tabular_dataset_reads_outside_a_step(ws: Workspace) -> None:
    pytest.importorskip("pandas")
    store = Datastore(ws, "workspaceblobstore")
    frame = Dataset.Tabular.from_delimited_files([(store, "ds-test/tables/*.csv")]).to_pandas_dataframe()
    assert sorted(frame["a"].tolist()) == [1, 2, 3, 4]


def test_file_dataset_paths_and_download(ws: Workspace, tmp_path: Path) -> None:
    store = Datastore(ws, "workspaceblobstore")
    files = Dataset.File.from_files((store, "ds-test"))
    assert sorted(files.to_path()) == ["/notes.txt", "/tables/part1.csv", "/tables/part2.csv"]
    local = files.download(target_path=str(tmp_path))
    assert (tmp_path / "tables" / "part1.csv").read_text() == CSV and len(local) == 3
    missing = Dataset.File.from_files((store, "ds-test/nothing-here/*.csv"))
    with pytest.raises(DatasetNotFoundError, match="matches no files"):
        missing.to_path()


def test_a_dataset_over_several_paths_lays_files_out_as_steps_see_them(ws: Workspace, tmp_path: Path) -> None:
    store = Datastore(ws, "workspaceblobstore")
    several = Dataset.File.from_files([(store, "ds-test/tables/*.csv"), (store, "ds-test/notes.txt")])
    assert sorted(several.to_path()) == ["/notes.txt", "/tables/part1.csv", "/tables/part2.csv"]  # v1: common prefix
    several.download(target_path=str(tmp_path))
    assert (tmp_path / "tables" / "part2.csv").exists() and (tmp_path / "notes.txt").exists()
