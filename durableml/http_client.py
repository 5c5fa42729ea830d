"""The real :class:`~durableml.client.ServiceClient`: the durableml HTTP API, spoken with ``requests``.

Each operation is one call (or, for files and snapshots, a few calls) to a route that ``triggers/api.py``
serves; see "The HTTP API" in docs/design/pipeline-runtime.md. The service answers errors with
``{"error": {"code", "message", "details"}}``; :func:`_error_for` maps them, in one place, onto
:mod:`durableml.exceptions`::

    400  ValidationError (DocumentValidationError for InvalidDocument, NotSupportedError for NotSupported)
    401/403  AuthenticationException           check the key in config.json / DURABLEML_KEY
    404  the NotFoundError of the route's resource (DatastoreNotFoundError, ComputeTargetNotFoundError,
         RunNotFoundError, ExperimentNotFoundError); a 404 without an error body is a missing route
    409  ConflictError      410  GoneError      413  ValidationError (SnapshotException for snapshots)
    5xx  ServiceError       connection failures  ServiceNotConnectedError (says how to start the service)

Idempotent requests (GET, PUT, DELETE, the content-addressed snapshot POSTs, setting the default
datastore, cancel) are retried twice on connection errors and 502/503/504, after a short backoff.
Submitting a run or logging metrics is never retried: a lost answer must not submit a run twice.

Source snapshots honour ``.amlignore`` (else ``.gitignore``) at the top of the source directory, with
git's syntax (:class:`IgnoreRules`), skip symlinks that lead out of the directory, and upload only the
files whose sha256 the service does not hold yet.

The function key travels in the ``x-functions-key`` header only: never in a URL, a log line, an
exception message or a repr. ``requests`` is imported on the first request, not with ``durableml``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
import tempfile
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote, urlsplit

from durableml._version import __version__
from durableml.config import WorkspaceConfig
from durableml.exceptions import (
    AuthenticationException,
    AzureMLException,
    ComputeTargetException,
    ComputeTargetNotFoundError,
    ConflictError,
    DatastoreNotFoundError,
    DocumentValidationError,
    ExperimentNotFoundError,
    GoneError,
    Issue,
    NotFoundError,
    NotSupportedError,
    RunNotFoundError,
    ServiceError,
    ServiceNotConnectedError,
    SnapshotException,
    ValidationError,
)

if TYPE_CHECKING:
    import requests

__all__ = [
    "HttpServiceClient",
    "IgnoreRules",
    "SnapshotFile",
    "snapshot_files",
    "file_sha256",
    "IGNORE_FILES",
    "DEFAULT_TIMEOUT",
    "RETRY_DELAYS",
    "SNAPSHOT_MAX_FILES",
    "SNAPSHOT_MAX_BYTES",
]

Record = dict[str, Any]
log = logging.getLogger("durableml.http_client")

DEFAULT_TIMEOUT = (5.0, 300.0)
"""(connect, read) timeouts in seconds for one request."""
RETRY_DELAYS = (0.2, 0.5)
"""Pauses before the second and third attempt of an idempotent request."""
SNAPSHOT_MAX_FILES = 2000
SNAPSHOT_MAX_BYTES = 300 * 1024 * 1024
"""v1's snapshot limits: a source directory with more is almost always a mistake (a venv, data)."""
IGNORE_FILES = (".amlignore", ".gitignore")
"""The ignore files of a source directory, in order of precedence: the first one present is used."""

_RETRY_STATUSES = frozenset({502, 503, 504})
_CHUNK = 1024 * 1024
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


# ------------------------------------------------------------------------------------------ ignore files
@dataclass(frozen=True)
class _Rule:
    """One line of an ignore file, compiled."""

    pattern: re.Pattern[str]
    negate: bool
    directory_only: bool


class IgnoreRules:
    """The paths of a source directory left out of its snapshot, written with ``.gitignore`` syntax.

    Supported: comments (``#``), blank lines, ``\\`` escapes (``\\#``, ``\\!``, a trailing ``\\ ``),
    ``*``, ``?``, ``[a-z]``/``[!a-z]``, ``**`` (leading, trailing, in the middle), a leading or middle ``/``
    anchoring the pattern to the top of the directory, a trailing ``/`` matching directories only,
    ``!`` re-including what an earlier line excluded, and the last matching line winning. As in git,
    nothing inside an excluded directory can be re-included. Paths are relative and ``/``-separated.
    """

    def __init__(self, lines: Iterable[str] = (), source: str | None = None) -> None:
        self.source = source
        self._rules = [rule for rule in map(_parse_rule, lines) if rule is not None]

    @classmethod
    def for_directory(cls, directory: str | os.PathLike[str]) -> IgnoreRules:
        """The rules of ``directory``'s ``.amlignore``, else its ``.gitignore``, else none."""
        for name in IGNORE_FILES:
            path = os.path.join(os.fspath(directory), name)
            if os.path.isfile(path):
                with open(path, encoding="utf-8", errors="replace") as handle:
                    return cls(handle.read().splitlines(), source=path)
        return cls()

    def matches(self, path: str, is_dir: bool) -> bool:
        """Whether the last line that matches ``path`` itself excludes it (parents are not looked at)."""
        ignored = False
        for rule in self._rules:
            if (is_dir or not rule.directory_only) and rule.pattern.fullmatch(path):
                ignored = not rule.negate
        return ignored

    def is_ignored(self, path: str, is_dir: bool = False) -> bool:
        """Whether ``path`` is left out, by its own rule or because a parent directory is."""
        parts = [part for part in path.replace("\\", "/").split("/") if part]
        if any(self.matches("/".join(parts[:depth]), True) for depth in range(1, len(parts))):
            return True
        return self.matches("/".join(parts), is_dir)

    def __repr__(self) -> str:
        return f"IgnoreRules(source={self.source!r}, rules={len(self._rules)})"


def _parse_rule(line: str) -> _Rule | None:
    line = _strip_trailing_spaces(line.rstrip("\r\n"))
    if not line or line.startswith("#"):
        return None
    negate = line.startswith("!")
    body = line[1:] if negate else line
    directory_only = body.endswith("/")
    body = body.rstrip("/")
    if not body:
        return None
    anchored = "/" in body  # a leading or middle slash: relative to the top, not at any depth
    regex = _translate(body.lstrip("/"))
    return _Rule(re.compile(regex if anchored else f"(?:.*/)?{regex}"), negate, directory_only)


def _strip_trailing_spaces(line: str) -> str:
    stripped = line.rstrip(" ")
    if stripped.endswith("\\") and len(stripped) < len(line):
        return stripped + " "  # "\ " keeps one escaped space
    return stripped


def _translate(pattern: str) -> str:
    """A glob of ``/``-separated segments as a regex; ``**`` segments span directories."""
    segments = [segment for segment in pattern.split("/") if segment]
    out = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            out.append(".*" if last else "(?:.*/)?")
        else:
            out.append(_translate_segment(segment) + ("" if last else "/"))
    return "".join(out)


def _translate_segment(segment: str) -> str:
    out, index = [], 0
    while index < len(segment):
        char = segment[index]
        end = _class_end(segment, index) if char == "[" else -1
        if char == "\\" and index + 1 < len(segment):
            out.append(re.escape(segment[index + 1]))
            index += 1
        elif char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif end > 0:
            out.append(_translate_class(segment[index + 1 : end]))
            index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


def _class_end(segment: str, start: int) -> int:
    """The index of the ``]`` closing the character class opened at ``start``, or -1."""
    index = start + 1
    if index < len(segment) and segment[index] in "!^":
        index += 1
    if index < len(segment) and segment[index] == "]":
        index += 1  # a leading ] is a literal member
    while index < len(segment) and segment[index] != "]":
        index += 2 if segment[index] == "\\" else 1
    return index if index < len(segment) else -1


def _translate_class(body: str) -> str:
    negate = body[:1] in ("!", "^")
    body = body[1:] if negate else body
    members = "".join("-" if char == "-" else re.escape(char) for char in body.replace("\\", ""))
    return f"[^/{members}]" if negate else f"[{members}]"


# ------------------------------------------------------------------------------------------ snapshots
@dataclass(frozen=True)
class SnapshotFile:
    """One file of a source snapshot: its relative ``/`` path, where it is, its sha256 and size."""

    path: str
    local_path: str
    sha256: str
    size: int


def snapshot_files(source_directory: str | os.PathLike[str]) -> list[SnapshotFile]:
    """The files a snapshot of ``source_directory`` holds, hashed, sorted by relative path.

    Ignore-file rules apply; symlinks are followed while they stay inside the directory and skipped
    (with a log line) when they lead out of it or nowhere. Raises SnapshotException past v1's limits.
    """
    root = os.path.realpath(os.fspath(source_directory))
    if not os.path.isdir(root):
        raise SnapshotException(
            f"cannot snapshot {os.fspath(source_directory)!r}: it is not a directory "
            f"(working directory {os.getcwd()!r}). Pass the folder that holds the step's script."
        )
    rules = IgnoreRules.for_directory(root)
    files = [_hashed(rel, local) for rel, local in _walk(root, root, "", rules, (root,))]
    _check_limits(os.fspath(source_directory), files)
    return sorted(files, key=lambda file: file.path)


def _walk(
    root: str, directory: str, prefix: str, rules: IgnoreRules, chain: tuple[str, ...]
) -> Iterator[tuple[str, str]]:
    """Yield (relative path, local path) of the files under ``directory`` that the rules keep."""
    with os.scandir(directory) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        rel = prefix + entry.name
        kind = _entry_kind(root, entry)
        if kind is None or rules.matches(rel, kind == "dir"):
            continue
        if kind == "file":
            yield rel, entry.path
            continue
        real = os.path.realpath(entry.path)
        if real in chain:  # a symlink back to a directory we are inside: a loop
            log.info("snapshot: not following %s, a symlink to its own parent %s", entry.path, real)
            continue
        yield from _walk(root, entry.path, rel + "/", rules, (*chain, real))


def _entry_kind(root: str, entry: os.DirEntry[str]) -> str | None:
    """``"file"``, ``"dir"``, or None for what a snapshot leaves out (escaping symlinks, sockets...)."""
    if entry.is_symlink():
        target = os.path.realpath(entry.path)
        if not os.path.exists(target) or os.path.commonpath([root, target]) != root:
            log.info("snapshot: skipping symlink %s, which points outside %s (to %s)", entry.path, root, target)
            return None
    if entry.is_dir():
        return "dir"
    return "file" if entry.is_file() else None


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _hashed(rel: str, local: str) -> SnapshotFile:
    try:
        return SnapshotFile(rel, local, file_sha256(local), os.path.getsize(local))
    except OSError as exc:
        raise SnapshotException(
            f"cannot read {local!r} for the source snapshot ({exc.strerror or exc}); fix its permissions "
            "or list it in .amlignore.",
            inner_exception=exc,
        ) from exc


def _check_limits(source: str, files: Sequence[SnapshotFile]) -> None:
    total = sum(file.size for file in files)
    if len(files) <= SNAPSHOT_MAX_FILES and total <= SNAPSHOT_MAX_BYTES:
        return
    largest = ", ".join(f"{f.path} ({f.size / 1e6:.1f} MB)" for f in sorted(files, key=lambda f: -f.size)[:5])
    raise SnapshotException(
        f"the source directory {source!r} holds {len(files)} files, {total / 1e6:.1f} MB, more than a snapshot "
        f"may ({SNAPSHOT_MAX_FILES} files, {SNAPSHOT_MAX_BYTES / 1e6:.0f} MB). Largest: {largest}. List what the "
        "steps do not need (data, virtual environments) in .amlignore there (same syntax as .gitignore).",
        details={"files": len(files), "bytes": total},
    )


# ------------------------------------------------------------------------------------------ errors
_NOT_FOUND: tuple[tuple[str, type[AzureMLException]], ...] = (
    ("/api/datastores", DatastoreNotFoundError),
    ("/api/computes", ComputeTargetNotFoundError),
    ("/api/runs", RunNotFoundError),
    ("/api/experiments", ExperimentNotFoundError),
)
_BY_STATUS: dict[int, type[AzureMLException]] = {409: ConflictError, 410: GoneError}
_ERROR_400: dict[str, type[AzureMLException]] = {"ComputeTargetError": ComputeTargetException}


@dataclass(frozen=True)
class _Failure:
    """An error answer of the service, as read from the response."""

    status: int
    code: str
    message: str
    details: Any
    method: str
    path: str

    @property
    def info(self) -> dict[str, Any]:
        """The ``details`` of the exception raised for it."""
        request = f"{self.method} {self.path}"
        return {"status": self.status, "service_code": self.code, "request": request, "details": self.details}


def _read_failure(response: requests.Response, method: str, path: str) -> _Failure:
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code, message = str(error.get("code") or ""), str(error.get("message") or "")
        return _Failure(response.status_code, code, message, error.get("details"), method, path)
    return _Failure(response.status_code, "", response.text.strip()[:500], None, method, path)


def _error_for(failure: _Failure, endpoint: str, auth_hint: str) -> AzureMLException:
    """The durableml exception for an error answer (the one place statuses become exceptions)."""
    status, message = failure.status, failure.message or f"HTTP {failure.status}"
    if status in (401, 403):
        return AuthenticationException(
            f"The durableml service at {endpoint} refused the request {failure.method} {failure.path} "
            f"(HTTP {status}: {message}). {auth_hint}",
            details=failure.info,
        )
    if status in (404, 405) and not failure.code:
        return ServiceError(
            f"The durableml service at {endpoint} has no route {failure.method} {failure.path} (HTTP {status}): "
            "it is older than this SDK, or the endpoint is not a durableml service. Update the service.",
            details=failure.info,
        )
    if status == 404:
        kind = next((cls for prefix, cls in _NOT_FOUND if failure.path.startswith(prefix)), NotFoundError)
        return kind(message, details=failure.info)
    if status in (400, 413):
        return _client_error(failure, message)
    if status in _BY_STATUS:
        return _BY_STATUS[status](message, details=failure.info)
    return ServiceError(
        f"The durableml service at {endpoint} failed on {failure.method} {failure.path} (HTTP {status}): {message}",
        details=failure.info,
    )


def _client_error(failure: _Failure, message: str) -> AzureMLException:
    """A 400 or 413: the request itself was wrong."""
    if failure.code == "InvalidDocument":
        return _document_error(message, failure.details)
    if failure.code == "NotSupported":
        error = NotSupportedError.__new__(NotSupportedError)  # its constructor composes its own message
        AzureMLException.__init__(error, message, details=failure.info)
        error.feature = message
        return error
    if failure.status == 413 and failure.path.startswith("/api/snapshots"):
        return SnapshotException(f"{message} List large files in .amlignore.", details=failure.info)
    return _ERROR_400.get(failure.code, ValidationError)(message, details=failure.info)


def _document_error(message: str, details: Any) -> DocumentValidationError:
    raw = details.get("issues") if isinstance(details, dict) else details
    issues = [
        Issue(str(item.get("code", "")), str(item.get("message", "")), str(item.get("path", "")))
        for item in (raw if isinstance(raw, list) else [])
        if isinstance(item, dict)
    ]
    summary = re.sub(r"\s*\(\d+ problem\(s\)\):?\s*$", "", message.split("\n", 1)[0])  # the class adds it again
    return DocumentValidationError(summary, issues)


def _refused(exc: BaseException) -> bool:
    """Whether a requests connection error is, underneath, a refused connection."""
    pending: list[BaseException] = [exc]
    visited: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in visited:
            continue
        visited.add(id(current))
        if isinstance(current, ConnectionRefusedError) or type(current).__name__ == "NewConnectionError":
            return True
        linked = (current.__cause__, current.__context__, getattr(current, "reason", None), *current.args)
        pending += [item for item in linked if isinstance(item, BaseException)]
    return False


# ------------------------------------------------------------------------------------------ the client
class HttpServiceClient:
    """The :class:`~durableml.client.ServiceClient` over the durableml HTTP API at ``config.endpoint``.

    ``timeout`` is (connect, read) seconds per request; ``retry_delays`` the pauses before each retry
    of an idempotent request. Use it as a context manager, or call :meth:`close`, to close its
    connections early; they are closed when the client is garbage-collected otherwise.
    """

    def __init__(
        self,
        config: WorkspaceConfig,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry_delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        self.config = config
        self.endpoint = config.endpoint.rstrip("/")
        self.timeout = timeout
        self.retry_delays = tuple(retry_delays)
        self._session: requests.Session | None = None

    def __repr__(self) -> str:
        return f"HttpServiceClient(endpoint={self.endpoint!r})"

    def __enter__(self) -> HttpServiceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections (the client opens new ones if used again)."""
        session, self._session = self._session, None
        if session is not None:
            session.close()

    # ---- transport
    def _session_for_requests(self) -> requests.Session:
        if self._session is None:
            import requests

            session = requests.Session()
            session.headers["User-Agent"] = f"durableml/{__version__}"
            if self.config.key:
                session.headers["x-functions-key"] = self.config.key
            weakref.finalize(self, session.close)  # no unclosed sockets when a workspace is dropped
            self._session = session
        return self._session

    def _request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        retry: bool | None = None,
        stream: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """Send one request (retried when idempotent); return a 2xx response or raise the mapped error."""
        retry = method in ("GET", "PUT", "DELETE") if retry is None else retry
        delays = self.retry_delays if retry else ()
        for attempt in range(len(delays) + 1):
            final = attempt == len(delays)
            response = self._send(operation, method, path, final, retry, stream=stream, **kwargs)
            if response is not None and (response.status_code not in _RETRY_STATUSES or final):
                if response.status_code >= 400:
                    self._raise_for(response, method, path)
                return response
            if response is not None:
                response.close()
            log.debug("retrying %s %s in %.1f s", method, path, delays[attempt])
            time.sleep(delays[attempt])
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _send(
        self, operation: str, method: str, path: str, final: bool, idempotent: bool, **kwargs: Any
    ) -> requests.Response | None:
        """One attempt; None when the connection failed and another attempt follows."""
        import requests

        try:
            return self._session_for_requests().request(method, self.endpoint + path, timeout=self.timeout, **kwargs)
        except requests.ConnectionError as exc:
            if not final:
                return None
            raise self._not_connected(operation, method, path, exc, idempotent) from exc
        except requests.Timeout as exc:
            raise ServiceError(
                f"'{operation}': the durableml service at {self.endpoint} did not answer {method} {path} within "
                f"{self.timeout[1]:.0f} s. {_maybe_done(operation, idempotent)}",
                details={"request": f"{method} {path}"},
            ) from exc
        except requests.RequestException as exc:
            raise ServiceError(f"'{operation}': {method} {path} to {self.endpoint} failed: {exc}") from exc

    def _raise_for(self, response: requests.Response, method: str, path: str) -> NoReturn:
        try:
            failure = _read_failure(response, method, path)
        finally:
            response.close()
        raise _error_for(failure, self.endpoint, self._auth_hint())

    def _not_connected(
        self, operation: str, method: str, path: str, exc: BaseException, idempotent: bool
    ) -> ServiceNotConnectedError:
        refused = _refused(exc)  # then the request never reached the service
        what = "refused the connection" if refused else f"could not be reached ({type(exc).__name__})"
        return ServiceNotConnectedError(
            f"'{operation}' needs the durableml service at {self.endpoint}, which {what} ({method} {path}). "
            f"{self._start_hint()} {_maybe_done(operation, idempotent or refused)}".rstrip(),
            details={"operation": operation, "endpoint": self.endpoint, "request": f"{method} {path}"},
        )

    def _start_hint(self) -> str:
        parts = urlsplit(self.endpoint)
        if parts.hostname in _LOCAL_HOSTS:
            return (
                "Start the local service: `python -m funchost start --app <your durableml checkout> "
                f"--port {parts.port or 80}` (see README, 'Running funchost on any function app'), or point "
                "'endpoint' in config.json / DURABLEML_ENDPOINT at a running service."
            )
        return "Check that the Function App runs and that 'endpoint' in config.json / DURABLEML_ENDPOINT is right."

    def _auth_hint(self) -> str:
        where = f"config.json ({self.config.source})" if self.config.source else "config.json"
        if not self.config.key:
            return f"No function key is configured: set 'key' in {where} or the DURABLEML_KEY environment variable."
        return (
            f"Check the function key: 'key' in {where} or the DURABLEML_KEY environment variable (locally, "
            "functionKeys.default in the funchost state dir's keys.json)."
        )

    def _json(self, operation: str, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(operation, method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise ServiceError(
                f"'{operation}': the durableml service at {self.endpoint} answered {method} {path} with a body "
                f"that is not JSON ({response.text[:200]!r})."
            ) from exc
        finally:
            response.close()

    def _record(self, operation: str, method: str, path: str, **kwargs: Any) -> Record:
        value = self._json(operation, method, path, **kwargs)
        if not isinstance(value, dict):
            raise ServiceError(f"'{operation}': {method} {path} returned {type(value).__name__}, not a JSON object.")
        return value

    def _records(self, operation: str, path: str, **kwargs: Any) -> list[Any]:
        value = self._json(operation, "GET", path, **kwargs)
        if not isinstance(value, list):
            raise ServiceError(f"'{operation}': GET {path} returned {type(value).__name__}, not a JSON array.")
        return value

    def _download(self, operation: str, path: str, destination: str) -> None:
        """Stream ``path``'s bytes into ``destination`` (written whole, or not at all)."""
        import requests

        folder = os.path.dirname(os.path.abspath(destination))
        os.makedirs(folder, exist_ok=True)
        response = self._request(operation, "GET", path, stream=True)
        descriptor, partial = tempfile.mkstemp(dir=folder, prefix=".durableml-download-")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                for chunk in response.iter_content(_CHUNK):
                    handle.write(chunk)
            os.replace(partial, destination)
        except requests.RequestException as exc:
            raise ServiceError(f"'{operation}': the download of {path} from {self.endpoint} broke off: {exc}") from exc
        finally:
            response.close()
            if os.path.exists(partial):
                os.remove(partial)

    # ---- workspace and datastores
    def get_workspace(self) -> Record:
        """The workspace record (name, subscription_id, resource_group, location, default_datastore)."""
        return self._record("get_workspace", "GET", "/api/workspace")

    def list_datastores(self) -> list[Record]:
        """Every datastore record."""
        return self._records("list_datastores", "/api/datastores")

    def get_datastore(self, name: str | None) -> Record:
        """Return the datastore ``name``, or the workspace default when ``name`` is None."""
        if not name:
            name = self._default_datastore_name()
        return self._record("get_datastore", "GET", f"/api/datastores/{_segment(name)}")

    def _default_datastore_name(self) -> str:
        name = self._record("get_datastore", "GET", "/api/workspace").get("default_datastore")
        if not isinstance(name, str) or not name:
            raise ServiceError(f"the workspace record of {self.endpoint} names no 'default_datastore' (got {name!r}).")
        return name

    def register_datastore(self, spec: Mapping[str, Any], overwrite: bool) -> Record:
        """Register (or, with ``overwrite``, replace) the datastore ``spec["name"]``."""
        name = str(spec.get("name") or "")
        if not name:
            raise ValidationError(f"a datastore spec needs a 'name'; got the keys {sorted(spec)}.")
        path = f"/api/datastores/{_segment(name)}"
        return self._record("register_datastore", "PUT", path, json=dict(spec), params=_flag("overwrite", overwrite))

    def set_default_datastore(self, name: str) -> None:
        """Make the datastore ``name`` the workspace default."""
        self._request("set_default_datastore", "POST", f"/api/datastores/{_segment(name)}/default", retry=True).close()

    def upload_files(
        self, datastore: str, files: Sequence[tuple[str, str]], overwrite: bool, show_progress: bool
    ) -> int:
        """Upload ``(local path, path on datastore)`` pairs; return the number of files uploaded."""
        total = len(files)
        _progress(show_progress, f"Uploading an estimated of {total} files")
        for count, (local, remote) in enumerate(files, 1):
            self._upload_file(datastore, local, remote, overwrite)
            _progress(show_progress, f"Uploaded {local}, {count} files out of an estimated total of {total}")
        _progress(show_progress, f"Uploaded {total} files")
        return total

    def _upload_file(self, datastore: str, local: str, remote: str, overwrite: bool) -> None:
        target = remote.replace("\\", "/").lstrip("/")
        if not target or target.endswith("/"):
            raise ValidationError(f"upload_files: {remote!r} is not a file path on the datastore (for {local!r}).")
        try:
            with open(local, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise ValidationError(f"upload_files: cannot read {local!r}: {exc.strerror or exc}.") from exc
        path = f"/api/datastores/{_segment(datastore)}/files/{_file_path(target)}"
        self._request("upload_files", "PUT", path, data=data, params=_flag("overwrite", overwrite)).close()

    def download_files(
        self, datastore: str, prefix: str | None, target_path: str, overwrite: bool, show_progress: bool
    ) -> int:
        """Download blobs under ``prefix`` to ``target_path/<blob path>``; return the file count.

        Files that exist locally are kept (and not counted) unless ``overwrite``.
        """
        names = self._datastore_files(datastore, prefix or "")
        destinations = {name: _destination(target_path, name) for name in names}  # all checked before any write
        _progress(show_progress, f"Downloading {len(names)} files from {datastore}")
        count = 0
        for name, destination in destinations.items():
            if not overwrite and os.path.exists(destination):
                _progress(show_progress, f"Skipping {name}: {destination} exists (overwrite=False)")
                continue
            remote = f"/api/datastores/{_segment(datastore)}/files/{_file_path(name)}"
            self._download("download_files", remote, destination)
            count += 1
            _progress(show_progress, f"Downloaded {name}, {count} files out of an estimated total of {len(names)}")
        return count

    def _datastore_files(self, datastore: str, prefix: str) -> list[str]:
        names = self._records(
            "download_files", f"/api/datastores/{_segment(datastore)}/files", params={"prefix": prefix}
        )
        # Filtered here as well: downloading exactly the prefix asked for must not depend on the server.
        return [str(n) for n in names if str(n).startswith(prefix.lstrip("/")) and not str(n).endswith("/")]

    # ---- compute targets
    def list_compute(self) -> list[Record]:
        """Every compute target record."""
        return self._records("list_compute", "/api/computes")

    def get_compute(self, name: str) -> Record:
        """The compute target ``name`` (ComputeTargetNotFoundError when there is none)."""
        return self._record("get_compute", "GET", f"/api/computes/{_segment(name)}")

    def create_compute(self, name: str, spec: Mapping[str, Any]) -> Record:
        """Create (or update) the compute target ``name`` from ``{"type", ...settings}``."""
        return self._record("create_compute", "PUT", f"/api/computes/{_segment(name)}", json=dict(spec))

    def attach_compute(self, name: str, spec: Mapping[str, Any]) -> Record:
        """Attach an external compute under ``name`` (the same route as create)."""
        return self._record("attach_compute", "PUT", f"/api/computes/{_segment(name)}", json=dict(spec))

    def delete_compute(self, name: str) -> None:
        """Delete (or detach) the compute target ``name``."""
        self._request("delete_compute", "DELETE", f"/api/computes/{_segment(name)}").close()

    # ---- experiments, snapshots, runs
    def list_experiments(self) -> list[Record]:
        """Every experiment record (``{"name", "created"}``)."""
        return self._records("list_experiments", "/api/experiments")

    def get_experiment(self, name: str) -> Record:
        """The experiment ``name``, from the experiment list (the API has no route for one)."""
        for record in self.list_experiments():
            if record.get("name") == name:
                return dict(record)
        raise ExperimentNotFoundError(f"no experiment named {name!r} in the workspace at {self.endpoint}.")

    def upload_snapshot(self, source_directory: str) -> str:
        """Upload a source directory (honouring .amlignore/.gitignore); return the snapshot id."""
        files = snapshot_files(source_directory)
        hashes = sorted({file.sha256 for file in files})
        answer = self._record("upload_snapshot", "POST", "/api/snapshots/missing", json={"hashes": hashes}, retry=True)
        missing = set(answer.get("missing") or [])
        for file in {file.sha256: file for file in files if file.sha256 in missing}.values():
            self._upload_snapshot_file(file)
        manifest = {"files": {file.path: file.sha256 for file in files}}
        created = self._record("upload_snapshot", "POST", "/api/snapshots", json=manifest, retry=True)
        return str(created["id"])

    def _upload_snapshot_file(self, file: SnapshotFile) -> None:
        try:
            with open(file.local_path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise SnapshotException(f"cannot read {file.local_path!r} for the snapshot: {exc}") from exc
        if hashlib.sha256(data).hexdigest() != file.sha256:
            raise SnapshotException(
                f"{file.local_path!r} changed while it was being snapshotted; submit again once it is written."
            )
        self._request("upload_snapshot", "PUT", f"/api/snapshots/files/{file.sha256}", data=data).close()

    def submit_pipeline(
        self,
        document: Mapping[str, Any],
        experiment: str,
        parameters: Mapping[str, Any],
        *,
        regenerate_outputs: bool,
        continue_on_step_failure: bool,
        tags: Mapping[str, str],
    ) -> Record:
        """Submit a pipeline document as a run of ``experiment``; never retried."""
        body = {
            "document": dict(document),
            "parameters": dict(parameters),
            "tags": dict(tags),
            "continueOnStepFailure": bool(continue_on_step_failure),
            "regenerateOutputs": bool(regenerate_outputs),
        }
        path = f"/api/experiments/{_segment(experiment)}/runs"
        return self._record("submit_pipeline", "POST", path, json=body, retry=False)

    def get_run(self, run_id: str) -> Record:
        """The run record ``run_id`` (a pipeline run or a step run)."""
        return self._record("get_run", "GET", f"/api/runs/{_segment(run_id)}")

    def list_runs(self, experiment: str) -> list[Record]:
        """The pipeline runs of ``experiment``, newest first."""
        return self._records("list_runs", f"/api/experiments/{_segment(experiment)}/runs")

    def list_step_runs(self, run_id: str) -> list[Record]:
        """The step runs of the pipeline run ``run_id``."""
        return self._records("list_step_runs", f"/api/runs/{_segment(run_id)}/steps")

    def cancel_run(self, run_id: str) -> None:
        """Ask for the run to be canceled (repeating the request is harmless)."""
        self._request("cancel_run", "POST", f"/api/runs/{_segment(run_id)}/cancel", retry=True).close()

    def get_run_log(self, run_id: str, offset: int) -> str:
        """The run's driver log from character ``offset``."""
        path = f"/api/runs/{_segment(run_id)}/logs"
        response = self._request("get_run_log", "GET", path, params={"offset": int(offset)})
        try:
            return response.content.decode("utf-8", errors="replace")
        finally:
            response.close()

    def get_run_metrics(self, run_id: str) -> dict[str, Any]:
        """The metrics logged by the run, by name."""
        return self._record("get_run_metrics", "GET", f"/api/runs/{_segment(run_id)}/metrics")

    def log_metrics(self, run_id: str, metrics: Sequence[Mapping[str, Any]]) -> None:
        """Record metric entries (``{"kind", "name", "value", "description"}``) for the run; never retried."""
        path = f"/api/runs/{_segment(run_id)}/metrics"
        body = {"metrics": [dict(metric) for metric in metrics]}
        self._request("log_metrics", "POST", path, json=body, retry=False).close()

    def list_run_files(self, run_id: str) -> list[str]:
        """The names of the files the run captured (``outputs/...``, ``logs/...``)."""
        return [str(name) for name in self._records("list_run_files", f"/api/runs/{_segment(run_id)}/files")]

    def download_run_file(self, run_id: str, name: str, target_path: str) -> None:
        """Download the captured file ``name`` to ``target_path`` (into it, when it is a directory)."""
        if os.path.isdir(target_path):
            target_path = os.path.join(target_path, os.path.basename(name))
        path = f"/api/runs/{_segment(run_id)}/files/{_file_path(name.lstrip('/'))}"
        self._download("download_run_file", path, target_path)

    # ---- datasets, models, published pipelines, endpoints, schedules, drafts: no routes yet
    def list_datasets(self) -> list[Record]:
        """Not available yet: the API has no dataset registry."""
        raise _unavailable("the dataset registry (Dataset.get_by_name, ws.datasets)")

    def get_dataset(self, name: str | None = None, version: str | int | None = None, id: str | None = None) -> Record:
        """Not available yet: the API has no dataset registry."""
        raise _unavailable("the dataset registry (Dataset.get_by_name, ws.datasets)")

    def register_dataset(
        self,
        definition: Mapping[str, Any],
        name: str,
        description: str | None,
        tags: Mapping[str, str] | None,
        create_new_version: bool,
    ) -> Record:
        """Not available yet: the API has no dataset registry."""
        raise _unavailable("registering datasets (Dataset.register)")

    def list_dataset_files(self, definition: Mapping[str, Any]) -> list[str]:
        """Not available yet: datasets are read inside pipeline steps only."""
        raise _unavailable("reading a dataset outside a pipeline step (FileDataset.to_path)")

    def download_dataset(self, definition: Mapping[str, Any], target_path: str, overwrite: bool) -> list[str]:
        """Not available yet: datasets are read inside pipeline steps only."""
        raise _unavailable("reading a dataset outside a pipeline step (download, to_pandas_dataframe)")

    def register_model(self, spec: Mapping[str, Any], files: Sequence[tuple[str, str]]) -> Record:
        """Not available yet: the API has no model registry."""
        raise _unavailable("the model registry (Model.register, Run.register_model)")

    def get_model(self, name: str | None, version: int | None, id: str | None) -> Record:
        """Not available yet: the API has no model registry."""
        raise _unavailable("the model registry (Model(ws, name))")

    def list_models(self, name: str | None, tags: Sequence[Any] | None) -> list[Record]:
        """Not available yet: the API has no model registry."""
        raise _unavailable("the model registry (Model.list)")

    def download_model(self, model_id: str, target_path: str) -> str:
        """Not available yet: the API has no model registry."""
        raise _unavailable("the model registry (Model.download)")

    def publish_pipeline(self, document: Mapping[str, Any] | None, spec: Mapping[str, Any]) -> Record:
        """Not available yet: publishing pipelines."""
        raise _unavailable("publishing pipelines")

    def get_published_pipeline(self, id: str) -> Record:
        """Not available yet: publishing pipelines."""
        raise _unavailable("publishing pipelines")

    def list_published_pipelines(self, active_only: bool) -> list[Record]:
        """Not available yet: publishing pipelines."""
        raise _unavailable("publishing pipelines")

    def update_published_pipeline(self, id: str, changes: Mapping[str, Any]) -> Record:
        """Not available yet: publishing pipelines."""
        raise _unavailable("publishing pipelines")

    def submit_published_pipeline(self, id: str, experiment: str, parameters: Mapping[str, Any]) -> Record:
        """Not available yet: publishing pipelines."""
        raise _unavailable("publishing pipelines")

    def create_pipeline_endpoint(self, spec: Mapping[str, Any]) -> Record:
        """Not available yet: pipeline endpoints."""
        raise _unavailable("pipeline endpoints")

    def get_pipeline_endpoint(self, id: str | None, name: str | None) -> Record:
        """Not available yet: pipeline endpoints."""
        raise _unavailable("pipeline endpoints")

    def list_pipeline_endpoints(self, active_only: bool) -> list[Record]:
        """Not available yet: pipeline endpoints."""
        raise _unavailable("pipeline endpoints")

    def update_pipeline_endpoint(self, id: str, changes: Mapping[str, Any]) -> Record:
        """Not available yet: pipeline endpoints."""
        raise _unavailable("pipeline endpoints")

    def submit_pipeline_endpoint(
        self, id: str, experiment: str, version: str | None, parameters: Mapping[str, Any]
    ) -> Record:
        """Not available yet: pipeline endpoints."""
        raise _unavailable("pipeline endpoints")

    def create_schedule(self, spec: Mapping[str, Any]) -> Record:
        """Not available yet: pipeline schedules."""
        raise _unavailable("pipeline schedules")

    def get_schedule(self, id: str) -> Record:
        """Not available yet: pipeline schedules."""
        raise _unavailable("pipeline schedules")

    def list_schedules(self, filters: Mapping[str, Any]) -> list[Record]:
        """Not available yet: pipeline schedules."""
        raise _unavailable("pipeline schedules")

    def update_schedule(self, id: str, changes: Mapping[str, Any]) -> Record:
        """Not available yet: pipeline schedules."""
        raise _unavailable("pipeline schedules")

    def create_draft(self, document: Mapping[str, Any], spec: Mapping[str, Any]) -> Record:
        """Not available yet: pipeline drafts."""
        raise _unavailable("pipeline drafts")

    def get_draft(self, id: str) -> Record:
        """Not available yet: pipeline drafts."""
        raise _unavailable("pipeline drafts")

    def list_drafts(self, tags: Mapping[str, str] | None) -> list[Record]:
        """Not available yet: pipeline drafts."""
        raise _unavailable("pipeline drafts")

    def update_draft(self, id: str, document: Mapping[str, Any] | None, changes: Mapping[str, Any]) -> Record:
        """Not available yet: pipeline drafts."""
        raise _unavailable("pipeline drafts")

    def delete_draft(self, id: str) -> None:
        """Not available yet: pipeline drafts."""
        raise _unavailable("pipeline drafts")

    def submit_draft(self, id: str) -> Record:
        """Not available yet: pipeline drafts."""
        raise _unavailable("pipeline drafts")

    def publish_draft(self, id: str) -> Record:
        """Not available yet: pipeline drafts."""
        raise _unavailable("pipeline drafts")


# ------------------------------------------------------------------------------------------ helpers
def _unavailable(feature: str) -> NotSupportedError:
    return NotSupportedError(
        feature,
        "It is not available yet in durableml: the service's HTTP API has no route for it "
        "(see 'The HTTP API' in docs/design/pipeline-runtime.md).",
    )


def _segment(value: str) -> str:
    """One path segment of a route (a name or an id), percent-encoded, slashes included."""
    if not value:
        raise ValidationError("a name or id in a service route must not be empty.")
    return quote(value, safe="")


def _file_path(path: str) -> str:
    """A ``{*path}`` route tail: percent-encoded, slashes kept."""
    return quote(path, safe="/")


def _flag(name: str, value: bool) -> dict[str, str]:
    return {name: "true" if value else "false"}


def _destination(target_path: str, name: str) -> str:
    """Where the blob ``name`` lands under ``target_path``; names that would leave it are refused."""
    parts = name.split("/")
    if name.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ServiceError(f"refusing to download the blob {name!r}: its name would leave {target_path!r}.")
    return os.path.join(target_path, *parts)


def _maybe_done(operation: str, safe_to_repeat: bool) -> str:
    """For a request that must not be repeated blindly: say that it may have been carried out."""
    if safe_to_repeat:
        return ""
    check = " (Experiment(ws, name).get_runs() lists the runs submitted)" if operation == "submit_pipeline" else ""
    return f"The request may have reached the service: check its effect before repeating it{check}."


def _progress(show: bool, message: str) -> None:
    if show:
        print(message, file=sys.stdout, flush=True)
