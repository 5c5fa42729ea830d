"""What the script sees: its run context file, its environment, and what it leaves behind.

The script never talks to storage. ``Run.get_context()`` reads the JSON file named by
``DURABLEML_RUN_CONTEXT``::

    {"run_id", "step_run_id", "step_name", "experiment_name", "parent_run_id",
     "workspace": {"subscription_id", "resource_group", "workspace_name", "endpoint"},
     "input_datasets": {name: local path}, "inputs": {name: {"path", "mode", "dataset"}},
     "outputs": {name: local path}, "metrics_file": path, "working_directory": path}

and appends metrics to ``metrics_file``, one JSON object per line:
``{"name", "value", "kind": "scalar"|"list"|"row"|"table"|..., "step"?, "description"?}`` (other kinds,
such as the SDK's ``image`` and ``tag``, are passed through).

The script's SDK talks to the service that started the step: :func:`step_environment` sets
``DURABLEML_ENDPOINT`` (the worker's ``DURABLEML_STEP_ENDPOINT`` setting, else the origin of the job's
notify URL, i.e. the host that runs the step's orchestration) and ``DURABLEML_KEY`` (the worker's
``DURABLEML_STEP_KEY`` setting, which the worker inherits from the service that started it). The key is
never part of the job spec or the context file, and :func:`make_redactor` hides it in driver logs.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit

from durableml.jobs import JobSpec

__all__ = [
    "build_context",
    "step_environment",
    "script_base_environment",
    "parse_metrics",
    "error_summary",
    "make_redactor",
    "service_access",
    "STEP_ENDPOINT_SETTING",
    "STEP_KEY_SETTING",
    "STARTUP_DIR",
]

# sitecustomize.py there turns on the azureml alias lazily, on the script's first ``import azureml``.
STARTUP_DIR = Path(__file__).resolve().parent / "_startup"
# Storage connections, and the managed identity endpoint of the node (App Service / Functions / Container Apps:
# IDENTITY_ENDPOINT + IDENTITY_HEADER; older MSI_ENDPOINT + MSI_SECRET): with them a script could ask for the
# service's tokens. The node's runner keeps them (it reads and writes the step's files with that identity).
_SECRET_ENV_NAMES = re.compile(
    r"^(AzureWebJobsStorage.*|DURABLEML_STORAGE|AZURE_STORAGE_CONNECTION_STRING"
    r"|IDENTITY_ENDPOINT|IDENTITY_HEADER|MSI_ENDPOINT|MSI_SECRET)$",
    re.IGNORECASE,
)
_SECRET_MARKERS = ("AccountKey=", "SharedAccessSignature=", "sig=")
STEP_ENDPOINT_SETTING = "DURABLEML_STEP_ENDPOINT"
STEP_KEY_SETTING = "DURABLEML_STEP_KEY"
# Never passed through from the worker's environment: the step's own values come from service_access.
_SERVICE_ENV_NAMES = frozenset({STEP_ENDPOINT_SETTING, STEP_KEY_SETTING, "DURABLEML_ENDPOINT", "DURABLEML_KEY"})
_METRIC_KINDS = ("scalar", "list", "row", "table")
TRACEBACK = "Traceback (most recent call last):"


def build_context(
    spec: JobSpec, inputs: Mapping[str, str], outputs: Mapping[str, str], metrics_file: Path
) -> dict[str, Any]:
    """The run context document for the script (see the module docstring)."""
    return {
        "run_id": spec.run_id,
        "step_run_id": spec.job_id,
        "step_name": spec.step_name,
        "experiment_name": spec.experiment_name,
        "parent_run_id": spec.parent_run_id or spec.run_id,
        "workspace": dict(spec.workspace),
        "input_datasets": dict(inputs),
        "inputs": {
            name: {"path": inputs[name], "mode": b.get("mode", "mount"), "dataset": b.get("dataset")}
            for name, b in spec.inputs.items()
        },
        "outputs": dict(outputs),
        "metrics_file": str(metrics_file),
        # the script's starting working directory (the runner captures its ./outputs and ./logs)
        "working_directory": str(metrics_file.parent / "snapshot"),
    }


def step_environment(
    spec: JobSpec,
    context_file: Path,
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    base: Mapping[str, str],
    secrets: Iterable[str],
) -> dict[str, str]:
    """The script's environment: ``base`` without storage secrets, plus the run's variables and the job's own."""
    env = script_base_environment(base, secrets)
    env.update(
        {
            "DURABLEML_RUN_CONTEXT": str(context_file),
            "AZUREML_RUN_ID": spec.job_id,
            "AZUREML_ROOT_RUN_ID": spec.parent_run_id or spec.run_id,
            "AZUREML_EXPERIMENT_NAME": spec.experiment_name,
        }
    )
    # v1 scripts may read data locations from AZUREML_DATAREFERENCE_<name>.
    for name, path in {**inputs, **outputs}.items():
        env[f"AZUREML_DATAREFERENCE_{name}"] = path
    env.update({str(k): str(v) for k, v in spec.environment.items()})
    env.update(service_access(spec, base))  # last: a job's environment cannot redirect the credential
    return env


def script_base_environment(base: Mapping[str, str], secrets: Iterable[str] = ()) -> dict[str, str]:
    """What every step script's environment starts from: ``base`` without service settings and storage
    secrets (by name, or by value for ``secrets``), with the startup directory first on PYTHONPATH (it is
    inside the installed package; durableml itself is imported as installed), unbuffered output and the
    azureml alias on. :func:`step_environment` adds the job's own."""
    hidden = [s for s in secrets if s]
    env = {k: v for k, v in base.items() if k not in _SERVICE_ENV_NAMES and not _is_secret(k, v, hidden)}
    python_path = [str(STARTUP_DIR)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env.update({"PYTHONPATH": os.pathsep.join(python_path), "PYTHONUNBUFFERED": "1", "DURABLEML_AZUREML_ALIAS": "1"})
    return env


def service_access(spec: JobSpec, base: Mapping[str, str]) -> dict[str, str]:
    """``DURABLEML_ENDPOINT`` / ``DURABLEML_KEY`` for the script's SDK, from the worker's settings.

    The endpoint is ``DURABLEML_STEP_ENDPOINT``, else the origin of the job's notify URL (the service
    that started the step), else the context file's workspace endpoint. The key is
    ``DURABLEML_STEP_KEY`` only: without it the script's SDK explains that the service gave it no
    credential (see :mod:`durableml.core.step_context`).
    """
    access: dict[str, str] = {}
    endpoint = base.get(STEP_ENDPOINT_SETTING) or _origin((spec.notify or {}).get("url", ""))
    endpoint = endpoint or str(spec.workspace.get("endpoint") or "")
    if endpoint:
        access["DURABLEML_ENDPOINT"] = endpoint.rstrip("/")
    if base.get(STEP_KEY_SETTING):
        access["DURABLEML_KEY"] = base[STEP_KEY_SETTING]
    return access


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def _is_secret(name: str, value: str, hidden: list[str]) -> bool:
    if _SECRET_ENV_NAMES.match(name) or name.startswith("DURABLEML_WORKER_"):
        return True
    return any(marker in value for marker in _SECRET_MARKERS) or any(s in value for s in hidden)


def make_redactor(secrets: Iterable[str]) -> Callable[[str], str]:
    """A function that replaces each secret (and any ``AccountKey=...`` value) in a text with ``***``.

    The worker's step key (``DURABLEML_STEP_KEY``) is always one of them, even in what the script prints.
    """
    secrets = [*secrets, os.environ.get(STEP_KEY_SETTING, "")]
    hidden = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)
    key_value = re.compile(r"(AccountKey|SharedAccessSignature|code|sig)=[^;&\s]+", re.I)

    def redact(text: str) -> str:
        for secret in hidden:
            text = text.replace(secret, "***")
        return key_value.sub(r"\1=***", text)

    return redact


def parse_metrics(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The metrics the script logged, in order, and a note per line that could not be used."""
    metrics: list[dict[str, Any]] = []
    problems: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return metrics, problems
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            problems.append(f"metrics line {number} is not JSON ({exc}); it was skipped")
            continue
        if not isinstance(record, dict) or not isinstance(record.get("name"), str) or "value" not in record:
            problems.append(f"metrics line {number} lacks a 'name' or 'value'; it was skipped")
            continue
        record.setdefault("kind", "scalar")
        if not isinstance(record["kind"], str) or not record["kind"]:
            problems.append(
                f"metrics line {number} has kind {record['kind']!r}, not a name like "
                f"{', '.join(_METRIC_KINDS)}; it was skipped"
            )
            continue
        metrics.append(record)
    return metrics, problems


def error_summary(log_tail: str, exit_code: int | None, max_lines: int = 30) -> str:
    """The error to report for a failed script: the last traceback in its output, shortened, or its last lines."""
    start = log_tail.rfind(TRACEBACK)
    if start >= 0:
        lines = log_tail[start:].rstrip().splitlines()
        if len(lines) > max_lines:
            lines = [lines[0], "  ..."] + lines[-(max_lines - 2) :]
        return "\n".join(lines)
    tail = [line for line in log_tail.rstrip().splitlines() if line.strip()][-10:]
    head = f"the script exited with code {exit_code}"
    return head + (":\n" + "\n".join(tail) if tail else " and printed nothing")
