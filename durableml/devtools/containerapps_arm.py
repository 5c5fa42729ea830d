"""A loopback Azure Resource Manager server for Container Apps jobs: the part of ARM the Container Apps backend
(durableml/compute/containerapps) calls, for tests and local development. No Docker: an execution's container is
a local process.

It answers, for the jobs it was given (:class:`JobDefinition`), at ``http://127.0.0.1:<port>``:

* ``GET    .../providers/Microsoft.App/jobs/<job>``                              the job (its container, secrets' names)
* ``POST   .../jobs/<job>/start``                                                202 + ``Location`` (an ARM long-running
  operation, which the SDK polls) whose result is the new execution's ``{"id", "name"}``
* ``GET    .../jobs/<job>/executions`` and ``.../executions/<name>``             ``JobExecution`` documents
* ``POST   .../jobs/<job>/executions/<name>/stop``                               202 + ``Location``; SIGTERM, then
  SIGKILL after the grace period
* ``GET    /msi/token``                                                          an App Service managed identity
  endpoint (``IDENTITY_ENDPOINT`` / ``IDENTITY_HEADER``), so a client using ``ManagedIdentityCredential`` gets the
  server's token

Every ARM request needs ``Authorization: Bearer <the server's token>`` and an ``api-version``; a start's body is
checked against the management client's own models (``azure.mgmt.appcontainers.models.JobExecutionTemplate`` and
what it contains): unknown or read-only fields, wrong types, an environment variable with both or neither of
``value`` and ``secretRef``, or a ``secretRef`` that names no secret of the job are refused with ARM's error shape
(``{"error": {"code", "message"}}``, 400).

An execution runs the job's container command as a local process: the command the image's entrypoint runs
(:func:`dockerfile_entrypoint` reads the repository Dockerfile's ``ENTRYPOINT``, with ``python`` being this
interpreter), with the execution template's environment (``secretRef`` entries resolved from the job's secrets,
as Container Apps does) over a small base environment. Its status: Running while the process runs, then Succeeded
(exit 0), Failed, or Stopped (after a stop).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import typing
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

__all__ = ["ArmError", "ContainerAppsArmServer", "JobDefinition", "dockerfile_entrypoint", "validate_model"]

_BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")
_JOBS = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.App/jobs/(?P<job>[^/]+)"
    r"(?P<rest>/.*)?$",
    re.IGNORECASE,
)
_OPERATION = re.compile(
    r"^/subscriptions/[^/]+/providers/Microsoft\.App/locations/[^/]+/containerappsjobOperationResults/(?P<op>[0-9a-f-]+)$"
)


class ArmError(Exception):
    """An ARM error response: ``status`` and ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def dockerfile_entrypoint(dockerfile: Path | str, python: str = sys.executable) -> list[str]:
    """The exec-form ``ENTRYPOINT`` of ``dockerfile`` (its last one), with ``python`` as ``python``."""
    found: Optional[list[str]] = None
    for line in Path(dockerfile).read_text(encoding="utf-8").splitlines():
        if line.strip().upper().startswith("ENTRYPOINT"):
            found = [str(part) for part in json.loads(line.strip()[len("ENTRYPOINT") :].strip())]
    if not found:
        raise ValueError(f"{dockerfile} has no exec-form ENTRYPOINT")
    return [python if found[0] in ("python", "python3") else found[0], *found[1:]]


def validate_model(model: type, body: Any, where: str = "") -> None:
    """Check JSON ``body`` against the management client's model class ``model``: only its writable fields, each
    of its declared type (nested models, lists, strings, numbers). Raises :class:`ArmError` (400)."""
    from azure.mgmt.appcontainers import models as models_module

    if not isinstance(body, dict):
        raise ArmError(400, "InvalidRequestContent", f"{where or 'the body'} must be an object")
    fields: dict[str, Any] = model()._attr_to_rest_field
    hints = typing.get_type_hints(model, localns={"_models": models_module})
    by_rest = {f._rest_name: (attr, f) for attr, f in fields.items()}
    for key, value in body.items():
        path = f"{where}.{key}" if where else key
        if key not in by_rest:
            raise ArmError(400, "InvalidRequestContent", f"unknown field '{path}' in {model.__name__}")
        attr, rest_field = by_rest[key]
        if list(getattr(rest_field, "_visibility", None) or []) == ["read"]:
            raise ArmError(400, "InvalidRequestContent", f"'{path}' is read-only")
        if value is not None:
            _validate_value(hints[attr], value, path)


def _validate_value(hint: Any, value: Any, path: str) -> None:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union:
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                _validate_value(option, value, path)
                return
            except ArmError as exc:
                errors.append(exc.message)
        raise ArmError(400, "InvalidRequestContent", errors[0] if errors else f"'{path}' has the wrong type")
    if origin is list:
        if not isinstance(value, list):
            raise ArmError(400, "InvalidRequestContent", f"'{path}' must be an array")
        for i, item in enumerate(value):
            _validate_value(args[0], item, f"{path}[{i}]")
        return
    if isinstance(hint, type) and hasattr(hint, "_attr_to_rest_field") or _is_model(hint):
        validate_model(hint, value, path)
        return
    expected: Any = {str: str, float: (int, float), int: int, bool: bool}.get(hint)
    if expected is not None and (not isinstance(value, expected) or isinstance(value, bool) and hint is not bool):
        raise ArmError(400, "InvalidRequestContent", f"'{path}' must be of type {hint.__name__}")


def _is_model(hint: Any) -> bool:
    try:
        from azure.mgmt.appcontainers._utils.model_base import Model
    except ImportError:  # pragma: no cover - a different SDK layout
        return False
    return isinstance(hint, type) and issubclass(hint, Model)


@dataclass
class JobDefinition:
    """A manually triggered Container Apps job: its container and secrets (values stay in this server)."""

    subscription_id: str
    resource_group: str
    name: str
    image: str
    command: list[str]
    container_name: str = "step-runner"
    env: list[dict[str, str]] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)
    location: str = "westeurope"
    cpu: float = 1.0
    memory: str = "2Gi"
    workdir: Optional[Path] = None

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.App/jobs/{self.name}"
        )

    def document(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": "Microsoft.App/jobs",
            "location": self.location,
            "properties": {
                "provisioningState": "Succeeded",
                "configuration": {
                    "triggerType": "Manual",
                    "replicaTimeout": 86400,
                    "replicaRetryLimit": 0,
                    "manualTriggerConfig": {"parallelism": 1, "replicaCompletionCount": 1},
                    "secrets": [{"name": name} for name in sorted(self.secrets)],
                },
                "template": {
                    "containers": [
                        {
                            "name": self.container_name,
                            "image": self.image,
                            "env": list(self.env),
                            "resources": {"cpu": self.cpu, "memory": self.memory},
                        }
                    ]
                },
            },
        }


@dataclass
class _Execution:
    job: JobDefinition
    name: str
    template: dict[str, Any]
    process: subprocess.Popen[bytes]
    started: str
    ended: Optional[str] = None
    stopped: bool = False
    log: Optional[Path] = None

    def status(self) -> str:
        code = self.process.poll()
        if code is None:
            return "Running"
        if self.ended is None:
            self.ended = _now()
        return "Stopped" if self.stopped else "Succeeded" if code == 0 else "Failed"

    def document(self) -> dict[str, Any]:
        status = self.status()
        props: dict[str, Any] = {"status": status, "startTime": self.started, "template": self.template}
        if status != "Running":
            props["endTime"] = self.ended
        return {
            "id": f"{self.job.id}/executions/{self.name}",
            "name": self.name,
            "type": "Microsoft.App/jobs/executions",
            "properties": props,
        }


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ContainerAppsArmServer:
    """The loopback ARM server (see the module docstring). Use as a context manager, or :meth:`start` /
    :meth:`stop` (which kills the executions still running)."""

    def __init__(
        self,
        jobs: list[JobDefinition],
        *,
        token: Optional[str] = None,
        identity_header: Optional[str] = None,
        base_env: Optional[dict[str, str]] = None,
        stop_grace: float = 10.0,
    ) -> None:
        self.jobs = {(j.subscription_id.lower(), j.resource_group.lower(), j.name.lower()): j for j in jobs}
        self.token = token or secrets.token_urlsafe(24)
        self.identity_header = identity_header or secrets.token_urlsafe(16)
        self.base_env = {k: v for k, v in os.environ.items() if k in _BASE_ENV} if base_env is None else base_env
        self.stop_grace = stop_grace
        self.executions: dict[str, _Execution] = {}
        self.operations: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "ContainerAppsArmServer":
        handler = type("Handler", (_Handler,), {"arm": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="aca-arm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for execution in list(self.executions.values()):
            if execution.process.poll() is None:
                _kill(execution.process, signal.SIGKILL)
            execution.process.wait()

    def __enter__(self) -> "ContainerAppsArmServer":
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()

    def identity_env(self) -> dict[str, str]:
        """App settings that make ``ManagedIdentityCredential`` get this server's token (App Service's identity)."""
        return {"IDENTITY_ENDPOINT": f"{self.url}/msi/token", "IDENTITY_HEADER": self.identity_header}

    # -- operations ----------------------------------------------------------------------------------
    def _job(self, sub: str, rg: str, name: str) -> JobDefinition:
        job = self.jobs.get((sub.lower(), rg.lower(), name.lower()))
        if job is None:
            raise ArmError(404, "ResourceNotFound", f"The Resource 'Microsoft.App/jobs/{name}' was not found.")
        return job

    def start_execution(self, job: JobDefinition, body: Any) -> _Execution:
        from azure.mgmt.appcontainers.models import JobExecutionTemplate

        template = body if body is not None else {}
        validate_model(JobExecutionTemplate, template)
        containers = template.get("containers") or job.document()["properties"]["template"]["containers"]
        if len(containers) != 1:
            raise ArmError(400, "InvalidRequestContent", "this server runs jobs of exactly one container")
        container = containers[0]
        if container.get("image") != job.image:
            raise ArmError(400, "InvalidImage", f"image {container.get('image')!r} is not this job's ({job.image})")
        if container.get("command") or container.get("args"):
            raise ArmError(400, "NotSupported", "this server runs the image's entrypoint only")
        env = dict(self.base_env)
        for var in container.get("env") or []:
            has_value, has_ref = "value" in var, "secretRef" in var
            if "name" not in var or has_value == has_ref:
                raise ArmError(400, "InvalidEnvironmentVariable", f"{var.get('name')!r}: give one of value, secretRef")
            if has_ref and var["secretRef"] not in job.secrets:
                raise ArmError(400, "SecretRefNotFound", f"secretRef '{var['secretRef']}' names no secret of the job")
            env[str(var["name"])] = job.secrets[var["secretRef"]] if has_ref else str(var["value"])
        name = f"{job.name}-{uuid.uuid4().hex[:7]}"
        log = (job.workdir / f"{name}.log") if job.workdir else None
        out: Any = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - the process keeps it open
        try:
            process = subprocess.Popen(
                job.command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                cwd=job.workdir or None,
            )  # fmt: skip
        finally:
            if log:
                out.close()
        execution = _Execution(job, name, template, process, _now(), log=log)
        with self._lock:
            self.executions[name] = execution
        return execution

    def stop_execution(self, execution: _Execution) -> None:
        if execution.process.poll() is not None:
            return
        execution.stopped = True
        _kill(execution.process, signal.SIGTERM, group=False)

        def later() -> None:
            try:
                execution.process.wait(self.stop_grace)
            except subprocess.TimeoutExpired:
                _kill(execution.process, signal.SIGKILL)

        threading.Thread(target=later, name="aca-stop", daemon=True).start()

    def operation(self, result: dict[str, Any]) -> str:
        op = str(uuid.uuid4())
        with self._lock:
            self.operations[op] = result
        return op


def _kill(process: subprocess.Popen[bytes], sig: int, group: bool = True) -> None:
    try:
        if group:
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
    except (ProcessLookupError, PermissionError):
        pass


class _Handler(BaseHTTPRequestHandler):
    arm: ContainerAppsArmServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _send(self, status: int, body: Any = None, headers: Optional[dict[str, str]] = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        self.arm.requests.append((method, parts.path))
        try:
            if parts.path == "/msi/token":
                return self._identity(query)
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Bearer ") or not secrets.compare_digest(auth[7:], self.arm.token):
                raise ArmError(401, "InvalidAuthenticationToken", "The access token is missing or invalid.")
            version = (query.get("api-version") or [""])[0]
            if not version:
                raise ArmError(400, "MissingApiVersionParameter", "The api-version query parameter is required.")
            body = json.loads(raw) if raw.strip() else None
            self._route(method, parts.path, body, version)
        except ArmError as exc:
            self._send(exc.status, {"error": {"code": exc.code, "message": exc.message}})
        except json.JSONDecodeError as exc:
            self._send(400, {"error": {"code": "InvalidRequestContent", "message": f"the body is not JSON: {exc}"}})

    def _identity(self, query: dict[str, list[str]]) -> None:
        if not secrets.compare_digest(self.headers.get("X-IDENTITY-HEADER", ""), self.arm.identity_header):
            raise ArmError(401, "Unauthorized", "X-IDENTITY-HEADER is missing or wrong")
        resource = (query.get("resource") or [""])[0]
        expires = int(time.time()) + 3600
        self._send(
            200,
            {"access_token": self.arm.token, "expires_on": str(expires), "resource": resource, "token_type": "Bearer"},
        )

    def _route(self, method: str, path: str, body: Any, version: str) -> None:
        op = _OPERATION.match(path)
        if op and method == "GET":
            result = self.arm.operations.get(op["op"])
            if result is None:
                raise ArmError(404, "OperationNotFound", f"no operation {op['op']}")
            return self._send(200, result)
        found = _JOBS.match(path)
        if not found:
            raise ArmError(404, "InvalidResourceType", f"this server does not answer {method} {path}")
        job = self.arm._job(found["sub"], found["rg"], found["job"])
        rest = (found["rest"] or "").rstrip("/")
        location = (
            f"{self.arm.url}/subscriptions/{job.subscription_id}/providers/Microsoft.App/locations/{job.location}"
            "/containerappsjobOperationResults/{op}?api-version=" + version
        )
        if method == "GET" and rest == "":
            return self._send(200, job.document())
        if method == "POST" and rest == "/start":
            execution = self.arm.start_execution(job, body)
            result = {"id": f"{job.id}/executions/{execution.name}", "name": execution.name}
            op_id = self.arm.operation(result)
            return self._send(202, result, {"Location": location.format(op=op_id), "Retry-After": "0"})
        if method == "GET" and rest == "/executions":
            mine = [e.document() for e in list(self.arm.executions.values()) if e.job is job]
            return self._send(200, {"value": mine})
        execution_path = re.fullmatch(r"/executions/([A-Za-z0-9-]+)(/stop)?", rest)
        if execution_path:
            named = self.arm.executions.get(execution_path[1])
            if named is None or named.job is not job:
                raise ArmError(404, "ResourceNotFound", f"The execution '{execution_path[1]}' was not found.")
            if method == "GET" and not execution_path[2]:
                return self._send(200, named.document())
            if method == "POST" and execution_path[2]:
                self.arm.stop_execution(named)
                op_id = self.arm.operation({})
                return self._send(202, None, {"Location": location.format(op=op_id), "Retry-After": "0"})
        raise ArmError(404, "InvalidResourceType", f"this server does not answer {method} {path}")
