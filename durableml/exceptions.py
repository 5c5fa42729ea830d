"""Every error durableml raises on purpose, in one tree.

The names of Azure ML SDK v1 (``azureml.exceptions``) are kept, so that user code which catches
``UserErrorException`` or ``ComputeTargetException`` keeps working. Errors that describe a kind of
mistake also inherit the matching builtin, so callers can catch either (``ValidationError`` is a
``ValueError``, ``NotFoundError`` a ``LookupError``, ``NotSupportedError`` a ``NotImplementedError``)::

    AzureMLException                         base of everything durableml raises (v1 name)
    ├── UserErrorException                   the caller asked for something wrong (v1 name)
    │   ├── ValidationError          +ValueError        a value is malformed or inconsistent
    │   │   ├── InvalidNameError                        a name breaks the naming rules
    │   │   ├── PipelineValidationError                 the pipeline graph is broken (.issues)
    │   │   └── DocumentValidationError                 a pipeline document is malformed (.issues)
    │   ├── NotFoundError            +LookupError       a named resource does not exist
    │   │   ├── DatastoreNotFoundError
    │   │   ├── DatasetNotFoundError
    │   │   ├── ExperimentNotFoundError
    │   │   ├── RunNotFoundError
    │   │   ├── ModelNotFoundException   +WebserviceException  (v1 name)
    │   │   └── PipelineNotFoundError                   published pipelines, endpoints, drafts
    │   ├── ConflictError                               the resource already exists / is in use
    │   ├── GoneError                                   the resource was disabled or archived
    │   ├── ConfigurationError                          config.json / environment is unusable
    │   └── NotSupportedError        +NotImplementedError  a v1 feature durableml lacks
    │       └── UnsupportedAttributeError +AttributeError  ... reached through an attribute
    ├── ComputeTargetException                          compute targets (v1 name)
    │   └── ComputeTargetNotFoundError +LookupError     no compute target of that name
    ├── AuthenticationException      +PermissionError   credentials missing or refused (v1 name)
    ├── ExperimentExecutionException                    a run could not be started (v1 name)
    │   └── ActivityFailedException                     a run finished in a failed state (v1 name)
    ├── SnapshotException                               source snapshots (v1 name)
    ├── WebserviceException                             the model registry (v1 name)
    └── ServiceError                 +RuntimeError      talking to the durableml service failed
        ├── ServiceNotConnectedError +ConnectionError   no service client is configured
        └── StorageUnavailableError  +ConnectionError   the workspace's storage did not answer (transient)

Every error carries a machine-readable ``code`` (a class attribute) and ``details`` (a dict). The
HTTP layer maps error types to status codes in one place; this module knows nothing about HTTP.

**Lookups raise what v1 code catches.** A lookup of something missing raises the class v1 raised (or a
subclass of it), with v1's message first, then durableml's hint (``durableml._http_errors.v1_lookup_error``):

=====================================  ==============================  ==========================================
lookup                                 raises (catchable as)           message starts with (v1's words)
=====================================  ==============================  ==========================================
``Datastore.get`` / ``Datastore()``    DatastoreNotFoundError          ``Could not find datastore: <name>``
                                       (UserErrorException; and
                                       ``msrest...HttpOperationError``
                                       when msrest is imported)
``ComputeTarget(ws, name)``,           ComputeTargetNotFoundError      ``ComputeTargetNotFound: Compute Target
``AmlCompute(ws, name)``               (ComputeTargetException)        with name <name> not found in provided
                                                                       workspace``
``Dataset.get_by_name``                DatasetNotFoundError            ``Cannot find dataset registered with name
                                       (UserErrorException)            "<name>"[ (version: <v>)] in the workspace.``
``Dataset.get_by_id``                  DatasetNotFoundError            ``Cannot find dataset with id "<id>" in the
                                                                       workspace.``
``Model(ws, name=..., version=...)``   ModelNotFoundException          ``ModelNotFound: Model with name <name>[,
                                       (WebserviceException)           version <v>] not found in provided
                                                                       workspace``
``PipelineRun(experiment, run_id)``    RunNotFoundError (at the first  ``Run <run_id> was not found``
                                       use, not at construction)
``PublishedPipeline.get``,             PipelineNotFoundError           durableml's message (v1's service
``PipelineEndpoint.get``,              (UserErrorException; and        answered ``ErrorResponseException``,
``Schedule.get``                       ``HttpOperationError`` when     an ``HttpOperationError``)
                                       msrest is imported)
``Experiment(ws, name)``               nothing: it is created, as v1
=====================================  ==============================  ==========================================

msrest is not a dependency. v1 code that catches ``msrest.exceptions.HttpOperationError`` imports msrest
first; when it has, the errors above are also instances of that class (``e.response.status_code`` is 404).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AzureMLException",
    "UserErrorException",
    "ValidationError",
    "InvalidNameError",
    "Issue",
    "PipelineValidationError",
    "DocumentValidationError",
    "NotFoundError",
    "DatastoreNotFoundError",
    "DatasetNotFoundError",
    "ExperimentNotFoundError",
    "RunNotFoundError",
    "ModelNotFoundException",
    "PipelineNotFoundError",
    "ConflictError",
    "GoneError",
    "ConfigurationError",
    "NotSupportedError",
    "UnsupportedAttributeError",
    "ComputeTargetException",
    "ComputeTargetNotFoundError",
    "AuthenticationException",
    "ExperimentExecutionException",
    "ActivityFailedException",
    "SnapshotException",
    "WebserviceException",
    "ServiceError",
    "ServiceNotConnectedError",
    "StorageUnavailableError",
]


class AzureMLException(Exception):
    """Base class of every error durableml raises on purpose (named as in Azure ML SDK v1).

    ``message`` says what was wrong, with the offending value, and what to do next.
    ``inner_exception`` mirrors v1's keyword of the same name.
    """

    code = "Error"

    def __init__(
        self,
        message: str,
        *,
        details: Mapping[str, Any] | None = None,
        inner_exception: BaseException | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        self.inner_exception = inner_exception

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON error body ``{"code", "message", "details"}`` for this error."""
        return {"code": self.code, "message": self.message, "details": self.details}


class UserErrorException(AzureMLException):
    """The caller asked for something that cannot be done as asked (v1 name)."""

    code = "UserError"


class ValidationError(UserErrorException, ValueError):
    """A value is malformed, out of range or inconsistent with another value."""

    code = "ValidationError"


class InvalidNameError(ValidationError):
    """A name (of a step, output, parameter, experiment...) breaks the naming rules."""

    code = "InvalidName"


@dataclass(frozen=True)
class Issue:
    """One problem found while validating a pipeline or a pipeline document.

    ``path`` locates the problem (for example ``steps[2].inputs.raw``), ``code`` classifies it
    (``cycle``, ``unbound_input``, ``duplicate_output`` ...), ``message`` explains it.
    """

    code: str
    message: str
    path: str = ""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def to_dict(self) -> dict[str, str]:
        """Return the issue as a JSON-able dict."""
        return {"code": self.code, "message": self.message, "path": self.path}


class _IssuesError(ValidationError):
    """A validation error that carries every issue found, not just the first."""

    def __init__(self, summary: str, issues: Sequence[Issue]) -> None:
        self.issues: list[Issue] = list(issues)
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        super().__init__(
            f"{summary} ({len(self.issues)} problem(s)):\n{lines}",
            details={"issues": [issue.to_dict() for issue in self.issues]},
        )


class PipelineValidationError(_IssuesError):
    """The pipeline graph is broken: a cycle, an unbound input, duplicate outputs, bad names."""

    code = "PipelineValidationError"


class DocumentValidationError(_IssuesError):
    """A pipeline document does not follow the document schema or references things it lacks."""

    code = "InvalidPipelineDocument"


class NotFoundError(UserErrorException, LookupError):
    """A named resource does not exist."""

    code = "NotFound"


class DatastoreNotFoundError(NotFoundError):
    """No datastore of that name is registered in the workspace."""

    code = "DatastoreNotFound"


class DatasetNotFoundError(NotFoundError):
    """No dataset of that name, version or id is registered in the workspace."""

    code = "DatasetNotFound"


class ExperimentNotFoundError(NotFoundError):
    """No experiment of that name exists in the workspace."""

    code = "ExperimentNotFound"


class RunNotFoundError(NotFoundError):
    """No run of that id exists."""

    code = "RunNotFound"


class WebserviceException(AzureMLException):
    """A request to the model registry failed (v1 name); ``status_code`` is the HTTP status when there was one.

    v1's ``Model(ws, name)`` raised it for a model that is not registered (``ModelNotFound: ...``).
    """

    code = "WebserviceError"

    def __init__(
        self,
        message: str,
        status_code: int | None = None,
        *,
        details: Mapping[str, Any] | None = None,
        inner_exception: BaseException | None = None,
    ) -> None:
        super().__init__(message, details=details, inner_exception=inner_exception)
        self.status_code = status_code


class ModelNotFoundException(NotFoundError, WebserviceException):
    """No model of that name or version is registered, or no model files were found (v1 name).

    Also a ``WebserviceException``: what v1's ``Model(ws, name)`` raised for a model that is not registered.
    """

    code = "ModelNotFound"


class PipelineNotFoundError(NotFoundError):
    """No published pipeline, pipeline endpoint, draft or schedule of that id or name exists."""

    code = "PipelineNotFound"


class ConflictError(UserErrorException):
    """The resource already exists or is in a state that forbids the operation."""

    code = "Conflict"


class GoneError(UserErrorException):
    """The resource was disabled or archived and no longer accepts the operation."""

    code = "Gone"


class ConfigurationError(UserErrorException):
    """config.json or the environment that configures durableml is missing or malformed."""

    code = "ConfigurationError"


class NotSupportedError(UserErrorException, NotImplementedError):
    """A feature of Azure ML SDK v1 that durableml does not implement (yet)."""

    code = "NotSupported"

    def __init__(self, name: str, hint: str = "") -> None:
        message = f"{name} is not supported by durableml yet."
        if hint:
            message = f"{message} {hint}"
        super().__init__(message, details={"feature": name})
        self.feature = name


class UnsupportedAttributeError(NotSupportedError, AttributeError):
    """An unsupported v1 feature reached through an attribute (so ``hasattr`` answers False)."""


class ComputeTargetException(AzureMLException):
    """A compute target is missing, misconfigured or failed to provision (v1 name)."""

    code = "ComputeTargetError"


class ComputeTargetNotFoundError(ComputeTargetException, LookupError):
    """No compute target of that name exists in the workspace.

    v1 user code relies on catching ``ComputeTargetException`` here to reach ``create``/``attach``.
    """

    code = "ComputeTargetNotFound"


class AuthenticationException(AzureMLException, PermissionError):
    """Credentials are missing, expired or refused by the service (v1 name)."""

    code = "AuthenticationError"


class ExperimentExecutionException(AzureMLException):
    """A run could not be started or tracked (v1 name)."""

    code = "ExperimentExecutionError"


class ActivityFailedException(ExperimentExecutionException):
    """A run finished in the Failed state; ``details`` holds the run id and its error (v1 name)."""

    code = "ActivityFailed"


class SnapshotException(AzureMLException):
    """A source directory could not be snapshotted (too big, unreadable files) (v1 name)."""

    code = "SnapshotError"


class ServiceError(AzureMLException, RuntimeError):
    """Talking to the durableml service failed."""

    code = "ServiceError"


class ServiceNotConnectedError(ServiceError, ConnectionError):
    """The operation needs the durableml service, and no service client is configured."""

    code = "ServiceNotConnected"


class StorageUnavailableError(ServiceError, ConnectionError):
    """The workspace's storage did not answer (down, restarting, unreachable): a transient failure, worth retrying.

    Its class name is what the orchestrations look for in an activity's failure (``durableml.service.outages``).
    """

    code = "StorageUnavailable"
