"""The one place where the service's error answers become :mod:`durableml.exceptions`.

The service answers errors with ``{"error": {"code", "message", "details"}}``; :func:`error_for` maps
them (connection failures are mapped by the transport, :mod:`durableml._http_transport`)::

    400  ValidationError (DocumentValidationError for InvalidDocument, NotSupportedError for NotSupported)
    401/403  AuthenticationException           check the key in config.json / DURABLEML_KEY
    404  the NotFoundError of the route's resource (DatastoreNotFoundError, ComputeTargetNotFoundError,
         RunNotFoundError, ExperimentNotFoundError, ModelNotFoundException for models, PipelineNotFoundError for
         published pipelines, endpoints, drafts and schedules); a 404 without an error body is a missing route
    409  ConflictError      410  GoneError      413  ValidationError (SnapshotException for snapshots)
    5xx  ServiceError       connection failures  ServiceNotConnectedError (says how to start the service)

:func:`v1_lookup_error` restates a lookup's not-found error in v1's words (the SDK lookups call it; the
table is in :mod:`durableml.exceptions`), and, when the caller has imported ``msrest``, makes it an
``msrest.exceptions.HttpOperationError`` too: v1 code catches that around ``Datastore.get``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from durableml.exceptions import (
    AuthenticationException,
    AzureMLException,
    ComputeTargetException,
    ComputeTargetNotFoundError,
    ConflictError,
    DatasetNotFoundError,
    DatastoreNotFoundError,
    DocumentValidationError,
    ExperimentNotFoundError,
    GoneError,
    Issue,
    ModelNotFoundException,
    NotFoundError,
    NotSupportedError,
    PipelineNotFoundError,
    RunNotFoundError,
    ServiceError,
    SnapshotException,
    ValidationError,
)

if TYPE_CHECKING:
    import requests

__all__ = ["Failure", "read_failure", "error_for", "connection_refused", "v1_lookup_error"]

_E = TypeVar("_E", bound=AzureMLException)

_NOT_FOUND: tuple[tuple[str, type[AzureMLException]], ...] = (
    ("/api/datastores", DatastoreNotFoundError),
    ("/api/computes", ComputeTargetNotFoundError),
    ("/api/runs", RunNotFoundError),
    ("/api/experiments", ExperimentNotFoundError),
    ("/api/datasets", DatasetNotFoundError),
    ("/api/dataset-files", DatasetNotFoundError),
    ("/api/published-pipelines", PipelineNotFoundError),
    ("/api/pipeline-endpoints", PipelineNotFoundError),
    ("/api/pipeline-drafts", PipelineNotFoundError),
    ("/api/pipelines/", PipelineNotFoundError),
    ("/api/schedules", PipelineNotFoundError),
    ("/api/models", ModelNotFoundException),
    ("/api/model-files", ModelNotFoundException),
)
_BY_STATUS: dict[int, type[AzureMLException]] = {409: ConflictError, 410: GoneError}
_ERROR_400: dict[str, type[AzureMLException]] = {"ComputeTargetError": ComputeTargetException}


@dataclass(frozen=True)
class Failure:
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


def read_failure(response: requests.Response, method: str, path: str) -> Failure:
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code, message = str(error.get("code") or ""), str(error.get("message") or "")
        return Failure(response.status_code, code, message, error.get("details"), method, path)
    return Failure(response.status_code, "", response.text.strip()[:500], None, method, path)


def error_for(failure: Failure, endpoint: str, auth_hint: str) -> AzureMLException:
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


def _client_error(failure: Failure, message: str) -> AzureMLException:
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


def connection_refused(exc: BaseException) -> bool:
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


@dataclass
class _NotFoundAnswer:
    """What ``HttpOperationError.response`` holds for v1 code that reads it (``e.response.status_code``)."""

    text: str
    status_code: int = 404
    reason: str = "Not Found"
    headers: dict[str, str] = field(default_factory=dict)


_WITH_HTTP_OPERATION_ERROR: dict[tuple[type, type], type] = {}


def v1_lookup_error(error: _E, v1_message: str, *, http_operation_error: bool = False) -> _E:
    """``error`` (a lookup's not-found error) restated for v1 code: same class and details, ``v1_message``
    (v1's words, which v1 code tests with ``in str(e)``) then durableml's own message.

    ``http_operation_error``: the lookup raised an ``msrest.exceptions.HttpOperationError`` in v1. When the
    process has imported ``msrest.exceptions`` (v1 code that catches it imports it first), the error returned
    is also an instance of that class, with ``response.status_code`` 404. msrest itself is never imported here.
    """
    cls: type = type(error)
    base = getattr(sys.modules.get("msrest.exceptions"), "HttpOperationError", None)
    wanted = http_operation_error and isinstance(base, type) and issubclass(base, Exception)
    if wanted and not isinstance(error, cast(type, base)):
        key = (cls, cast(type, base))
        if key not in _WITH_HTTP_OPERATION_ERROR:
            doc = f"{cls.__name__}, also msrest's HttpOperationError (v1 code catches that)."
            _WITH_HTTP_OPERATION_ERROR[key] = type(cls.__name__, key, {"__module__": cls.__module__, "__doc__": doc})
        cls = _WITH_HTTP_OPERATION_ERROR[key]
    message = ": ".join(part for part in (v1_message, error.message) if part)
    restated = cast(_E, cls.__new__(cls, message))
    AzureMLException.__init__(restated, message, details=error.details, inner_exception=error.inner_exception)
    if wanted:
        restated.response = _NotFoundAnswer(message)  # type: ignore[attr-defined]
        restated.error = None  # type: ignore[attr-defined]
    for name, value in vars(error).items():  # class-specific attributes (WebserviceException.status_code...)
        if name not in vars(restated):
            setattr(restated, name, value)
    return restated
