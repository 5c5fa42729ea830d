"""DataTransferStep copy benchmark: SQL -> blob and blob -> SQL of about 1 GB, and blob -> blob across accounts,
run by durableml's copy driver (``durableml/runner/data_transfer.py``) exactly as a DataFactory job runs it.

    .venv/bin/python bench/data_transfer_bench.py [--megabytes 1024] [--engine postgresql|mysql] [--blobs 200]

Starts a private Azurite (two accounts) and a real PostgreSQL (or MariaDB) server (tests/sql_servers.py), fills a
table with generated rows (``--megabytes`` of CSV), then runs the driver in a fresh process for each direction
and reports wall time, throughput and the peak resident memory of that copying process (``ru_maxrss``). The
driver gets the same transfer references the step runner writes (the binding and its connection, 0600).

* SQL -> blob: the table (``SELECT * FROM big``) through a server-side cursor into one CSV block blob.
* blob -> SQL: that CSV blob into an empty copy of the table (read in ranges, batched INSERTs, one transaction).
* blob -> blob: ``--blobs`` blobs of a folder from one Azurite account to the other with Copy Blob (server-side:
  the driver's RSS does not grow with the data).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from funchost.azurite import start_azurite  # noqa: E402
from tests.sql_servers import SqlServer, mariadb_server, postgres_server  # noqa: E402

DRIVER = ROOT / "durableml" / "runner" / "data_transfer.py"
MEASURE = """
import resource, runpy, sys, time
sys.argv = sys.argv[1:]
started = time.perf_counter()
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
took = time.perf_counter() - started
print(f"BENCH {code} {took:.4f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
"""
OTHER = "benchother"


def connect(server: SqlServer) -> Any:
    if server.kind == "postgresql":
        import pg8000.dbapi

        return pg8000.dbapi.connect(user=server.user, password=server.password, host=server.host, port=server.port,
                                    database=server.database)  # fmt: skip
    import pymysql

    return pymysql.connect(user=server.user, password=server.password, host=server.host, port=server.port,
                           database=server.database)  # fmt: skip


def fill(server: SqlServer, megabytes: int) -> int:
    """Table ``big`` (id, a, b, amount) with about ``megabytes`` MiB of CSV; returns the row count."""
    rows = megabytes * 1024 * 1024 // 92  # a row is about 92 bytes of CSV
    connection = connect(server)
    cursor = connection.cursor()
    columns = "id bigint, a varchar(40), b varchar(40), amount double precision"
    cursor.execute(f"CREATE TABLE big ({columns})")
    cursor.execute(f"CREATE TABLE big_copy ({columns})")
    if server.kind == "postgresql":
        cursor.execute(
            "INSERT INTO big SELECT g, md5(g::text), md5((g * 7)::text), g / 7.0 FROM generate_series(1, %s) g",
            (rows,),
        )
    else:
        cursor.execute(  # MariaDB's Sequence engine: seq_1_to_N
            f"INSERT INTO big SELECT seq, md5(seq), md5(seq * 7), seq / 7.0 FROM seq_1_to_{int(rows)}"
        )
    connection.commit()
    connection.close()
    return rows


def run_driver(work: Path, name: str, source: dict[str, Any], destination: dict[str, Any]) -> tuple[float, int, str]:
    """Run the copy driver on two references; returns (seconds, peak RSS in KiB, its output)."""
    refs = []
    for side, binding in (("source", source), ("destination", destination)):
        path = work / f"{name}-{side}.transfer.json"
        path.write_text(json.dumps(binding))
        path.chmod(0o600)
        refs.append(str(path))
    command = [sys.executable, "-c", MEASURE, str(DRIVER), *refs, f"bench {name}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, cwd=work)
    line = next((x for x in done.stderr.splitlines() if x.startswith("BENCH ")), "")
    if not line or line.split()[1] != "0":
        raise SystemExit(f"{name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return float(line.split()[2]), int(line.split()[3]), done.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=1024, help="MiB of CSV the SQL table holds")
    parser.add_argument("--engine", choices=["postgresql", "mysql"], default="postgresql")
    parser.add_argument("--blobs", type=int, default=200, help="blobs of 1 MiB for the blob -> blob copy")
    args = parser.parse_args()
    from azure.storage.blob import BlobServiceClient

    from durableml.sql_sources import connection_text

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        azurite = start_azurite(work / "azurite", accounts=[OTHER])
        opened = postgres_server() if args.engine == "postgresql" else mariadb_server()
        try:
            server = opened.__enter__()
            home = azurite.account_connection_string("devstoreaccount1")
            other = azurite.account_connection_string(OTHER)
            BlobServiceClient.from_connection_string(home).create_container("bench")
            BlobServiceClient.from_connection_string(other).create_container("landing")
            record = {"type": "AzurePostgreSql" if server.kind == "postgresql" else "AzureMySql",
                      "server_name": server.host, "port_number": server.port, "database_name": server.database,
                      "user_id": server.user}  # fmt: skip
            sql_conn = connection_text(record, {"user_password": server.password})
            started = time.perf_counter()
            rows = fill(server, args.megabytes)
            print(f"filled table big with {rows} rows in {time.perf_counter() - started:.1f} s", flush=True)

            source = {"sql": {"table": "big"}, "connection_string": sql_conn, "name": "big", "datastore": "bench"}
            target = {"container": "bench", "path_on_datastore": "export/big.csv", "connection_string": home,
                      "is_directory": False}  # fmt: skip
            took, peak, out = run_driver(work, "sql-to-blob", source, target)
            size = BlobServiceClient.from_connection_string(home).get_blob_client("bench", "export/big.csv")
            nbytes = int(size.get_blob_properties().size)
            print(out)
            print(f"SQL -> blob: {nbytes / 2**20:.0f} MiB, {rows} rows in {took:.1f} s = "
                  f"{nbytes / 2**20 / took:.1f} MiB/s, {rows / took:.0f} rows/s; copying process peak RSS "
                  f"{peak / 1024:.0f} MiB", flush=True)  # fmt: skip

            source = {"container": "bench", "path_on_datastore": "export/big.csv", "connection_string": home}
            target = {"sql": {"table": "big_copy"}, "connection_string": sql_conn, "datastore": "bench"}
            took, peak, out = run_driver(work, "blob-to-sql", source, target)
            connection = connect(server)
            cursor = connection.cursor()
            cursor.execute("SELECT count(*) FROM big_copy")
            copied = int(cursor.fetchone()[0])
            connection.close()
            print(out)
            print(f"blob -> SQL: {nbytes / 2**20:.0f} MiB, {copied} rows in {took:.1f} s = "
                  f"{nbytes / 2**20 / took:.1f} MiB/s, {copied / took:.0f} rows/s; copying process peak RSS "
                  f"{peak / 1024:.0f} MiB", flush=True)  # fmt: skip
            if copied != rows:
                raise SystemExit(f"blob -> SQL copied {copied} rows of {rows}")

            container = BlobServiceClient.from_connection_string(home).get_container_client("bench")
            block = os.urandom(2**20)
            for i in range(args.blobs):
                container.upload_blob(f"folder/part-{i:05d}.bin", block, overwrite=True)
            source = {"container": "bench", "path_on_datastore": "folder", "connection_string": home}
            target = {"container": "landing", "path_on_datastore": "in", "connection_string": other,
                      "is_directory": True}  # fmt: skip
            took, peak, out = run_driver(work, "blob-to-blob", source, target)
            print(out)
            print(f"blob -> blob across accounts: {args.blobs} blobs of 1 MiB in {took:.2f} s "
                  f"({args.blobs / took:.0f} blobs/s, {args.blobs / took:.0f} MiB/s); copying process peak RSS "
                  f"{peak / 1024:.0f} MiB; load average {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
        finally:
            opened.__exit__(None, None, None)
            azurite.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
