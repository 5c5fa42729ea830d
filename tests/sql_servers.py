"""Real SQL servers for tests: PostgreSQL and MariaDB (MySQL-compatible), each in a temp dir on a free loopback
port, stopped at the end. ``scripts/setup.sh`` installs them (Debian packages); a test that needs a server
that is not installed fails, naming the command that installs it.

As root, PostgreSQL runs as the ``postgres`` user (it refuses root) and MariaDB with ``--user=root``.
Each server gets a database ``sales`` with a table ``regions`` (:data:`ROWS`) and a stored procedure (MariaDB) or
set-returning function (PostgreSQL) ``big_regions(minimum)``, and a user ``durableml`` with the password
:data:`PASSWORD`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

PASSWORD = "Sq1-s3cret-pw-9f2c7d"  # distinctive, so a scan for it finds every copy
USER, DATABASE = "durableml", "sales"
ROWS = [(1, "north", 120.5), (2, "south", 80.0), (3, "east", 42.25)]


@dataclass
class SqlServer:
    kind: str  # "postgresql" | "mysql"
    host: str
    port: int
    database: str
    user: str
    password: str
    data_dir: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(check: Callable[[], Any], what: str, log: Optional[Path], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last: Optional[BaseException] = None
    while time.monotonic() < deadline:
        try:
            check()
            return
        except Exception as exc:  # not up yet
            last = exc
            time.sleep(0.2)
    tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not start within {timeout:.0f}s ({last}); its log ends:\n{tail}")


def _connectable(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def postgres_bin() -> Optional[str]:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "postgres")):
            return candidate
    found = shutil.which("postgres")
    return os.path.dirname(found) if found else None


def mariadb_bin() -> Optional[str]:
    return shutil.which("mariadbd") or (shutil.which("mysqld") if os.path.exists("/usr/sbin/mysqld") else None)


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextlib.contextmanager
def postgres_server() -> Iterator[SqlServer]:
    """A PostgreSQL server with database ``sales`` (table ``public.regions`` = :data:`ROWS`)."""
    bindir = postgres_bin()
    if not bindir:
        raise RuntimeError("PostgreSQL is not installed: run scripts/setup.sh (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="durableml-pg-"))
    data, log, pwfile = root / "data", root / "postgres.log", root / "pw"
    pwfile.write_text("admin-" + PASSWORD[::-1] + "\n")
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(root, entry.pw_uid, entry.pw_gid)
        os.chown(pwfile, entry.pw_uid, entry.pw_gid)
    subprocess.run(
        _as_postgres([f"{bindir}/initdb", "-D", str(data), "-U", "postgres", "--auth=scram-sha-256",
                      f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync"]),
        check=True, capture_output=True, cwd=root,
    )  # fmt: skip
    port = _free_port()
    with open(log, "wb") as out:
        process = subprocess.Popen(
            _as_postgres([f"{bindir}/postgres", "-D", str(data), "-p", str(port), "-h", "127.0.0.1",
                          "-k", str(root), "-c", "fsync=off"]),
            stdout=out, stderr=subprocess.STDOUT, cwd=root, start_new_session=True,
        )  # fmt: skip
    try:
        import pg8000.dbapi

        def admin(database: str = "postgres") -> Any:
            return pg8000.dbapi.connect(user="postgres", password="admin-" + PASSWORD[::-1], host="127.0.0.1",
                                        port=port, database=database, timeout=5)  # fmt: skip

        _wait(lambda: _connectable(port), "PostgreSQL", log)
        _wait(lambda: admin().close(), "PostgreSQL", log)
        conn = admin()
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute(f"CREATE USER {USER} WITH PASSWORD '{PASSWORD}'")
        cur.execute(f"CREATE DATABASE {DATABASE} OWNER {USER}")
        conn.close()
        conn = pg8000.dbapi.connect(user=USER, password=PASSWORD, host="127.0.0.1", port=port, database=DATABASE)
        cur = conn.cursor()
        cur.execute("CREATE TABLE regions (id integer PRIMARY KEY, region text, amount double precision)")
        for row in ROWS:
            cur.execute("INSERT INTO regions VALUES (%s, %s, %s)", row)
        cur.execute(
            "CREATE FUNCTION big_regions(minimum double precision) RETURNS SETOF regions "
            "LANGUAGE sql AS 'SELECT * FROM regions WHERE amount > minimum ORDER BY id'"
        )
        conn.commit()
        conn.close()
        yield SqlServer("postgresql", "127.0.0.1", port, DATABASE, USER, PASSWORD, str(root))
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def mariadb_server() -> Iterator[SqlServer]:
    """A MariaDB server with database ``sales`` (table ``regions`` = :data:`ROWS`)."""
    server = mariadb_bin()
    install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    if not server or not install:
        raise RuntimeError("MariaDB is not installed: run scripts/setup.sh (apt-get install mariadb-server-core)")
    root = Path(tempfile.mkdtemp(prefix="durableml-mariadb-"))
    data, log, sock = root / "data", root / "mariadb.log", root / "mysqld.sock"
    user = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run(
        [install, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal",
         "--skip-test-db", *user],
        check=True, capture_output=True, cwd=root,
    )  # fmt: skip
    port = _free_port()
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [server, "--no-defaults", f"--datadir={data}", f"--port={port}", "--bind-address=127.0.0.1",
             f"--socket={sock}", f"--pid-file={root / 'mysqld.pid'}", "--skip-name-resolve",
             "--innodb-buffer-pool-size=16M", "--skip-log-bin", *user],
            stdout=out, stderr=subprocess.STDOUT, cwd=root, start_new_session=True,
        )  # fmt: skip
    try:
        import pymysql

        _wait(lambda: _connectable(port), "MariaDB", log)  # a failed driver connect would leak its socket
        conn = pymysql.connect(unix_socket=str(sock), user="root", autocommit=True)
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {DATABASE}")
            cur.execute(f"CREATE USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'")
            cur.execute(f"GRANT ALL ON {DATABASE}.* TO '{USER}'@'%'")
            cur.execute(f"CREATE TABLE {DATABASE}.regions (id INT PRIMARY KEY, region VARCHAR(20), amount DOUBLE)")
            cur.executemany(f"INSERT INTO {DATABASE}.regions VALUES (%s, %s, %s)", ROWS)
            cur.execute(
                f"CREATE PROCEDURE {DATABASE}.big_regions(IN minimum DOUBLE) "
                "SELECT * FROM regions WHERE amount > minimum ORDER BY id"
            )
        conn.close()
        yield SqlServer("mysql", "127.0.0.1", port, DATABASE, USER, PASSWORD, str(root))
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)
