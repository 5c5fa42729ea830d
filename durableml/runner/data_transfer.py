"""The DataTransferStep driver: copies the step's source to its destination, server-side where storage can.

``python data_transfer.py SOURCE DESTINATION [WHERE]``, run by the step runner on a DataFactory compute
(:mod:`durableml.compute.datafactory`). The kind's job (:mod:`durableml.stepkinds.data_transfer`) marks its
source input and its destination output ``transfer``: the runner then downloads nothing and uploads nothing.
Staging writes a *reference* instead (:func:`write_reference`: the binding with its container, path and the
account's connection, mode 0600, read once and deleted by this driver), SOURCE is that reference's path and
DESTINATION the output's (empty) folder, whose reference is beside it (``DESTINATION.transfer.json``).

**Blob-like to blob-like** (Azure Blob, ADLS Gen2 and file-share datastores, which durableml keeps as blob
containers; any account, the service's own or another): each blob is copied by the storage service itself
with Copy Blob (``start_copy_from_url`` on the destination blob), reading the source through a read-only SAS
made for that one blob (from the source account's key, a user delegation key for a service principal or an
identity, the datastore's own SAS, or no SAS for a public container). The driver starts the copies (up to
:data:`COPY_WORKERS` at once), polls each pending one until it succeeds or fails, and never reads a byte.
A SAS is never printed: messages show URLs without their query. A file source is one blob; a folder source is
every blob under its path (or matching a glob), copied with its relative path. Azurite 3.35 runs Copy Blob
within and across its accounts (synchronously); Put Blob From URL and Put Block From URL are not implemented
there, so they are not used. When no readable source URL can be made (a service principal whose account does not
give user delegation keys), the blob is streamed through this process in :data:`CHUNK`-byte ranges instead, and
the log says so.

**SQL to blob** (a ``SqlDataReference`` source): PostgreSQL writes the CSV itself (``COPY (query) TO STDOUT``,
rows streamed as they come); elsewhere the query runs with a server-side cursor (MySQL's unbuffered one;
``fetchmany`` on Azure SQL) :data:`SQL_FETCH_ROWS` rows at a time. The CSV goes up in blocks of about
:data:`CHUNK` bytes (Put Block, then Put Block List), so memory stays bounded whatever the result's size.
The blob is ``<source input name>.csv`` in a folder destination, the destination path itself for
``destination_reference_type="file"``.

**Blob to SQL** (a ``SqlDataReference`` destination with ``sql_table``): each CSV file of the source (a file, or
every file under a folder) is read in ranges of :data:`CHUNK` bytes and its header names the table's columns;
PostgreSQL loads the ranges as they arrive (``COPY table (columns) FROM STDIN``), elsewhere the rows are inserted
:data:`SQL_INSERT_ROWS` at a time (``executemany``). An empty field is NULL. Everything is one transaction: the
table gets every row or, when anything fails, none. The table must exist.

**Cancel**: SIGTERM (the runner's cancel) stops starting copies, aborts every pending one (``abort_copy``) and
exits. A source with no data fails the step (exit code 1) with ``DataTransferStep: no data to copy from WHERE``:
Azure ML v1's copy activity fails when its source does not exist.

A SOURCE that is not a reference (a job made before references existed) is copied locally as files, as before.
"""

from __future__ import annotations

import base64
import csv
import fnmatch
import io
import json
import os
import re
import shutil
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from types import FrameType
from typing import Any, Callable, Iterator, Mapping, Optional

__all__ = ["TRANSFER_SUFFIX", "write_reference", "read_reference", "copy", "main", "NoSourceData"]

TRANSFER_SUFFIX = ".transfer.json"
COPY_WORKERS = 8
CHUNK = 4 * 1024 * 1024
SQL_FETCH_ROWS = 2000
SQL_INSERT_ROWS = 5000
SAS_LIFETIME = timedelta(hours=12)  # a pending copy needs its source readable until it ends
_GLOB = re.compile(r"[*?\[]")
_SECRET_QUERY = re.compile(r"(https?://[^\s?'\"]+)\?[^\s'\"]*")


class NoSourceData(Exception):
    """The source holds no file: there is nothing to copy."""


class CopyFailed(Exception):
    """The storage service reported a copy failed or was aborted."""


class _Canceled(BaseException):
    """SIGTERM arrived: the step is being canceled."""


def write_reference(path: Path, binding: Mapping[str, Any]) -> str:
    """Write a transfer reference (a job binding, with its connection) to ``path``, readable by this user only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(dict(binding), handle)
    return str(path)


def read_reference(path: str) -> dict[str, Any]:
    """Read a reference written by :func:`write_reference` and delete it (it holds a secret)."""
    with open(path, encoding="utf-8") as handle:
        data = dict(json.load(handle))
    os.unlink(path)
    return data


def safe(text: str) -> str:
    """``text`` with every URL's query (a SAS) removed."""
    return _SECRET_QUERY.sub(r"\1?<query hidden>", text)


def say(message: str) -> None:
    print(message, flush=True)


# ------------------------------------------------------------------------------------------------ blob side
class _Blobs:
    """One side of a copy: a container (and path) on a storage account."""

    def __init__(self, reference: Mapping[str, Any]) -> None:
        from durableml.storage_accounts import blob_service

        self.service = blob_service(str(reference["connection_string"]))
        self.container_name = str(reference["container"])
        self.path = str(reference.get("path_on_datastore") or "").strip("/")
        self.datastore = str(reference.get("datastore") or self.container_name)
        self.container = self.service.get_container_client(self.container_name)
        self._delegation: Any = None
        self._no_delegation = ""  # why the account gave no user delegation key (asked once)

    def blob(self, name: str) -> Any:
        return self.container.get_blob_client(name)

    def listing(self) -> list[tuple[str, str, int]]:
        """(blob name, path relative to the copied folder or '' for a file source, size) of the source's blobs."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            if _GLOB.search(self.path):
                base = self.path[: _GLOB.search(self.path).start()].rpartition("/")[0]  # type: ignore[union-attr]
                found = self.container.list_blobs(name_starts_with=base + "/" if base else "")
                cut = len(base) + 1 if base else 0
                return [(b.name, b.name[cut:], int(b.size)) for b in found if fnmatch.fnmatchcase(b.name, self.path)]
            blobs = [(b.name, int(b.size)) for b in self.container.list_blobs(name_starts_with=self.path)]
        except ResourceNotFoundError:
            return []
        inside = [(n, s) for n, s in blobs if not self.path or n.startswith(self.path + "/")]
        if not inside:
            return [(n, "", s) for n, s in blobs if n == self.path]
        cut = len(self.path) + 1 if self.path else 0
        return [(n, n[cut:], s) for n, s in inside]

    def readable_url(self, name: str) -> tuple[Optional[str], str]:
        """A URL another account's service can read blob ``name`` from, or (None, why not)."""
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        client = self.blob(name)
        credential = self.service.credential
        start, expiry = datetime.now(timezone.utc) - timedelta(minutes=5), datetime.now(timezone.utc) + SAS_LIFETIME
        permission = BlobSasPermissions(read=True)
        account = self.service.account_name
        if credential is None or "?" in client.url:  # public container, or the datastore's own SAS
            return client.url, ""
        if getattr(credential, "account_key", None):
            sas = generate_blob_sas(account, self.container_name, name, account_key=credential.account_key,
                                    permission=permission, start=start, expiry=expiry)  # fmt: skip
            return f"{client.url}?{sas}", ""
        if hasattr(credential, "get_token"):  # service principal or identity: a user delegation SAS
            if self._delegation is None and not self._no_delegation:
                try:
                    self._delegation = self.service.get_user_delegation_key(start, expiry)
                except Exception as exc:  # noqa: BLE001 - the account cannot give one: stream instead
                    self._no_delegation = f"no user delegation key from account {account!r} ({type(exc).__name__})"
            if self._delegation is None or self._no_delegation:
                return None, self._no_delegation
            sas = generate_blob_sas(account, self.container_name, name, user_delegation_key=self._delegation,
                                    permission=permission, start=start, expiry=expiry)  # fmt: skip
            return f"{client.url}?{sas}", ""
        return None, f"no way to sign a read URL with a {type(credential).__name__}"


class Copier:
    """Copies blobs server-side (or streamed when it must); :meth:`abort_pending` aborts copies still running."""

    def __init__(self, source: _Blobs, destination: _Blobs, stop: threading.Event) -> None:
        self.source, self.destination = source, destination
        self.stop = stop
        self._pending: dict[str, tuple[Any, str]] = {}
        self._lock = threading.Lock()
        self.server_side = 0
        self.streamed = 0
        self.copy_ids: dict[str, str] = {}
        self._noted: set[str] = set()

    def copy(self, source_name: str, destination_name: str) -> None:
        if self.stop.is_set():
            return
        url, why = self.source.readable_url(source_name)
        target = self.destination.blob(destination_name)
        if url is None:
            self._note_stream(why)
            _stream_blob(self.source.blob(source_name), target, self.stop)
            with self._lock:
                self.streamed += 1
            return
        delegated = self.source._delegation is not None
        try:  # a copy from a user delegation SAS is tried once: refused, the blob is streamed (below)
            started = target.start_copy_from_url(url, **({"retry_total": 0} if delegated else {}))
        except Exception as exc:
            code = int(getattr(exc, "status_code", 0) or 0)
            if not delegated or not (code >= 500 or code == 403):
                raise
            # Azurite (OAuth mode) answers 500 to a copy from a user delegation SAS; Azure does not: stream then
            why = f"the storage service could not copy from a user delegation SAS URL (HTTP {code})"
            self.source._no_delegation = why
            self._note_stream(why)
            _stream_blob(self.source.blob(source_name), target, self.stop)
            with self._lock:
                self.streamed += 1
            return
        copy_id, status = str(started.get("copy_id")), str(started.get("copy_status"))
        with self._lock:
            self._pending[destination_name] = (target, copy_id)
        try:
            delay = 0.2
            while status == "pending":
                if self.stop.wait(delay):
                    return  # canceled: abort_pending ends it
                delay = min(delay * 2, 5.0)
                properties = target.get_blob_properties()
                if properties.copy.id != copy_id:
                    raise CopyFailed(f"{destination_name}: another copy replaced this one ({properties.copy.id})")
                status = str(properties.copy.status)
                description = properties.copy.status_description
            if status != "success":
                raise CopyFailed(f"copy to {destination_name} ended {status}: {safe(str(description or ''))}")
        finally:
            with self._lock:
                self._pending.pop(destination_name, None)
        with self._lock:
            self.server_side += 1
            self.copy_ids[destination_name] = copy_id

    def abort_pending(self) -> int:
        """Abort every copy that has not ended; returns how many were aborted."""
        with self._lock:
            pending = list(self._pending.items())
        aborted = 0
        for name, (client, copy_id) in pending:
            try:
                client.abort_copy(copy_id)
                aborted += 1
            except Exception as exc:  # noqa: BLE001 - it may have just ended
                say(f"DataTransferStep: could not abort the copy to {name}: {type(exc).__name__}")
        return aborted

    def _note_stream(self, why: str) -> None:
        with self._lock:
            if why in self._noted:
                return
            self._noted.add(why)
        say(f"DataTransferStep: streaming through this host in {CHUNK // (1024 * 1024)} MiB chunks: {why}")


def _stream_blob(source: Any, target: Any, stop: threading.Event) -> None:
    """Copy one blob through this process, one range of :data:`CHUNK` bytes in memory at a time."""
    size = int(source.get_blob_properties().size)
    blocks: list[str] = []
    for offset in range(0, size, CHUNK):
        if stop.is_set():
            return
        data = source.download_blob(offset=offset, length=min(CHUNK, size - offset)).readall()
        block = base64.b64encode(f"{len(blocks):08d}".encode()).decode()
        target.stage_block(block, data)
        blocks.append(block)
    target.commit_block_list(blocks)


def _destination_name(destination: _Blobs, relative: str, file_name: str, as_file: bool) -> str:
    if as_file and not relative:
        return destination.path
    rest = relative or file_name
    return f"{destination.path}/{rest}" if destination.path else rest


def copy_blobs(
    source: _Blobs,
    destination: _Blobs,
    as_file: bool,
    stop: threading.Event,
    on_copier: Callable[[Copier], None] = lambda _c: None,
) -> Copier:
    """Copy the source's blobs to the destination (see the module docstring); raises NoSourceData."""
    listing = source.listing()
    if not listing:
        raise NoSourceData(source.path)
    copier = Copier(source, destination, stop)
    on_copier(copier)
    pairs = [(name, _destination_name(destination, rel, PurePosixPath(name).name, as_file)) for name, rel, _ in listing]
    destination.container.exists() or _create(destination)
    total = sum(size for _, _, size in listing)
    say(
        f"DataTransferStep: copying {len(pairs)} blob(s), {total} bytes, from {safe(source.container.url)}/"
        f"{source.path} to {safe(destination.container.url)}/{destination.path} with the storage service's Copy Blob"
    )
    pool = ThreadPoolExecutor(max_workers=min(COPY_WORKERS, len(pairs)))
    try:
        futures: list[Future[None]] = [pool.submit(copier.copy, s, d) for s, d in pairs]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in done:
            if future.exception() is not None:
                copier.stop.set()
                copier.abort_pending()
                raise future.exception()  # type: ignore[misc]
    finally:
        pool.shutdown(wait=not copier.stop.is_set(), cancel_futures=True)
    return copier


def _create(side: _Blobs) -> bool:
    from azure.core.exceptions import ResourceExistsError

    try:
        side.container.create_container()
    except ResourceExistsError:
        pass
    return True


# ------------------------------------------------------------------------------------------------ SQL side
class BlockWriter:
    """A binary stream that uploads what is written to block blob ``target`` in blocks of about :data:`CHUNK`
    bytes (Put Block), committed by :meth:`close` (Put Block List): at most one block is in memory."""

    def __init__(self, target: Any, stop: threading.Event) -> None:
        self.target, self.stop = target, stop
        self.buffer = bytearray()
        self.blocks: list[str] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            self._flush()
        return len(data)

    def _flush(self) -> None:
        if self.stop.is_set():
            raise _Canceled()
        if self.buffer:
            block = base64.b64encode(f"{len(self.blocks):08d}".encode()).decode()
            self.target.stage_block(block, bytes(self.buffer))
            self.blocks.append(block)
            self.size += len(self.buffer)
            self.buffer.clear()

    def close(self) -> None:
        self._flush()
        self.target.commit_block_list(self.blocks)


def sql_to_blob(connection_text: str, sql: Mapping[str, Any], target: Any, stop: threading.Event) -> tuple[int, int]:
    """Write a SQL source's result as CSV (a header, then the rows) to block blob ``target``; returns (rows,
    bytes). PostgreSQL: ``COPY (query) TO STDOUT`` (the server writes the CSV, rows arrive one by one); otherwise
    a server-side cursor (MySQL's unbuffered one) read :data:`SQL_FETCH_ROWS` rows at a time."""
    from durableml import sql_sources

    c = sql_sources.parse_connection(connection_text)
    query, params = sql_sources.query_of(sql, str(c["engine"]))
    out = BlockWriter(target, stop)
    connection = sql_sources._connect(c, None)
    try:
        if c["engine"] == "postgresql" and not params:
            cursor = connection.cursor()
            cursor.execute(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)", stream=out)
            count = max(int(cursor.rowcount), 0)
        else:
            count = _cursor_to_csv(connection, str(c["engine"]), query, params, out)
    finally:
        connection.close()
    out.close()
    return count, out.size


def _cursor_to_csv(connection: Any, engine: str, query: str, params: list[str], out: BlockWriter) -> int:
    if engine == "mysql":
        import pymysql.cursors

        cursor = connection.cursor(pymysql.cursors.SSCursor)
    else:
        cursor = connection.cursor()
    if params:
        cursor.execute(query, params)
    else:
        cursor.execute(query)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([str(d[0]) for d in cursor.description or []])
    count = 0
    while rows := cursor.fetchmany(SQL_FETCH_ROWS):
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
        count += len(rows)
        out.write(text.getvalue().encode("utf-8"))
        text.seek(0)
        text.truncate()
    out.write(text.getvalue().encode("utf-8"))
    cursor.close()
    return count


def blob_ranges(blob: Any, stop: threading.Event) -> Iterator[bytes]:
    """A blob's content in ranges of :data:`CHUNK` bytes."""
    size = int(blob.get_blob_properties().size)
    for offset in range(0, size, CHUNK):
        if stop.is_set():
            raise _Canceled()
        yield bytes(blob.download_blob(offset=offset, length=min(CHUNK, size - offset)).readall())


def csv_records(ranges: Iterator[bytes]) -> Iterator[list[str]]:
    """The CSV records of a stream of byte ranges (a quoted field may span lines and ranges)."""
    import codecs

    def lines() -> Iterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8-sig")()
        rest = ""
        for data in ranges:
            *complete, rest = (rest + decoder.decode(data)).split("\n")
            for line in complete:
                yield line + "\n"
        rest += decoder.decode(b"", final=True)
        if rest:
            yield rest

    return csv.reader(lines())


_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_ $]*$")


def _header(header: Optional[list[str]], what: str) -> list[str]:
    from durableml.exceptions import ValidationError

    if not header:
        raise ValidationError(f"{what}: the file is empty; a CSV file's first line names the table's columns")
    for column in header:
        if not _COLUMN.match(column):
            raise ValidationError(f"{what}: the header's column {column!r} is not a column name")
    return header


def load_csv(connection: Any, engine: str, table: str, blob: Any, stop: threading.Event, what: str) -> int:
    """Insert the rows of CSV blob ``blob`` (its header names the table's columns) into ``table``; returns the
    row count (the caller commits). PostgreSQL: ``COPY table (columns) FROM STDIN`` fed the blob's ranges as they
    arrive; otherwise ``executemany`` of :data:`SQL_INSERT_ROWS` rows at a time. An empty field is NULL."""
    from durableml.exceptions import ValidationError

    ranges = blob_ranges(blob, stop)
    first = next(ranges, b"")
    header = _header(next(csv_records(iter([first.split(b"\n", 1)[0] + b"\n"])), None), what)
    if engine == "postgresql":
        columns = ", ".join(f'"{c}"' for c in header)
        cursor = connection.cursor()
        options = "FORMAT csv, HEADER true, FORCE_NULL (" + columns + ")"
        try:
            cursor.execute(f"COPY {table} ({columns}) FROM STDIN WITH ({options})", stream=_chain(first, ranges))
        except _Canceled:
            raise
        except Exception as exc:  # the server's message names the line
            raise ValidationError(f"{what}: {_pg_message(exc)}") from None
        return max(int(cursor.rowcount), 0)
    quotes = "``" if engine == "mysql" else '""'
    mark = "?" if engine == "mssql" else "%s"
    names = ", ".join(quotes[0] + c + quotes[1] for c in header)
    statement = f"INSERT INTO {table} ({names}) VALUES ({', '.join(mark for _ in header)})"
    cursor = connection.cursor()
    records = csv_records(_chain(first, ranges))
    next(records, None)  # the header
    count = 0
    batch: list[list[Optional[str]]] = []
    for number, record in enumerate(records, start=2):
        if not record:
            continue
        if len(record) != len(header):
            raise ValidationError(f"{what}: line {number} has {len(record)} fields, the header {len(header)}")
        batch.append([v if v != "" else None for v in record])
        if len(batch) >= SQL_INSERT_ROWS:
            cursor.executemany(statement, batch)
            count, batch = count + len(batch), []
    if batch:
        cursor.executemany(statement, batch)
        count += len(batch)
    cursor.close()
    return count


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _pg_message(exc: Exception) -> str:
    """PostgreSQL's error fields (pg8000 gives a dict: M message, W where) as one line."""
    fields = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else None
    if not fields:
        return f"{type(exc).__name__}: {exc}"
    return "; ".join(str(fields[k]) for k in ("M", "D", "W") if fields.get(k))


def _sql_destination(source: _Blobs, destination_ref: Mapping[str, Any], stop: threading.Event) -> None:
    """Insert the rows of the source's CSV file(s) into the destination's table, in one transaction."""
    from durableml import sql_sources

    listing = source.listing()
    if not listing:
        raise NoSourceData(source.path)
    c = sql_sources.parse_connection(str(destination_ref["connection_string"]))
    table = str(destination_ref["sql"].get("table") or "")
    sql_sources.query_of({"table": table}, str(c["engine"]))  # a table name, or ValidationError
    started = time.monotonic()
    connection = sql_sources._connect(c, None)
    total = 0
    try:
        for name, _rel, _size in listing:
            what = f"{source.container_name}/{name}"
            total += load_csv(connection, str(c["engine"]), table, source.blob(name), stop, what)
        connection.commit()
    finally:
        connection.close()
    how = "COPY FROM STDIN" if c["engine"] == "postgresql" else f"INSERTs of {SQL_INSERT_ROWS} rows"
    say(
        f"DataTransferStep: copied {len(listing)} file(s): {total} rows into table {table} of SQL datastore "
        f"'{destination_ref.get('datastore')}' in {time.monotonic() - started:.2f} s, read in "
        f"{CHUNK // (1024 * 1024)} MiB ranges ({how}), in one transaction"
    )


# ------------------------------------------------------------------------------------------------ the step
def copy(source: str, destination: str) -> int:
    """Copy local ``source`` to ``destination`` (a job made before transfer references); returns the file count.
    Raises :class:`NoSourceData` for a folder with no file in it."""
    if os.path.isfile(source):
        target = os.path.join(destination, os.path.basename(source)) if os.path.isdir(destination) else destination
        shutil.copyfile(source, target)
        return 1
    if not os.path.isdir(source):
        raise FileNotFoundError(f"the source {source!r} is neither a file nor a folder")
    if not any(names for _root, _dirs, names in os.walk(source)):
        raise NoSourceData(source)
    count = 0
    for root, _dirs, names in os.walk(source):
        relative = os.path.relpath(root, source)
        os.makedirs(os.path.join(destination, relative), exist_ok=True)
        for name in names:
            shutil.copyfile(os.path.join(root, name), os.path.join(destination, relative, name))
            count += 1
    return count


def transfer(source_ref: Mapping[str, Any], destination_ref: Mapping[str, Any]) -> None:
    """Run the step's copy between two references (see the module docstring)."""
    stop = threading.Event()
    copiers: list[Copier] = []

    def on_term(_signum: int, _frame: Optional[FrameType]) -> None:
        stop.set()
        raise _Canceled()

    signal.signal(signal.SIGTERM, on_term)
    try:
        if destination_ref.get("sql"):
            _sql_destination(_Blobs(source_ref), destination_ref, stop)
            return
        destination = _Blobs(destination_ref)
        as_file = not destination_ref.get("is_directory", True)
        if source_ref.get("sql"):
            _sql_source(source_ref, destination, as_file, stop)
            return
        source = _Blobs(source_ref)
        started = time.monotonic()
        copier = copy_blobs(source, destination, as_file, stop, copiers.append)
        took = time.monotonic() - started
        how = f"{copier.server_side} server-side (Copy Blob)" + (
            f", {copier.streamed} streamed through this host" if copier.streamed else ""
        )
        say(f"DataTransferStep: copied {copier.server_side + copier.streamed} file(s) in {took:.2f} s: {how}")
    except _Canceled:
        for copier in copiers:
            copier.stop.set()
            aborted = copier.abort_pending()
            say(f"DataTransferStep: canceled; aborted {aborted} pending copy(ies)")
        sys.stdout.flush()
        os._exit(143)


def _sql_source(source_ref: Mapping[str, Any], destination: _Blobs, as_file: bool, stop: threading.Event) -> None:
    name = f"{source_ref.get('name') or 'data'}.csv"
    blob_name = _destination_name(destination, "", name, as_file)
    destination.container.exists() or _create(destination)
    started = time.monotonic()
    count, size = sql_to_blob(
        str(source_ref["connection_string"]), source_ref["sql"], destination.blob(blob_name), stop
    )
    took = time.monotonic() - started
    say(
        f"DataTransferStep: copied 1 file(s): {count} rows ({size} bytes of CSV) from SQL datastore "
        f"'{source_ref.get('datastore')}' to {safe(destination.container.url)}/{blob_name} in {took:.2f} s, "
        f"streamed in blocks of {CHUNK // (1024 * 1024)} MiB"
    )


def main(argv: Optional[list[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (2, 3):
        print("usage: data_transfer.py SOURCE DESTINATION [WHERE]", file=sys.stderr)
        return 2
    where = args[2] if len(args) == 3 else repr(args[0])
    try:
        if args[0].endswith(TRANSFER_SUFFIX):
            to = args[1] if args[1].endswith(TRANSFER_SUFFIX) else args[1].rstrip("/") + TRANSFER_SUFFIX
            transfer(read_reference(args[0]), read_reference(to))
        else:
            count = copy(args[0], args[1])
            say(f"DataTransferStep: copied {count} file(s)")
    except NoSourceData:
        message = (
            f"DataTransferStep: no data to copy from {where}: it holds no file (upload the data first, or correct "
            "the source path); Azure ML fails a copy whose source does not exist"
        )
        print(message, file=sys.stderr, flush=True)
        return 1
    except CopyFailed as exc:
        print(f"DataTransferStep: {safe(str(exc))}", file=sys.stderr, flush=True)
        return 1
    except Exception as exc:  # noqa: BLE001 - the reason, without any SAS, is the step's error
        print(f"DataTransferStep: the copy failed: {type(exc).__name__}: {safe(str(exc))}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
