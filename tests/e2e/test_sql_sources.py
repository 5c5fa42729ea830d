"""SQL datastores and sources (issue 12, item 4), end to end against a real PostgreSQL and MariaDB.

Written the way v1 code is: ``from azureml.core import ...`` through the alias, ``Workspace.from_config()`` in
a directory holding the config.json of a real funchost + Azurite. The servers run on 127.0.0.1
(tests/sql_servers.py); the step reads the query's rows as a CSV file (tests/e2e/projects/url_datasets'
script reports what it sees). Azure SQL cannot run here: its registration and the ODBC connection string its
driver would get are checked.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from durableml import sql_sources
from tests.sql_servers import PASSWORD, ROWS, SqlServer, mariadb_server, postgres_server

from ._helpers import ensure_compute, step_summary
from .conftest import PROJECTS, Service

PROJECT = PROJECTS / "url_datasets"
RECORDS = [{"id": i, "region": r, "amount": a} for i, r, a in ROWS]


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, SqlServer]]:
    with postgres_server() as pg, mariadb_server() as maria:
        yield {"postgresql": pg, "mysql": maria}


@pytest.fixture(scope="module")
def v1(v1_project: Path) -> Iterator[dict[str, Any]]:
    with pytest.MonkeyPatch.context() as patch:  # the alias is on for the module (v1_project)
        patch.chdir(v1_project)
        from azureml.core import Dataset, Datastore, Experiment, Workspace
        from azureml.data.sql_data_reference import SqlDataReference
        from azureml.exceptions import UserErrorException
        from azureml.pipeline.core import Pipeline
        from azureml.pipeline.steps import PythonScriptStep

        ws = Workspace.from_config()
        ensure_compute(ws, max_nodes=2)
        yield {
            "ws": ws,
            "Dataset": Dataset,
            "Datastore": Datastore,
            "Experiment": Experiment,
            "SqlDataReference": SqlDataReference,
            "UserErrorException": UserErrorException,
            "Pipeline": Pipeline,
            "PythonScriptStep": PythonScriptStep,
        }


def _register(v1: dict[str, Any], server: SqlServer, name: str) -> Any:
    Datastore = v1["Datastore"]
    register = Datastore.register_azure_postgre_sql if server.kind == "postgresql" else Datastore.register_azure_my_sql
    return register(
        workspace=v1["ws"],
        datastore_name=name,
        server_name=server.host,
        database_name=server.database,
        user_id=server.user,
        user_password=server.password,
        port_number=str(server.port),
        overwrite=True,
    )


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_register_and_read_a_query_into_pandas(v1: dict[str, Any], servers: dict[str, SqlServer], kind: str) -> None:
    server = servers[kind]
    store = _register(v1, server, f"sql_{kind}")
    assert store.datastore_type == ("AzurePostgreSql" if kind == "postgresql" else "AzureMySql")
    again = v1["Datastore"].get(v1["ws"], f"sql_{kind}")
    assert again.datastore_type == store.datastore_type and PASSWORD not in repr(again._record)
    assert (again.server_name, again.database_name, again.user_id) == (server.host, server.database, server.user)
    assert again.port_number == str(server.port)

    table = v1["Dataset"].Tabular.from_sql_query((store, "SELECT id, region, amount FROM regions ORDER BY id"),
                                                 query_timeout=30)  # fmt: skip
    assert table.to_pandas_dataframe().to_dict(orient="records") == RECORDS
    assert table.take(1).to_pandas_dataframe()["region"].tolist() == ["north"]
    bad = v1["Dataset"].Tabular.from_sql_query((store, "SELECT nope FROM regions"))
    with pytest.raises(Exception, match="query failed") as failed:
        bad.to_pandas_dataframe()
    assert PASSWORD not in str(failed.value)


def test_v1_validation_messages(v1: dict[str, Any], servers: dict[str, SqlServer]) -> None:
    Datastore, ws, UserError = v1["Datastore"], v1["ws"], v1["UserErrorException"]
    with pytest.raises(UserError, match=r"^User password is required for PostreSQL\.$"):
        Datastore.register_azure_postgre_sql(ws, "pg_bad", "127.0.0.1", "sales", "durableml", None)
    with pytest.raises(UserError, match=r"^Database name is required for PostreSQL\.$"):
        Datastore.register_azure_postgre_sql(ws, "pg_bad", "127.0.0.1", None, "durableml", "pw")
    with pytest.raises(UserError, match=r"^User id is required for My SQL\.$"):
        Datastore.register_azure_my_sql(ws, "my_bad", "127.0.0.1", "sales", None, "pw")
    with pytest.raises(UserError, match=r"^Server name is required for My SQL\.$"):
        Datastore.register_azure_my_sql(ws, "my_bad", None, "sales", "u", "pw")
    with pytest.raises(UserError, match="not both"):
        Datastore.register_azure_sql_database(ws, "az_bad", "sample", "db", tenant_id="t", client_id="c",
                                              client_secret="s", username="u", password="p")  # fmt: skip
    with pytest.raises(UserError, match="client_secret is missing"):
        Datastore.register_azure_sql_database(ws, "az_bad", "sample", "db", tenant_id="t", client_id="c")
    names = {d.name for d in ws.datastores.values()} if hasattr(ws, "datastores") else set()
    assert not names & {"pg_bad", "my_bad", "az_bad"}


def test_azure_sql_database_request_shape(v1: dict[str, Any]) -> None:
    Datastore, ws = v1["Datastore"], v1["ws"]
    secret = "Az-sql-pw-" + uuid.uuid4().hex
    store = Datastore.register_azure_sql_database(
        ws, "azsql", server_name="sample", database_name="salesdb", username="reader", password=secret, overwrite=True
    )
    assert store.datastore_type == "AzureSqlDatabase" and secret not in json.dumps(store._record)
    record = {"type": "AzureSqlDatabase", "server_name": "sample", "database_name": "salesdb", "username": "reader"}
    odbc = sql_sources.odbc_connection(sql_sources.connection_text(record, {"password": secret}), 30)
    assert odbc == (
        "Driver={ODBC Driver 18 for SQL Server};Server=tcp:sample.database.windows.net,1433;Database=salesdb;"
        f"Uid=reader;Pwd={{{secret}}};Encrypt=yes;TrustServerCertificate=no;Connection Timeout=30;"
    )
    principal = sql_sources.connection_text(record, {"tenant_id": "t1", "client_id": "app", "client_secret": "s"})
    assert "Authentication=ActiveDirectoryServicePrincipal;Uid=app;Pwd={s};" in sql_sources.odbc_connection(principal)
    procedure = {"storedProcedure": "dbo.top_sales", "storedProcedureParams": [10, "x'; DROP TABLE t; --"]}
    assert sql_sources.query_of(procedure, "mssql") == ("EXEC dbo.top_sales ?, ?", ["10", "x'; DROP TABLE t; --"])
    table = v1["Dataset"].Tabular.from_sql_query((store, "SELECT 1"))
    try:
        import pyodbc  # noqa: F401
    except ImportError:
        with pytest.raises(Exception, match="pyodbc") as failed:
            table.to_pandas_dataframe()
        assert secret not in str(failed.value)


def test_a_step_reads_sql_data_references_and_a_sql_dataset_as_csv(
    v1: dict[str, Any], servers: dict[str, SqlServer], service: Service, tmp_path: Path
) -> None:
    pg, maria = _register(v1, servers["postgresql"], "sql_pg_step"), _register(v1, servers["mysql"], "sql_my_step")
    SqlDataReference = v1["SqlDataReference"]
    query = "SELECT region, amount FROM regions WHERE amount > 50 ORDER BY id"
    by_query = SqlDataReference(datastore=pg, data_reference_name="by_query", sql_query=query)
    by_table = SqlDataReference(datastore=maria, data_reference_name="by_table", sql_table="regions")
    by_proc = SqlDataReference(datastore=maria, data_reference_name="by_proc", sql_stored_procedure="big_regions",
                               sql_stored_procedure_params=[100])  # fmt: skip
    by_function = SqlDataReference(datastore=pg, data_reference_name="by_function",
                                   sql_stored_procedure="big_regions", sql_stored_procedure_params=["50"])  # fmt: skip
    table = v1["Dataset"].Tabular.from_sql_query((pg, "SELECT id, region FROM regions ORDER BY id"))
    report = tmp_path / "report.json"
    step = v1["PythonScriptStep"](
        script_name="read_urls.py",
        name="read_sql",
        source_directory=str(PROJECT),
        arguments=[
            "--report",
            str(report),
            "--path",
            "by_query",
            by_query,
            "--path",
            "by_table",
            by_table,
            "--path",
            "by_proc",
            by_proc,
            "--path",
            "by_function",
            by_function,
        ],
        inputs=[by_query, by_table, by_proc, by_function, table.as_named_input("rows")],
        compute_target="e2e-cpu",
    )
    run = v1["Experiment"](v1["ws"], "e2e-sql-sources").submit(v1["Pipeline"](v1["ws"], [step]))
    run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
    assert run.get_status() == "Finished", f"{step_summary(run)}\n{service.log_tail()}"
    seen = json.loads(report.read_text())
    assert seen["args"]["by_query"]["files"] == {"by_query.csv": "region,amount\nnorth,120.5\nsouth,80.0\n"}
    assert seen["args"]["by_table"]["files"] == {
        "by_table.csv": "id,region,amount\n1,north,120.5\n2,south,80.0\n3,east,42.25\n"
    }
    assert seen["args"]["by_proc"]["files"] == {"by_proc.csv": "id,region,amount\n1,north,120.5\n"}
    assert seen["args"]["by_function"]["files"] == {
        "by_function.csv": "id,region,amount\n1,north,120.5\n2,south,80.0\n"
    }
    assert seen["inputs"]["rows"]["rows"] == [{"id": i, "region": r} for i, r, _ in ROWS]
    step_run = run.find_step_run("read_sql")[0]
    log = step_run.get_job_log()
    assert "input 'by_table': 3 rows of table regions from datastore 'sql_my_step'" in log, log

    # the password is nowhere but where it must be: no API record, run record, log or step environment
    records = json.dumps([run.get_details(), step_run.get_details(), pg._record, maria._record], default=str)
    assert PASSWORD not in records and PASSWORD not in log and PASSWORD not in service.host.output()
    state = Path(service.state_dir).parent  # the service's work dir: Azurite's data, the host's and jobs' state
    leaks = []
    for root, _dirs, names in os.walk(state):
        for name in names:
            path = Path(root) / name
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if PASSWORD.encode() in data:
                leaks.append(str(path.relative_to(state)))
    # only the job's spec (mode 0600, the binding's connection text) may hold it, as storage keys are held
    assert all(p.endswith("spec.json") for p in leaks), leaks
    for leak in leaks:
        assert oct((state / leak).stat().st_mode & 0o777) == "0o600", leak


def test_a_data_transfer_step_copies_a_sql_table_into_pipeline_data(
    v1: dict[str, Any], servers: dict[str, SqlServer], tmp_path: Path
) -> None:
    from azureml.core.compute import ComputeTarget, DataFactoryCompute
    from azureml.pipeline.core import PipelineData
    from azureml.pipeline.steps import DataTransferStep

    ws = v1["ws"]
    if "adf" not in ws.compute_targets:
        ComputeTarget.create(ws, "adf", DataFactoryCompute.provisioning_configuration()).wait_for_completion()
    pg = _register(v1, servers["postgresql"], "sql_pg_transfer")
    staged = PipelineData("staged", datastore=ws.get_default_datastore())
    source = v1["SqlDataReference"](datastore=pg, data_reference_name="regions", sql_table="regions")
    copy = DataTransferStep(name="copy-sql", source_data_reference=source, destination_data_reference=staged,
                            compute_target="adf", allow_reuse=False)  # fmt: skip
    report = tmp_path / "report.json"
    read = v1["PythonScriptStep"](
        script_name="read_urls.py", name="read_copy", source_directory=str(PROJECT), compute_target="e2e-cpu",
        arguments=["--report", str(report), "--path", "staged", staged], inputs=[staged], allow_reuse=False,
    )  # fmt: skip
    run = v1["Experiment"](ws, "e2e-sql-sources").submit(v1["Pipeline"](ws, [copy, read]))
    run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
    assert run.get_status() == "Finished", step_summary(run)
    files = json.loads(report.read_text())["args"]["staged"]["files"]
    # PostgreSQL's COPY writes each value as the database prints it (a double 80 is "80"), as a copy activity does
    assert list(files.values()) == ["id,region,amount\n1,north,120.5\n2,south,80\n3,east,42.25\n"], files
