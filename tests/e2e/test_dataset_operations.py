"""Dataset operations v1 pipelines use (issue 12, item 5), end to end against funchost + Azurite, written the way
v1 code is (``from azureml.core import Dataset, Datastore`` through the alias, ``Workspace.from_config()``):
``partition_format`` + ``partition_keys`` and ``get_partition_key_values``, ``filter`` expressions,
``set_column_types`` typing the data, ``partition_by`` writing parquet and registering the result, a step that
receives filtered / partitioned / typed datasets; ``register_dbfs`` / ``register_azure_data_lake`` (Gen1) and
SQL datastores checked on register."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sql_servers import postgres_server

from ._helpers import ensure_compute, step_summary
from .conftest import PROJECTS, Service

PROJECT = PROJECTS / "dataset_ops"

# state/yyyy/MM/dd/data.csv: id, code (text with leading zeros), amount, when (dd.mm.yyyy)
FILES = {
    "CA/2020/01/01/data.csv": "id,code,amount,when\n1,007,10.5,01.02.2020\n2,010,200,03.02.2020\n",
    "CA/2020/02/01/data.csv": "id,code,amount,when\n3,011,30,05.02.2020\nx,012,not-a-number,bad\n",
    "WA/2021/03/04/data.csv": "id,code,amount,when\n5,020,500.25,06.03.2021\n",
}


@pytest.fixture
def v1(v1_ws: Any) -> dict[str, Any]:
    from azureml.core import Dataset, Datastore, Experiment
    from azureml.data import DataType
    from azureml.data.datapath import DataPath
    from azureml.exceptions import UserErrorException
    from azureml.pipeline.core import Pipeline
    from azureml.pipeline.steps import PythonScriptStep

    return {"ws": v1_ws, "Dataset": Dataset, "Datastore": Datastore, "DataType": DataType, "DataPath": DataPath,
            "UserErrorException": UserErrorException, "Experiment": Experiment, "Pipeline": Pipeline,
            "PythonScriptStep": PythonScriptStep}  # fmt: skip


def _upload(v1: dict[str, Any], tmp_path: Path) -> tuple[Any, str]:
    store = v1["ws"].get_default_datastore()
    folder = f"ops-{uuid.uuid4().hex[:8]}"
    local = tmp_path / "partitioned"
    for rel, text in FILES.items():
        (local / rel).parent.mkdir(parents=True, exist_ok=True)
        (local / rel).write_text(text)
    store.upload(str(local), target_path=folder, overwrite=True, show_progress=False)
    return store, folder


def _table(v1: dict[str, Any], store: Any, folder: str) -> Any:
    DataType = v1["DataType"]
    return v1["Dataset"].Tabular.from_delimited_files(
        path=(store, f"{folder}/**/*.csv"),
        partition_format="{state}/{date:yyyy/MM/dd}/data.csv",
        set_column_types={
            "id": DataType.to_long(),
            "code": DataType.to_string(),
            "amount": DataType.to_float(),
            "when": DataType.to_datetime("%d.%m.%Y"),
        },
    )


def test_partition_format_keys_types_and_filters(v1: dict[str, Any], tmp_path: Path) -> None:
    store, folder = _upload(v1, tmp_path)
    table = _table(v1, store, folder)
    assert table.partition_keys == ["state", "date"]

    frame = table.to_pandas_dataframe().sort_values("code").reset_index(drop=True)
    assert frame["code"].tolist() == ["007", "010", "011", "012", "020"]  # a string: the zeros stay
    assert frame["state"].tolist() == ["CA", "CA", "CA", "CA", "WA"]
    assert [d.date() for d in frame["date"]] == [dt.date(2020, 1, 1)] * 2 + [dt.date(2020, 2, 1)] * 2 + [
        dt.date(2021, 3, 4)
    ]
    assert str(frame["date"].dtype).startswith("datetime64") and str(frame["when"].dtype).startswith("datetime64")
    assert frame["when"][0].to_pydatetime() == dt.datetime(2020, 2, 1)
    # a value that does not convert is null (v1's on_error='null'), or an error naming it with on_error='fail'
    assert frame["id"].isna().tolist() == [False, False, False, True, False]
    assert frame["amount"].isna().tolist() == [False, False, False, True, False]
    assert frame["amount"][4] == 500.25 and frame["when"].isna()[3]
    with pytest.raises(v1["UserErrorException"], match="cannot be converted to"):
        table.to_pandas_dataframe(on_error="fail")

    assert table.get_partition_key_values() == [
        {"state": "CA", "date": dt.datetime(2020, 1, 1)},
        {"state": "CA", "date": dt.datetime(2020, 2, 1)},
        {"state": "WA", "date": dt.datetime(2021, 3, 4)},
    ]
    assert table.get_partition_key_values(["state"]) == [{"state": "CA"}, {"state": "WA"}]
    with pytest.raises(v1["UserErrorException"], match=r"\['country'\] are invalid partition keys"):
        table.get_partition_key_values(["country"])

    # filters on regular and partition columns, combined the v1 way; kept in the definition (and registrable)
    big_or_wa = table.filter((table["amount"] > 100) | (table["state"] == "WA"))
    assert sorted(big_or_wa.to_pandas_dataframe()["code"]) == ["010", "020"]
    early_ca = table.filter((table["state"] == "CA") & (table["date"] < dt.datetime(2020, 1, 15)))
    assert sorted(early_ca.to_pandas_dataframe()["id"]) == [1, 2]
    assert sorted(table.filter(table["code"].starts_with("01")).to_pandas_dataframe()["code"]) == ["010", "011", "012"]
    assert sorted(table.filter(~table["code"].ends_with("0")).to_pandas_dataframe()["code"]) == ["007", "011", "012"]
    assert sorted(table.filter(table["code"].contains("2")).to_pandas_dataframe()["code"]) == ["012", "020"]
    registered = big_or_wa.register(v1["ws"], f"ops-filtered-{folder}")
    again = v1["Dataset"].get_by_name(v1["ws"], f"ops-filtered-{folder}")
    assert sorted(again.to_pandas_dataframe()["code"]) == ["010", "020"] and registered.id == again.id
    with pytest.raises(TypeError, match="no truth value"):
        table.filter(table["amount"] > 1 and table["id"] < 3)
    with pytest.raises(v1["UserErrorException"], match="not in the data"):
        table.filter(table["nope"] == 1).to_pandas_dataframe()

    # a FileDataset with a partition format exposes the keys too
    files = v1["Dataset"].File.from_files((store, f"{folder}/**"), partition_format="/{state}/{date:yyyy}/*")
    assert files.partition_keys == ["state", "date"]
    assert files.get_partition_key_values(["state"]) == [{"state": "CA"}, {"state": "WA"}]
    with pytest.raises(v1["UserErrorException"], match="Format 'yyyy' must be defined"):
        v1["Dataset"].File.from_files((store, f"{folder}/**"), partition_format="{state}/{date:MM}/*")


def test_partition_by_writes_parquet_and_reads_back(v1: dict[str, Any], tmp_path: Path) -> None:
    store, folder = _upload(v1, tmp_path)
    base = _table(v1, store, folder)
    table = base.filter(~base["id"].is_null()).drop_columns(["date"])  # the bad row out: its id did not convert
    name = f"ops-parted-{folder}"
    parted = table.partition_by(["state"], target=v1["DataPath"](store, f"{folder}/parted"), name=name,
                                show_progress=False)  # fmt: skip
    assert parted.name == name and parted.partition_keys == ["state"]
    frame = parted.to_pandas_dataframe().sort_values("code").reset_index(drop=True)
    assert frame["state"].tolist() == ["CA", "CA", "CA", "WA"] and frame["code"].tolist() == [
        "007",
        "010",
        "011",
        "020",
    ]
    assert frame["id"].tolist() == [1, 2, 3, 5] and frame["amount"].tolist() == [10.5, 200.0, 30.0, 500.25]
    assert parted.get_partition_key_values() == [{"state": "CA"}, {"state": "WA"}]
    written = sorted(p.lstrip("/") for p in v1["Dataset"].File.from_files((store, f"{folder}/parted/**")).to_path())
    assert [p.split("/", 1)[1] for p in written] == ["CA/part-00000.parquet", "WA/part-00000.parquet"]
    uuid.UUID(written[0].split("/")[0])  # v1 writes below a new guid folder
    again = v1["Dataset"].get_by_name(v1["ws"], name)
    assert again.partition_keys == ["state"] and len(again.to_pandas_dataframe()) == 4

    # a datetime key's folder is yyyyMMddHHmmss and reads back as a datetime; a FileDataset on request
    by_date = base.filter(~base["when"].is_null()).keep_columns(["code", "when"])
    as_files = by_date.partition_by(["when"], target=(store, f"{folder}/by-when"), show_progress=False,
                                    partition_as_file_dataset=True)  # fmt: skip
    assert type(as_files).__name__ == "FileDataset" and as_files.partition_keys == ["when"]
    assert sorted(v["when"] for v in as_files.get_partition_key_values())[0] == dt.datetime(2020, 2, 1)
    with pytest.raises(v1["UserErrorException"], match="partition_keys cannot be empty"):
        table.partition_by([], target=(store, folder), show_progress=False)
    with pytest.raises(v1["UserErrorException"], match=r"\['nope'\] are invalid partition keys"):
        table.partition_by(["nope"], target=(store, folder), show_progress=False)


def test_a_step_receives_filtered_partitioned_and_typed_datasets(
    v1: dict[str, Any], service: Service, tmp_path: Path
) -> None:
    store, folder = _upload(v1, tmp_path)
    table = _table(v1, store, folder)
    filtered = table.filter((table["state"] == "CA") & (table["amount"] > 20))
    parted = table.keep_columns(["code", "state"]).partition_by(
        ["state"], target=(store, f"{folder}/step-parted"), name=f"ops-step-{folder}", show_progress=False
    )
    files = v1["Dataset"].File.from_files((store, f"{folder}/**"), partition_format="{state}/{date:yyyy/MM/dd}/*")
    report = tmp_path / "report.json"
    step = v1["PythonScriptStep"](
        script_name="report_inputs.py",
        name="report",
        source_directory=str(PROJECT),
        arguments=["--report", str(report), "--files", files.as_named_input("files").as_mount()],
        inputs=[filtered.as_named_input("filtered"), parted.as_named_input("parted")],
        compute_target=ensure_compute(v1["ws"]),
        allow_reuse=False,
    )
    run = v1["Experiment"](v1["ws"], "e2e-dataset-ops").submit(v1["Pipeline"](v1["ws"], [step]))
    run.wait_for_completion(show_output=False, timeout_seconds=180, raise_on_error=False)
    assert run.get_status() == "Finished", f"{step_summary(run)}\n{service.log_tail()}"
    seen = json.loads(report.read_text())

    rows = sorted(seen["filtered"]["rows"], key=lambda r: r["code"])
    assert [(r["code"], r["id"], r["state"], r["date"][:10]) for r in rows] == [
        ("010", 2, "CA", "2020-01-01"),
        ("011", 3, "CA", "2020-02-01"),
    ]
    assert seen["filtered"]["dtypes"]["code"] in ("str", "object", "string")
    assert seen["filtered"]["dtypes"]["id"].lower() in ("int64",) and seen["filtered"]["dtypes"]["date"].startswith(
        "datetime64"
    )
    assert seen["filtered"]["partition_keys"] == ["state", "date"]
    assert sorted((r["state"], r["code"]) for r in seen["parted"]["rows"]) == [
        ("CA", "007"), ("CA", "010"), ("CA", "011"), ("CA", "012"), ("WA", "020"),
    ]  # fmt: skip
    assert seen["parted"]["partition_keys"] == ["state"]
    assert seen["files"] == [
        {"values": {"state": "CA", "date": "2020-01-01 00:00:00"}, "files": ["CA/2020/01/01/data.csv"]},
        {"values": {"state": "CA", "date": "2020-02-01 00:00:00"}, "files": ["CA/2020/02/01/data.csv"]},
        {"values": {"state": "WA", "date": "2021-03-04 00:00:00"}, "files": ["WA/2021/03/04/data.csv"]},
    ]


def test_dbfs_and_adls_gen1_datastores(v1: dict[str, Any], service: Service) -> None:
    Datastore, ws, UserError = v1["Datastore"], v1["ws"], v1["UserErrorException"]
    from azureml.data.azure_data_lake_datastore import AzureDataLakeDatastore
    from azureml.data.dbfs_datastore import DBFSDatastore

    dbfs = Datastore.register_dbfs(ws, "ops_dbfs")
    assert isinstance(dbfs, DBFSDatastore) and dbfs.datastore_type == "DBFS"
    assert isinstance(Datastore.get(ws, "ops_dbfs"), DBFSDatastore) and isinstance(
        Datastore(ws, "ops_dbfs"), DBFSDatastore
    )
    assert type(Datastore.get(ws, "workspaceblobstore")) is Datastore

    with pytest.raises(UserError, match=r"^Tenant id, client id and client secret have to be defined together\."):
        Datastore.register_azure_data_lake(ws, "ops_gen1_bad", "store1", tenant_id="t", client_id="c")
    with pytest.raises(UserError, match="subscription ID is needed in order to grant the Workspace"):
        Datastore.register_azure_data_lake(ws, "ops_gen1_bad", "store1", grant_workspace_access=True)
    with pytest.raises(UserError, match="store_name is required"):
        Datastore.register_azure_data_lake(ws, "ops_gen1_bad", "")
    secret = "gen1-secret-" + uuid.uuid4().hex
    gen1 = Datastore.register_azure_data_lake(ws, "ops_gen1", store_name="adlsstore", tenant_id="tenant-1",
                                              client_id="app-1", client_secret=secret, subscription_id="sub-1",
                                              resource_group="rg-1", overwrite=True)  # fmt: skip
    got = Datastore.get(ws, "ops_gen1")
    assert isinstance(gen1, AzureDataLakeDatastore) and isinstance(got, AzureDataLakeDatastore)
    assert (got.store_name, got.subscription_id, got.resource_group) == ("adlsstore", "sub-1", "rg-1")
    assert got.resource_url == "https://datalake.azure.net/" and got.datastore_type == "AzureDataLake"
    assert got.client_secret is None and secret not in json.dumps(got._record)
    assert secret not in service.host.output()

    # Gen1 is gone: reading its data says so, by name
    with pytest.raises(NotImplementedError, match="retired on 2024-02-29"):
        v1["Dataset"].File.from_files((got, "data/*.csv")).to_path()
    with pytest.raises(NotImplementedError, match="DatabricksStep"):
        v1["Dataset"].File.from_files((dbfs, "data/*.csv")).to_path()


@pytest.fixture(scope="module")
def postgres() -> Iterator[Any]:
    with postgres_server() as server:
        yield server


def test_sql_datastores_connect_on_register(v1: dict[str, Any], postgres: Any) -> None:
    Datastore, ws = v1["Datastore"], v1["ws"]
    common = {"server_name": postgres.host, "database_name": postgres.database, "user_id": postgres.user,
              "port_number": str(postgres.port), "overwrite": True}  # fmt: skip
    with pytest.raises(v1["UserErrorException"], match="Datastore validation failed: cannot connect") as failed:
        Datastore.register_azure_postgre_sql(ws, "ops_pg_bad", user_password="wrong-password", **common)
    assert "wrong-password" not in str(failed.value)
    with pytest.raises(Exception, match="Could not find datastore"):
        Datastore.get(ws, "ops_pg_bad")
    skipped = Datastore.register_azure_postgre_sql(
        ws, "ops_pg_skip", user_password="wrong-password", skip_validation=True, **common
    )
    assert skipped.datastore_type == "AzurePostgreSql"
    good = Datastore.register_azure_postgre_sql(ws, "ops_pg", user_password=postgres.password, **common)
    table = v1["Dataset"].Tabular.from_sql_query(
        (good, "SELECT id, region, amount FROM regions ORDER BY id"),
        set_column_types={"id": v1["DataType"].to_string(), "amount": v1["DataType"].to_long()},
    )
    frame = table.to_pandas_dataframe()
    assert frame["id"].tolist() == ["1", "2", "3"] and frame["amount"].isna().tolist() == [True, False, True]


def test_the_service_refuses_malformed_operations(service: Service) -> None:
    """Over REST anyone can send a definition: a filter, partition format or column type that is not one of the
    typed records is refused with 400, before anything is stored or read."""
    base = {"datasetType": "tabular", "paths": [{"datastore": "workspaceblobstore", "path": "x/*.csv"}]}
    bad = [
        {**base, "transforms": [{"kind": "filter", "expression": {"op": "eval", "args": ["__import__('os')"]}}]},
        {**base, "transforms": [{"kind": "filter", "expression": "amount > 5"}]},
        {**base, "partitionFormat": "{state}/{date:MM}/x.csv"},
        {**base, "format": {"kind": "delimited", "setColumnTypes": {"a": {"type": "python"}}}},
    ]
    for definition in bad:
        for path, body in (
            ("/api/datasets", {"definition": definition, "name": f"ops-bad-{uuid.uuid4().hex[:6]}"}),
            ("/api/dataset-files", {"definition": definition}),
        ):
            answer = service.session.post(
                f"{service.base_url}{path}", headers={"x-functions-key": service.key}, json=body, timeout=30
            )
            assert answer.status_code == 400, (path, definition, answer.text)
            assert any(w in answer.text for w in ("filter", "partition_format", "column type")), answer.text


LIST_FILES = """\
import argparse
import os

parser = argparse.ArgumentParser()
parser.add_argument("--files", action="append", nargs=2)
for name, path in parser.parse_args().files:
    found = sorted(os.path.relpath(os.path.join(d, f), path) for d, _s, fs in os.walk(path) for f in fs)
    print(f"{name}: {' '.join(found)}")
"""


def test_file_dataset_take_and_skip_select_its_files(v1: dict[str, Any], tmp_path: Path) -> None:
    """FileDataset.take/skip count files (in name order), in to_path, download and a step's mount and download."""
    store = v1["ws"].get_default_datastore()
    folder = f"take-{uuid.uuid4().hex[:8]}"
    local = tmp_path / "files"
    for index in range(5):
        (local / "sub").mkdir(parents=True, exist_ok=True)
        (local / ("sub" if index == 4 else ".") / f"f{index}.txt").write_text(str(index))
    store.upload(str(local), target_path=folder, overwrite=True, show_progress=False)
    Dataset = v1["Dataset"]
    whole = Dataset.File.from_files((store, folder))
    globbed = Dataset.File.from_files((store, f"{folder}/*.txt"))
    several = Dataset.File.from_files([(store, f"{folder}/f0.txt"), (store, f"{folder}/f1.txt"),
                                       (store, f"{folder}/sub")])  # fmt: skip

    assert sorted(whole.to_path()) == ["/f0.txt", "/f1.txt", "/f2.txt", "/f3.txt", "/sub/f4.txt"]
    assert whole.take(2).to_path() == ["/f0.txt", "/f1.txt"]
    assert whole.skip(3).to_path() == ["/f3.txt", "/sub/f4.txt"]
    assert globbed.skip(1).take(2).to_path() == ["/f1.txt", "/f2.txt"]
    downloaded = whole.skip(4).download(str(tmp_path / "down"))
    assert [Path(p).relative_to(tmp_path / "down").as_posix() for p in downloaded] == ["sub/f4.txt"]

    source = tmp_path / "src"
    source.mkdir()
    (source / "list_files.py").write_text(LIST_FILES)
    inputs = {
        "first_two": whole.take(2).as_named_input("first_two").as_mount(),
        "after_three": whole.skip(3).as_named_input("after_three").as_download(),
        "glob_middle": globbed.skip(1).take(2).as_named_input("glob_middle").as_download(),
        "several_last": several.skip(2).as_named_input("several_last").as_mount(),
    }
    arguments: list[Any] = []
    for name, given in inputs.items():
        arguments += ["--files", name, given]
    step = v1["PythonScriptStep"](
        "list_files.py", name="list-files", source_directory=str(source), arguments=arguments,
        compute_target=ensure_compute(v1["ws"]), allow_reuse=False,
    )  # fmt: skip
    run = v1["Experiment"](v1["ws"], "e2e-dataset-ops").submit(v1["Pipeline"](v1["ws"], [step]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False) == "Finished", (
        step_summary(run)
    )
    log = run.find_step_run("list-files")[0].get_job_log()
    for line in ("first_two: f0.txt f1.txt", "after_three: f3.txt sub/f4.txt", "glob_middle: f1.txt f2.txt",
                 "several_last: sub/f4.txt"):  # fmt: skip
        assert line in log, log
