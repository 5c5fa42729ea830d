"""A loopback Databricks workspace for tests and offline development: the Jobs API and DBFS, run locally.

``python -m durableml.devtools.databricks_jobs --root DIR [--workspace NOTEBOOKS] [--port N]`` serves, on
127.0.0.1 only, with the personal access token from ``DURABLEML_DATABRICKS_TOKEN`` (a Bearer token every request
must carry):

* Jobs (``/api/2.1`` and ``/api/2.2``, the SDK's): ``runs/submit``, ``runs/get``, ``runs/get-output``,
  ``runs/cancel``; ``/api/2.{0,1}/clusters/get`` (every cluster id is a RUNNING local Spark);
* DBFS (``/api/2.0/dbfs``): ``mkdirs``, ``create``, ``add-block``, ``close``, ``put``, ``get-status``, ``read``,
  ``list``, ``delete``; DBFS is the folder ``<root>/dbfs``.

Every request is checked against databricks-sdk's own models (:mod:`.databricks_requests`): a field they do not
know, or a value that does not round-trip, is refused with 400 and the reason. The runs execute with a real
local Spark (:mod:`.databricks_runs`); notebooks are read from ``--workspace`` (``<notebook_path>.py``, Databricks'
source format). It prints one JSON line ``{"url", "pid"}`` when it listens.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import itertools
import json
import os
import shutil
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import parse_qs, urlsplit

from durableml.devtools.databricks_requests import RequestRefused, check_body, check_query
from durableml.devtools.databricks_runs import LoopbackError, Runs

__all__ = ["JobsServer", "main", "TOKEN_ENV"]

TOKEN_ENV = "DURABLEML_DATABRICKS_TOKEN"
_MAX_BLOCK = 1024 * 1024


def _sdk() -> tuple[Any, Any, Any]:
    from databricks.sdk.service.compute import ClustersAPI
    from databricks.sdk.service.files import DbfsAPI
    from databricks.sdk.service.jobs import JobsAPI

    return JobsAPI, DbfsAPI, ClustersAPI


class JobsServer:
    """The server: ``start()`` listens on 127.0.0.1 (a free port unless given), ``stop()`` ends it and its runs."""

    def __init__(self, root: Path, token: str, workspace: Optional[Path] = None, port: int = 0) -> None:
        if not token:
            raise ValueError(f"the loopback Databricks server needs a token ({TOKEN_ENV})")
        self.root = root.resolve()
        self.token = token
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.runs = Runs(self.root, (workspace or self.root / "workspace").resolve(), self.url)
        self._handles: dict[int, tuple[Path, bytearray]] = {}
        self._handle_ids = itertools.count(1)
        self._lock = threading.Lock()
        self.httpd.app = self  # type: ignore[attr-defined]
        self._thread: Optional[threading.Thread] = None
        self.workspace_id = 1000 + self.httpd.server_address[1]

    def start(self) -> JobsServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="databricks-loopback", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.runs.stop_all()
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- routing ---------------------------------------------------------------------------------
    def route(self, method: str, path: str) -> Callable[[Any], Any]:
        jobs, dbfs, clusters = _sdk()
        for version in ("2.1", "2.2"):
            prefix = f"/api/{version}/jobs/runs/"
            if path.startswith(prefix):
                name = path[len(prefix) :]
                table: dict[tuple[str, str], Callable[[Any], Any]] = {
                    ("POST", "submit"): lambda r: self._submit(r, jobs.submit),
                    ("GET", "get"): lambda r: self._get(r, jobs.get_run, self.runs.get),
                    ("GET", "get-output"): lambda r: self._get(r, jobs.get_run_output, self.runs.output),
                    ("POST", "cancel"): lambda r: self._cancel(r, jobs.cancel_run),
                }
                if (method, name) in table:
                    return table[(method, name)]
        if path in ("/api/2.0/clusters/get", "/api/2.1/clusters/get") and method == "GET":
            return lambda r: self._cluster(r, clusters.get)
        if path.startswith("/api/2.0/dbfs/"):
            name = path[len("/api/2.0/dbfs/") :]
            dbfs_table: dict[tuple[str, str], tuple[Any, Callable[[Any, Any], Any]]] = {
                ("POST", "mkdirs"): (dbfs.mkdirs, self._mkdirs),
                ("POST", "create"): (dbfs.create, self._create),
                ("POST", "add-block"): (dbfs.add_block, self._add_block),
                ("POST", "close"): (dbfs.close, self._close),
                ("POST", "put"): (dbfs.put, self._put),
                ("POST", "delete"): (dbfs.delete, self._delete),
                ("GET", "get-status"): (dbfs.get_status, self._status),
                ("GET", "read"): (dbfs.read, self._read),
                ("GET", "list"): (dbfs.list, self._list),
            }
            if (method, name) in dbfs_table:
                model, handler = dbfs_table[(method, name)]
                return lambda r: handler(r.body if method == "POST" else r.query, model)
        raise LoopbackError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")

    # -- jobs ------------------------------------------------------------------------------------
    def _submit(self, request: Any, model: Any) -> dict[str, Any]:
        body = check_body(request.body, model)
        return {"run_id": self.runs.submit(body)}

    def _get(self, request: Any, model: Any, action: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
        check_query(request.query, model, required=("run_id",))
        return action(_int(request.query["run_id"], "run_id"))

    def _cancel(self, request: Any, model: Any) -> dict[str, Any]:
        body = check_body(request.body, model, required=("run_id",))
        self.runs.cancel(_int(body["run_id"], "run_id"))
        return {}

    def _cluster(self, request: Any, model: Any) -> dict[str, Any]:
        check_query(request.query, model, required=("cluster_id",))
        cluster_id = request.query["cluster_id"]
        return {
            "cluster_id": cluster_id,
            "cluster_name": cluster_id,
            "state": "RUNNING",
            "spark_version": "local-spark",
            "state_message": "a local Spark (local[*]) of the loopback server",
        }

    # -- DBFS ------------------------------------------------------------------------------------
    def _mkdirs(self, body: dict[str, Any], model: Any) -> dict[str, Any]:
        check_body(body, model, required=("path",))
        target = self._path(body["path"])
        if target.is_file():
            raise LoopbackError(400, "RESOURCE_ALREADY_EXISTS", f"A file exists at {body['path']}")
        target.mkdir(parents=True, exist_ok=True)
        return {}

    def _create(self, body: dict[str, Any], model: Any) -> dict[str, Any]:
        check_body(body, model, required=("path",))
        target = self._path(body["path"])
        if target.exists() and not body.get("overwrite"):
            raise LoopbackError(400, "RESOURCE_ALREADY_EXISTS", f"A file or directory already exists at {body['path']}")
        with self._lock:
            handle = next(self._handle_ids)
            self._handles[handle] = (target, bytearray())
        return {"handle": handle}

    def _add_block(self, body: dict[str, Any], model: Any) -> dict[str, Any]:
        check_body(body, model, required=("handle", "data"))
        data = _b64(str(body["data"]))
        if len(data) > _MAX_BLOCK:
            raise LoopbackError(400, "MAX_BLOCK_SIZE_EXCEEDED", f"a block may hold {_MAX_BLOCK} bytes, got {len(data)}")
        with self._lock:
            if body["handle"] not in self._handles:
                raise LoopbackError(400, "RESOURCE_DOES_NOT_EXIST", f"no open stream with handle {body['handle']}")
            self._handles[body["handle"]][1].extend(data)
        return {}

    def _close(self, body: dict[str, Any], model: Any) -> dict[str, Any]:
        check_body(body, model, required=("handle",))
        with self._lock:
            found = self._handles.pop(body["handle"], None)
        if found is None:
            raise LoopbackError(400, "RESOURCE_DOES_NOT_EXIST", f"no open stream with handle {body['handle']}")
        _write(found[0], bytes(found[1]))
        return {}

    def _put(self, body: dict[str, Any], model: Any) -> dict[str, Any]:
        check_body(body, model, required=("path",))
        target = self._path(body["path"])
        if target.exists() and not body.get("overwrite"):
            raise LoopbackError(400, "RESOURCE_ALREADY_EXISTS", f"A file or directory already exists at {body['path']}")
        _write(target, _b64(str(body.get("contents") or "")))
        return {}

    def _delete(self, body: dict[str, Any], model: Any) -> dict[str, Any]:
        check_body(body, model, required=("path",))
        target = self._path(body["path"])
        if target.is_dir():
            if not body.get("recursive") and any(target.iterdir()):
                raise LoopbackError(400, "IO_ERROR", f"{body['path']} is a non-empty directory; pass recursive")
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        return {}

    def _status(self, query: dict[str, str], model: Any) -> dict[str, Any]:
        check_query(query, model, required=("path",))
        return self._info(self._existing(query["path"]))

    def _read(self, query: dict[str, str], model: Any) -> dict[str, Any]:
        check_query(query, model, required=("path",))
        target = self._existing(query["path"])
        if target.is_dir():
            raise LoopbackError(400, "INVALID_PARAMETER_VALUE", f"{query['path']} is a directory")
        offset, length = _int(query.get("offset", "0"), "offset"), _int(query.get("length", str(_MAX_BLOCK)), "length")
        if length > _MAX_BLOCK:
            raise LoopbackError(400, "MAX_READ_SIZE_EXCEEDED", f"length may be at most {_MAX_BLOCK}")
        with open(target, "rb") as handle:
            handle.seek(offset)
            data = handle.read(length)
        return {"bytes_read": len(data), "data": base64.b64encode(data).decode()}

    def _list(self, query: dict[str, str], model: Any) -> dict[str, Any]:
        check_query(query, model, required=("path",))
        target = self._existing(query["path"])
        entries = sorted(target.iterdir()) if target.is_dir() else [target]
        return {"files": [self._info(entry) for entry in entries]}

    def _path(self, path: Any) -> Path:
        """The local file of a DBFS API path (``/a/b`` or ``dbfs:/a/b``)."""
        text = str(path)
        return self.runs.local(text if text.startswith("dbfs:") else "dbfs:" + text)

    def _existing(self, path: str) -> Path:
        target = self._path(path)
        if not target.exists():
            raise LoopbackError(404, "RESOURCE_DOES_NOT_EXIST", f"No file or directory exists on path {path}.")
        return target

    def _info(self, target: Path) -> dict[str, Any]:
        stat = target.stat()
        rel = target.relative_to(self.runs.dbfs.resolve()).as_posix()
        return {
            "path": "/" + ("" if rel == "." else rel),
            "is_dir": target.is_dir(),
            "file_size": 0 if target.is_dir() else stat.st_size,
            "modification_time": int(stat.st_mtime * 1000),
        }


class _Request:
    def __init__(self, query: dict[str, str], body: Any) -> None:
        self.query, self.body = query, body


class _Handler(BaseHTTPRequestHandler):
    server_version = "durableml-databricks-loopback"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        """Quiet: requests are not logged (nothing secret is in them, but tests read the output)."""

    def _handle(self, method: str) -> None:
        app: JobsServer = self.server.app  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        try:
            if method == "GET" and parts.path == "/.well-known/databricks-config":  # the SDK's discovery probe
                self._send(200, {"workspace_id": str(app.workspace_id), "cloud": "azure"})
                return
            given = self.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {app.token}".encode()):
                raise LoopbackError(401, "UNAUTHENTICATED", "Invalid access token.")
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else {}
            except ValueError as exc:
                raise LoopbackError(400, "MALFORMED_REQUEST", f"the request body is not JSON: {exc}") from None
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            self._send(200, app.route(method, parts.path)(_Request(query, body)))
        except LoopbackError as exc:
            self._send(exc.status, {"error_code": exc.code, "message": str(exc)})
        except RequestRefused as exc:
            self._send(400, {"error_code": "INVALID_PARAMETER_VALUE", "message": f"Invalid request: {exc}"})

    def _send(self, status: int, answer: Any) -> None:
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise LoopbackError(400, "INVALID_PARAMETER_VALUE", f"{name} must be an integer, got {value!r}") from None


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise LoopbackError(400, "INVALID_PARAMETER_VALUE", "data is not valid base64") from None


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.part")
    temporary.write_bytes(data)
    os.replace(temporary, target)


def main(argv: Optional[list[str]] = None) -> int:
    """Serve until SIGTERM / Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m durableml.devtools.databricks_jobs", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--root", required=True, type=Path, help="the server's folder (DBFS is <root>/dbfs)")
    parser.add_argument("--workspace", type=Path, help="the folder of notebook sources (default <root>/workspace)")
    parser.add_argument("--port", type=int, default=0, help="the port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args(argv)
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        parser.error(f"set {TOKEN_ENV} to the access token clients must send")
    server = JobsServer(args.root, token, args.workspace, args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    print(json.dumps({"url": server.url, "pid": os.getpid()}), flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
