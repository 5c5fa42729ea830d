"""DataTransferStep end to end, as v1 code writes it, on a DataFactoryCompute.

* a folder copied into a PipelineData that a later step reads, and a file copied to a DataReference path;
* blob to blob across two storage accounts (the service's Azurite account and another one), done by the storage
  service (Copy Blob): each destination blob's properties carry the copy's id and status and name its source
  blob, which a copy made by reading and writing the bytes would not have; no SAS reaches the step's log;
* a SqlDataReference (PostgreSQL, MariaDB) copied to a CSV blob, streamed by the copy driver;
* cancel while the copy runs ends the step Canceled within seconds.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from funchost.azurite import account_key
from tests.sql_servers import ROWS, SqlServer, mariadb_server, postgres_server

from ._helpers import STEPS_DIR, ensure_compute, finishes_after_a_host_crash, step_summary
from .conftest import Service, running_service

OTHER = "xferacct"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_service(None, tmp_path_factory.mktemp("e2e-transfer"), accounts=(OTHER,)) as svc:
        yield svc


@pytest.fixture
def ws(v1_ws: Any) -> Any:
    from azureml.core.compute import ComputeTarget, DataFactoryCompute

    ensure_compute(v1_ws)
    if "adf" not in v1_ws.compute_targets:
        ComputeTarget.create(v1_ws, "adf", DataFactoryCompute.provisioning_configuration()).wait_for_completion()
    return v1_ws


def _other_blobs(service: Service) -> Any:
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient.from_connection_string(service.azurite.account_connection_string(OTHER))


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


def test_blob_to_blob_across_accounts_is_copied_by_the_storage_service(
    ws: Any, service: Service, tmp_path: Path
) -> None:
    from azureml.core import Datastore, Experiment
    from azureml.data.data_reference import DataReference
    from azureml.pipeline.core import Pipeline, PipelineData
    from azureml.pipeline.steps import DataTransferStep, PythonScriptStep

    store = ws.get_default_datastore()
    folder = f"cross-{uuid.uuid4().hex[:8]}"
    files = {"a.csv": "x\n1\n", "sub/names.txt": "from-the-other-account\n", "sub/deeper/c.bin": "z" * 70_000}
    for rel, text in files.items():
        (tmp_path / "src" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / rel).write_text(text)
    store.upload(str(tmp_path / "src"), target_path=folder, overwrite=True, show_progress=False)
    _other_blobs(service).create_container("landing")
    other = Datastore.register_azure_blob_container(
        ws, "landing", "landing", account_name=OTHER, account_key=account_key(OTHER), overwrite=True
    )

    out = DataTransferStep(
        name="to-other-account", source_data_reference=DataReference(store, "src", folder), compute_target="adf",
        destination_data_reference=DataReference(other, "dst", f"in/{folder}"), allow_reuse=False,
    )  # fmt: skip
    from datetime import datetime, timedelta, timezone

    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    sas = generate_container_sas(OTHER, "landing", account_key=account_key(OTHER),
                                 permission=ContainerSasPermissions(read=True, list=True),
                                 expiry=datetime.now(timezone.utc) + timedelta(hours=1))  # fmt: skip
    by_sas = Datastore.register_azure_blob_container(
        ws, "landingsas", "landing", account_name=OTHER, sas_token=sas, overwrite=True
    )  # the copy back reads through the datastore's own SAS
    back = PipelineData("back", datastore=store)
    home = DataTransferStep(
        name="back-home", source_data_reference=DataReference(by_sas, "there", f"in/{folder}/sub"),
        destination_data_reference=back, compute_target="adf", allow_reuse=False,
    )  # fmt: skip
    home.run_after(out)
    journal = tmp_path / "journal.txt"
    read = PythonScriptStep(
        script_name="step.py", name="read-back", source_directory=str(STEPS_DIR), compute_target="e2e-cpu",
        arguments=["--name", "read-back", "--journal", str(journal), "--in", back], inputs=[back], allow_reuse=False,
    )  # fmt: skip
    run: Any = Experiment(ws, "e2e-data-transfer").submit(Pipeline(ws, [read]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=180, raise_on_error=False) == "Finished", (
        step_summary(run)
    )

    landing = _other_blobs(service).get_container_client("landing")
    for rel, text in files.items():
        blob = landing.get_blob_client(f"in/{folder}/{rel}")
        properties = blob.get_blob_properties()
        assert properties.copy.status == "success" and properties.copy.id, (rel, properties.copy)
        assert f"/devstoreaccount1/{store.container_name}/{folder}/{rel}" in str(properties.copy.source)
        assert blob.download_blob().readall().decode() == text

    log = run.find_step_run("to-other-account")[0].get_job_log()
    assert "copied 3 file(s)" in log and "3 server-side (Copy Blob)" in log, log
    assert "sig=" not in log and account_key(OTHER) not in log
    home_log = run.find_step_run("back-home")[0].get_job_log()
    assert "copied 2 file(s)" in home_log and "2 server-side" in home_log, home_log
    assert sas.split("sig=")[-1] not in home_log
    back_path = run.find_step_run("back-home")[0].get_output_data("back").path_on_datastore
    from azure.storage.blob import BlobServiceClient

    home_blobs = BlobServiceClient.from_connection_string(service.azurite.connection_string)
    copied = home_blobs.get_blob_client(store.container_name, f"{back_path}/deeper/c.bin").get_blob_properties()
    assert copied.copy.status == "success", copied.copy
    assert f"/{OTHER}/landing/in/{folder}/sub/deeper/c.bin" in str(copied.copy.source)
    assert "read 1 upstream names" in run.find_step_run("read-back")[0].get_job_log()


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, SqlServer]]:
    with postgres_server() as pg, mariadb_server() as maria:
        yield {"postgresql": pg, "mysql": maria}


def _sql_store(ws: Any, server: SqlServer, name: str) -> Any:
    from azureml.core import Datastore

    register = Datastore.register_azure_postgre_sql if server.kind == "postgresql" else Datastore.register_azure_my_sql
    return register(workspace=ws, datastore_name=name, server_name=server.host, database_name=server.database,
                    user_id=server.user, user_password=server.password, port_number=str(server.port),
                    overwrite=True)  # fmt: skip


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_sql_to_blob_streams_the_rows_as_csv(ws: Any, servers: dict[str, SqlServer], kind: str, tmp_path: Path) -> None:
    from azureml.core import Experiment
    from azureml.data.data_reference import DataReference
    from azureml.data.sql_data_reference import SqlDataReference
    from azureml.pipeline.core import Pipeline
    from azureml.pipeline.steps import DataTransferStep

    server = servers[kind]
    sql = _sql_store(ws, server, f"sales{kind[:2]}")
    store = ws.get_default_datastore()
    target = f"exports/{kind}-{uuid.uuid4().hex[:6]}/regions.csv"
    step = DataTransferStep(
        name="export", source_data_reference=SqlDataReference(sql, "regions", sql_table="regions"),
        destination_data_reference=DataReference(store, "out", target), destination_reference_type="file",
        compute_target="adf", allow_reuse=False,
    )  # fmt: skip
    run: Any = Experiment(ws, "e2e-data-transfer").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False) == "Finished", (
        step_summary(run)
    )
    store.download(str(tmp_path), prefix=target, show_progress=False)
    lines = (tmp_path / target).read_text().splitlines()
    assert lines[0] == "id,region,amount"
    values = sorted((int(i), r, float(a)) for i, r, a in (line.split(",") for line in lines[1:]))
    assert values == sorted(ROWS)
    log = run.find_step_run("export")[0].get_job_log()
    assert f"{len(ROWS)} rows" in log and server.password not in log, log


def test_cancel_stops_a_running_copy(ws: Any, servers: dict[str, SqlServer]) -> None:
    from azureml.core import Experiment
    from azureml.data.data_reference import DataReference
    from azureml.data.sql_data_reference import SqlDataReference
    from azureml.pipeline.core import Pipeline
    from azureml.pipeline.steps import DataTransferStep

    sql = _sql_store(ws, servers["postgresql"], "slowpg")
    slow = SqlDataReference(sql, "slow", sql_query="SELECT n FROM generate_series(1, 3) n, pg_sleep(120)")
    target = f"exports/slow-{uuid.uuid4().hex[:6]}"
    step = DataTransferStep(name="slow-export", source_data_reference=slow, compute_target="adf",
                            destination_data_reference=DataReference(ws.get_default_datastore(), "out", target),
                            allow_reuse=False)  # fmt: skip
    run: Any = Experiment(ws, "e2e-data-transfer").submit(Pipeline(ws, [step]))
    deadline = time.monotonic() + 60
    while not run.find_step_run("slow-export") or run.find_step_run("slow-export")[0].get_status() != "Running":
        assert time.monotonic() < deadline, step_summary(run)
        time.sleep(0.2)
    time.sleep(2)  # the driver is waiting on the query
    started = time.monotonic()
    run.cancel()
    assert run.wait_for_completion(show_output=False, timeout_seconds=60, raise_on_error=False) == "Canceled"
    assert time.monotonic() - started < 30
    assert run.find_step_run("slow-export")[0].get_status() == "Canceled"


def test_a_host_crash_mid_copy_ends_with_one_copy(
    ws: Any, servers: dict[str, SqlServer], service: Service, tmp_path: Path
) -> None:
    """funchost SIGKILLed while the copy's query runs, then restarted: the step ends Finished, the query ran once
    (a sequence, which no rollback undoes, counts its rows) and the destination holds its rows once."""
    from azureml.core import Experiment
    from azureml.data.data_reference import DataReference
    from azureml.data.sql_data_reference import SqlDataReference
    from azureml.pipeline.core import Pipeline
    from azureml.pipeline.steps import DataTransferStep

    server = servers["postgresql"]
    sequence = f"crash_{uuid.uuid4().hex[:8]}"
    _query(server, f"CREATE SEQUENCE {sequence}")
    sql = _sql_store(ws, server, "crashpg")
    query = f"SELECT n, nextval('{sequence}') AS attempt FROM generate_series(1, 3) n, pg_sleep(4) ORDER BY n"
    target = f"exports/crash-{uuid.uuid4().hex[:6]}/rows.csv"
    store = ws.get_default_datastore()
    step = DataTransferStep(name="crash-export", source_data_reference=SqlDataReference(sql, "rows", sql_query=query),
                            destination_data_reference=DataReference(store, "out", target),
                            destination_reference_type="file", compute_target="adf", allow_reuse=False)  # fmt: skip
    run: Any = Experiment(ws, "e2e-data-transfer").submit(Pipeline(ws, [step]))

    def querying() -> bool:  # the copy driver has been waiting on the query for a moment
        steps = run.find_step_run("crash-export")
        if not steps or steps[0].get_status() != "Running":
            return False
        time.sleep(1.5)
        return True

    finishes_after_a_host_crash(service, run, querying, "the copy to run")
    assert _query(server, f"SELECT last_value FROM {sequence}") == [(3,)], "the query ran once"
    store.download(str(tmp_path), prefix=target, show_progress=False)
    assert (tmp_path / target).read_text().splitlines() == ["n,attempt", "1,1", "2,2", "3,3"]


def _query(server: SqlServer, statement: str) -> list[tuple[Any, ...]]:
    if server.kind == "postgresql":
        import pg8000.dbapi

        connection: Any = pg8000.dbapi.connect(user=server.user, password=server.password, host=server.host,
                                               port=server.port, database=server.database)  # fmt: skip
    else:
        import pymysql

        connection = pymysql.connect(user=server.user, password=server.password, host=server.host,
                                     port=server.port, database=server.database)  # fmt: skip
    try:
        cursor = connection.cursor()
        cursor.execute(statement)
        rows = [tuple(row) for row in cursor.fetchall()] if cursor.description else []
        connection.commit()
        return rows
    finally:
        connection.close()


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_blob_csv_to_a_sql_table(ws: Any, servers: dict[str, SqlServer], kind: str, tmp_path: Path) -> None:
    from azureml.core import Experiment
    from azureml.data.data_reference import DataReference
    from azureml.data.sql_data_reference import SqlDataReference
    from azureml.pipeline.core import Pipeline
    from azureml.pipeline.steps import DataTransferStep

    server = servers[kind]
    table = f"landing_{uuid.uuid4().hex[:6]}"
    _query(server, f"CREATE TABLE {table} (id integer, region varchar(100), amount double precision)")
    sql = _sql_store(ws, server, f"warehouse{kind[:2]}")
    store = ws.get_default_datastore()
    folder = f"loads/{table}"
    (tmp_path / "part1.csv").write_text('id,region,amount\n1,north,1.5\n2,"south, ""far""\nside",\n')
    (tmp_path / "part2.csv").write_text("id,region,amount\n3,,2.25\n")
    store.upload_files([str(tmp_path / "part1.csv"), str(tmp_path / "part2.csv")], target_path=folder,
                       overwrite=True, show_progress=False)  # fmt: skip
    step = DataTransferStep(
        name="load", source_data_reference=DataReference(store, "csvs", folder), compute_target="adf",
        destination_data_reference=SqlDataReference(sql, "target", sql_table=table), allow_reuse=False,
    )  # fmt: skip
    run: Any = Experiment(ws, "e2e-data-transfer").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False) == "Finished", (
        step_summary(run)
    )
    rows = _query(server, f"SELECT id, region, amount FROM {table} ORDER BY id")
    assert rows == [(1, "north", 1.5), (2, 'south, "far"\nside', None), (3, None, 2.25)], rows
    log = run.find_step_run("load")[0].get_job_log()
    assert f"3 rows into table {table}" in log and server.password not in log, log

    broken = f"loads/{table}-bad"
    (tmp_path / "bad.csv").write_text("id,region,amount\n4,west,1\n5,oops\n")
    store.upload_files([str(tmp_path / "bad.csv")], target_path=broken, overwrite=True, show_progress=False)
    step = DataTransferStep(
        name="load-bad", source_data_reference=DataReference(store, "csvs", broken), compute_target="adf",
        destination_data_reference=SqlDataReference(sql, "target", sql_table=table), allow_reuse=False,
    )  # fmt: skip
    run = Experiment(ws, "e2e-data-transfer").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False) == "Failed"
    error = str(run.find_step_run("load-bad")[0].get_details().get("error"))
    assert "line 3" in error, error
    assert len(_query(server, f"SELECT id FROM {table}")) == 3, "a failed load inserted rows"


def test_the_streaming_fallback_copies_in_bounded_ranges(service: Service) -> None:
    """When no read URL can be signed for a source blob, the driver streams it: CHUNK-sized ranges staged as blocks."""
    import os
    import threading

    from azure.storage.blob import BlobServiceClient

    from durableml.runner import data_transfer

    blobs = BlobServiceClient.from_connection_string(service.azurite.connection_string)
    container = blobs.get_container_client("streamed")
    if not container.exists():
        container.create_container()
    data = os.urandom(2 * data_transfer.CHUNK + 123)
    container.upload_blob("big.bin", data, overwrite=True)
    landing = _other_blobs(service).get_container_client("streamed")
    if not landing.exists():
        landing.create_container()
    target = landing.get_blob_client("big.bin")
    data_transfer._stream_blob(container.get_blob_client("big.bin"), target, threading.Event())
    assert target.download_blob().readall() == data
    assert len(target.get_block_list()[0]) == 3  # three ranges, three blocks
    assert not target.get_blob_properties().copy.id  # not a server-side copy


def test_a_datafactory_target_runs_only_data_transfer_jobs(tmp_path: Path) -> None:
    from durableml.compute.datafactory import DataFactoryBackend
    from durableml.exceptions import ComputeTargetException
    from durableml.jobs import JobSpec

    job = JobSpec(job_id="j1", run_id="r1", step_name="train", snapshot="none", script_name="train.py",
                  connection_string="UseDevelopmentStorage=true")  # fmt: skip
    with pytest.raises(ComputeTargetException, match="runs only DataTransferStep"):
        DataFactoryBackend(tmp_path).submit(job)


def test_an_attached_data_factory_runs_the_copy(ws: Any, tmp_path: Path) -> None:
    from azureml.core import Experiment
    from azureml.core.compute import ComputeTarget, DataFactoryCompute
    from azureml.data.data_reference import DataReference
    from azureml.pipeline.core import Pipeline, PipelineData
    from azureml.pipeline.steps import DataTransferStep

    if "adf-attached" not in ws.compute_targets:
        config = DataFactoryCompute.attach_configuration(resource_group="rg", factory_name="existing-factory")
        ComputeTarget.attach(ws, "adf-attached", config).wait_for_completion()
    assert ws.compute_targets["adf-attached"].type == "DataFactory"
    store = ws.get_default_datastore()
    folder = f"attached-{uuid.uuid4().hex[:8]}"
    (tmp_path / "one.txt").write_text("1\n")
    store.upload_files([str(tmp_path / "one.txt")], target_path=folder, overwrite=True, show_progress=False)
    step = DataTransferStep(name="copy-attached", source_data_reference=DataReference(store, "src", folder),
                            destination_data_reference=PipelineData("out", datastore=store),
                            compute_target="adf-attached", allow_reuse=False)  # fmt: skip
    run: Any = Experiment(ws, "e2e-data-transfer").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False) == "Finished", (
        step_summary(run)
    )
    assert "1 server-side (Copy Blob)" in run.find_step_run("copy-attached")[0].get_job_log()
