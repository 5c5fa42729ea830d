"""SQL datastores (Azure SQL Database, Azure Database for PostgreSQL and for MySQL): where a datastore's server
is, the connection text a job gets, and running a query into a CSV file.

Shared by the service (``Dataset.Tabular.from_sql_query(...).to_pandas_dataframe()`` runs there) and the step
runner (a ``SqlDataReference`` or SQL dataset input becomes a CSV file before the script starts). The
connection text (:func:`connection_text`) holds the password: it travels only in a job's input binding
(``connection_string``, which the runner redacts from its logs), never in a record.

Servers: ``server_name`` is the short name of an Azure server (``myserver`` + the kind's ``endpoint``, e.g.
``postgres.database.azure.com``) as v1 documents it; a name that is already a host (``localhost``, an IP
address, or a name with a dot) is used as it is, which is how local servers are registered. PostgreSQL's
``enforce_ssl`` (v1's default True) asks for TLS except on a loopback address. Drivers: pg8000 (PostgreSQL)
and PyMySQL (MySQL, MariaDB), both pure Python. Azure SQL needs pyodbc and Microsoft's ODBC driver, which
durableml does not install: :func:`odbc_connection` builds the connection string that driver would get, and
running a query says what is missing.
"""

from __future__ import annotations

import csv
import ipaddress
import re
from typing import Any, Mapping, Optional
from urllib.parse import quote, unquote, urlsplit

from durableml.exceptions import NotSupportedError, UserErrorException, ValidationError

__all__ = [
    "KINDS",
    "connection_text",
    "host_of",
    "odbc_connection",
    "parse_connection",
    "query_of",
    "query_to_csv",
]

KINDS = {"AzureSqlDatabase": "mssql", "AzurePostgreSql": "postgresql", "AzureMySql": "mysql"}
ENDPOINTS = {"mssql": "database.windows.net", "postgresql": "postgres.database.azure.com",
             "mysql": "mysql.database.azure.com"}  # fmt: skip
PORTS = {"mssql": 1433, "postgresql": 5432, "mysql": 3306}
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}$|^(\[[^\]]+\]\.?)+$")


def host_of(record: Mapping[str, Any]) -> str:
    """The server's host name: ``server_name`` + ``endpoint``, or ``server_name`` when it already is a host."""
    server = str(record.get("server_name") or "")
    engine = KINDS[str(record["type"])]
    if server == "localhost" or "." in server or ":" in server:
        return server
    return f"{server}.{record.get('endpoint') or ENDPOINTS[engine]}"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connection_text(record: Mapping[str, Any], secrets: Mapping[str, Any]) -> str:
    """``<engine>://<user>:<password>@<host>:<port>/<database>?ssl=...`` for a SQL datastore (secret)."""
    engine = KINDS[str(record["type"])]
    host = host_of(record)
    port = int(record.get("port_number") or PORTS[engine])
    user = str(record.get("user_id") or record.get("username") or "")
    password = str(secrets.get("user_password") or secrets.get("password") or "")
    ssl = (engine != "postgresql" or bool(record.get("enforce_ssl", True))) and not _loopback(host)
    query = f"ssl={'require' if ssl else 'disable'}"
    if engine == "mssql" and secrets.get("client_secret"):
        query += "&auth=sp&tenant=" + quote(str(secrets.get("tenant_id") or ""), safe="")
        user, password = str(secrets.get("client_id") or ""), str(secrets["client_secret"])
    return (
        f"{engine}://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/"
        f"{quote(str(record.get('database_name') or ''), safe='')}?{query}"
    )


def parse_connection(text: str) -> dict[str, Any]:
    """The parts of :func:`connection_text`: engine, host, port, database, user, password, ssl (+ auth, tenant)."""
    parts = urlsplit(text)
    options = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
    return {
        "engine": parts.scheme,
        "host": parts.hostname or "",
        "port": parts.port or PORTS.get(parts.scheme, 0),
        "database": unquote(parts.path.lstrip("/")),
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "ssl": options.get("ssl") == "require",
        "auth": options.get("auth", "sql"),
        "tenant": unquote(options.get("tenant", "")),
    }


def password_of(text: str) -> str:
    """The password (or client secret) inside a connection text, for redaction."""
    return str(parse_connection(text)["password"])


def odbc_connection(text: str, timeout: Optional[float] = None) -> str:
    """The ODBC connection string pyodbc would hand Microsoft's "ODBC Driver 18 for SQL Server" for Azure SQL."""
    c = parse_connection(text)
    c["password"] = str(c["password"]).replace("}", "}}")  # ODBC's escape inside {...}
    auth = (
        f"Authentication=ActiveDirectoryServicePrincipal;Uid={c['user']};Pwd={{{c['password']}}};"
        if c["auth"] == "sp"
        else f"Uid={c['user']};Pwd={{{c['password']}}};"
    )
    return (
        "Driver={ODBC Driver 18 for SQL Server};"
        f"Server=tcp:{c['host']},{c['port']};Database={c['database']};{auth}"
        f"Encrypt=yes;TrustServerCertificate=no;Connection Timeout={int(timeout or 30)};"
    )


def query_of(source: Mapping[str, Any], engine: str) -> tuple[str, list[str]]:
    """The SQL text a ``SqlDataReference`` (``query``, ``table`` or ``storedProcedure``) or a SQL dataset runs,
    and its parameters (a stored procedure's, bound by the driver, never pasted into the text)."""
    if source.get("query"):
        return str(source["query"]), []
    if source.get("table"):
        table = str(source["table"])
        if not _TABLE.match(table):
            raise ValidationError(f"sql_table {table!r} is not a table name (schema.table, letters, digits, _)")
        return f"SELECT * FROM {table}", []
    procedure = str(source.get("storedProcedure") or "")
    if not procedure:
        raise ValidationError("a SQL source needs a query, a table or a stored procedure")
    if not _TABLE.match(procedure):
        raise ValidationError(f"sql_stored_procedure {procedure!r} is not a procedure name")
    params = [str(p) for p in source.get("storedProcedureParams") or []]
    if engine == "mssql":
        return f"EXEC {procedure} {', '.join('?' for _ in params)}".rstrip(), params
    marks = ", ".join("%s" for _ in params)
    if engine == "mysql":
        return f"CALL {procedure}({marks})", params
    return f"SELECT * FROM {procedure}({marks})", params


def _connect(c: Mapping[str, Any], timeout: Optional[float]) -> Any:
    engine = c["engine"]
    if engine == "postgresql":
        import ssl as ssl_module

        import pg8000.dbapi

        return pg8000.dbapi.connect(
            user=c["user"], password=c["password"], host=c["host"], port=int(c["port"]), database=c["database"],
            ssl_context=ssl_module.create_default_context() if c["ssl"] else None, timeout=timeout,
        )  # fmt: skip
    if engine == "mysql":
        import pymysql

        return pymysql.connect(
            user=c["user"], password=c["password"], host=c["host"], port=int(c["port"]), database=c["database"],
            ssl={"ssl": {}} if c["ssl"] else None, connect_timeout=int(timeout or 30),
            read_timeout=int(timeout) if timeout else None,
        )  # fmt: skip
    if engine == "mssql":
        try:
            import pyodbc  # noqa: F401
        except ImportError:
            raise NotSupportedError(
                f"reading Azure SQL database '{c['database']}' on {c['host']}",
                "It needs the pyodbc package and Microsoft's ODBC Driver 18 for SQL Server on the compute "
                "(pip install pyodbc; apt-get install msodbcsql18). durableml installs neither.",
            ) from None
        return pyodbc.connect(odbc_connection(_text(c), timeout), timeout=int(timeout or 30))
    raise ValidationError(f"unknown SQL engine {engine!r}")


def _text(c: Mapping[str, Any]) -> str:
    return (
        f"{c['engine']}://{quote(c['user'], safe='')}:{quote(c['password'], safe='')}@{c['host']}:{c['port']}/"
        f"{quote(c['database'], safe='')}?ssl={'require' if c['ssl'] else 'disable'}&auth={c['auth']}"
    )


def check_connection(text: str, timeout: float = 15.0) -> bool:
    """Connect to the database of ``text`` and close again: what registering a SQL datastore checks unless
    ``skip_validation=True`` (v1: "validation of connecting to the SQL database"). False when it cannot be checked
    here (Azure SQL without pyodbc: reading it says what is missing); a UserErrorException when it fails."""
    c = parse_connection(text)
    if c["engine"] == "mssql":
        try:
            import pyodbc  # noqa: F401
        except ImportError:
            return False
    where = f"{c['engine']} database '{c['database']}' on {c['host']}:{c['port']}"
    try:
        _connect(c, timeout).close()
    except (NotSupportedError, ValidationError):
        raise
    except Exception as exc:  # the drivers' own errors: refused connection, unknown host, bad password
        raise UserErrorException(
            f"Datastore validation failed: cannot connect to {where}: {_clean(exc, c)}. Check the server, port, "
            "database, user and password, or register with skip_validation=True."
        ) from None
    return True


def query_to_csv(text: str, source: Mapping[str, Any], path: str, timeout: Optional[float] = None) -> int:
    """Run the source's query on the server of ``text`` and write the result (a header line, then the rows) to
    the CSV file ``path``; returns the number of rows. Errors name the server and database, never the password."""
    c = parse_connection(text)
    query, params = query_of(source, str(c["engine"]))
    where = f"{c['engine']} database '{c['database']}' on {c['host']}:{c['port']}"
    try:
        connection = _connect(c, timeout)
    except (NotSupportedError, ValidationError):
        raise
    except Exception as exc:  # the drivers' own errors, e.g. refused connection, bad password
        raise UserErrorException(f"cannot connect to {where}: {_clean(exc, c)}") from None
    try:
        cursor = connection.cursor()
        if c["engine"] == "postgresql" and timeout:
            cursor.execute(f"SET statement_timeout = {int(timeout * 1000)}")
        if params:
            cursor.execute(query, params)
        else:
            cursor.execute(query)  # no parameters: a % in the query stays as it is
        columns = [str(d[0]) for d in cursor.description or []]
        count = 0
        with open(path, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(columns)
            for row in cursor.fetchall():
                writer.writerow(["" if v is None else v for v in row])
                count += 1
        return count
    except Exception as exc:
        raise ValidationError(f"the query failed on {where}: {_clean(exc, c)}\nquery: {query}") from None
    finally:
        connection.close()


def _clean(exc: BaseException, c: Mapping[str, Any]) -> str:
    message = f"{type(exc).__name__}: {exc}"
    return message.replace(str(c["password"]), "***") if c["password"] else message
