"""The run context of a step process: what ``Run.get_context()`` returns inside a step.

The step runner stages inputs, writes a JSON context file and starts the script with
``DURABLEML_RUN_CONTEXT=<path of that file>``; the format is the runner's
(``durableml/runner/context.py``)::

    {"run_id": <pipeline run id>, "step_run_id", "step_name", "experiment_name", "parent_run_id",
     "workspace": {"subscription_id", "resource_group", "workspace_name", "endpoint"},
     "input_datasets": {name: local path}, "inputs": {name: {"path", "mode", "dataset"}},
     "outputs": {name: local path}, "metrics_file": path, "working_directory": path}

``run.input_datasets[name]`` is the local path, or a TabularDataset over the staged files when the
input's ``dataset`` says it is tabular (``"tabular"`` or ``{"datasetType": "tabular", ...}``).
The script's process imports no Azure SDK: metrics are appended to ``metrics_file``, one JSON
object per line, ``{"kind", "name", "value", "description"}``, which the runner uploads. The
workspace key comes from ``DURABLEML_KEY``, never from the file: the compute worker sets it (and
``DURABLEML_ENDPOINT``) from the service's ``DURABLEML_STEP_KEY`` setting. Without a key, every call
of ``run.experiment.workspace`` that needs the service raises a ConfigurationError saying so.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn, cast

from durableml.client import ServiceClient
from durableml.config import WorkspaceConfig
from durableml.core import _context
from durableml.core.experiment import Experiment
from durableml.core.run import Run
from durableml.core.workspace import Workspace
from durableml.data.tabular_dataset import TabularDataset
from durableml.exceptions import ConfigurationError, NotSupportedError

if TYPE_CHECKING:
    from durableml._handles import WorkspaceHandle

__all__ = ["CONTEXT_ENV_VAR", "StepRunContext", "load_step_context"]

CONTEXT_ENV_VAR = _context.CONTEXT_ENV_VAR


class StepRunContext(Run):
    """The run of the step this process executes; metrics go to the runner's JSON-lines file."""

    def __init__(self, experiment: Experiment, context: Mapping[str, Any]) -> None:
        step_run_id = context.get("step_run_id") or context["run_id"]
        parent = context.get("parent_run_id") or (context["run_id"] if context.get("step_run_id") else None)
        super().__init__(
            experiment,
            str(step_run_id),
            _record={"id": step_run_id, "name": context.get("step_name"), "parentRunId": parent},
            _input_datasets=_input_datasets(experiment.workspace, context),
        )
        self._metrics_file = context.get("metrics_file")
        self._working_directory = str(context.get("working_directory") or os.getcwd())

    def upload_file(self, name: str, path_or_stream: Any, datastore_name: str | None = None) -> None:
        """Add a file to the run's captured files: ``name`` under ``outputs/`` or ``logs/`` (uploaded at the end)."""
        target = self._captured_path(name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if isinstance(path_or_stream, (str, os.PathLike)):
            shutil.copyfile(path_or_stream, target)
        else:
            data = path_or_stream.read()
            with open(target, "wb") as handle:
                handle.write(data.encode() if isinstance(data, str) else data)

    def upload_folder(self, name: str, path: str, datastore_name: str | None = None) -> None:
        """Add a folder's files to the run's captured files under ``name`` (``outputs/...`` or ``logs/...``)."""
        for root, _dirs, files in os.walk(path):
            for file in files:
                local = os.path.join(root, file)
                self.upload_file(f"{name.rstrip('/')}/{os.path.relpath(local, path)}", local)

    def _captured_path(self, name: str) -> str:
        clean = os.path.normpath(str(name).removeprefix("./")).replace(os.sep, "/")
        if clean.split("/")[0] not in ("outputs", "logs") or ".." in clean.split("/") or clean in ("outputs", "logs"):
            raise NotSupportedError(
                f"Run.upload_file({name!r})",
                "Inside a durableml step, files are captured under 'outputs/' and 'logs/'; name the file "
                "'outputs/...' (it is uploaded when the script ends, like everything written to ./outputs).",
            )
        return os.path.join(self._working_directory, clean)

    def _log(self, kind: str, name: str, value: Any, description: str = "") -> None:
        if not self._metrics_file:
            raise ConfigurationError(
                f"The step context of run {self.id} names no metrics_file; metrics cannot be logged."
            )
        line = json.dumps({"kind": kind, "name": name, "value": value, "description": description}, default=str)
        with open(self._metrics_file, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def load_step_context(path: str | None = None) -> StepRunContext | None:
    """Return the step's run from the context file (``DURABLEML_RUN_CONTEXT``), or None outside steps."""
    path = path or os.environ.get(CONTEXT_ENV_VAR)
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            context = json.load(handle)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"The step context file {path!r} ({CONTEXT_ENV_VAR}) could not be read: {exc}. "
            "It is written by the durableml step runner; run the script as a pipeline step."
        ) from exc
    if not isinstance(context, dict) or not (context.get("step_run_id") or context.get("run_id")):
        raise ConfigurationError(
            f"The step context file {path!r} ({CONTEXT_ENV_VAR}) is incomplete: it names no run_id."
        )
    known = {key: value for key, value in (context.get("workspace") or {}).items() if value}
    fields = ("subscription_id", "resource_group", "workspace_name", "endpoint")
    # source: what a refused key's error points at (the service's setting, not a config.json)
    source = "the step's DURABLEML_KEY, from the service's DURABLEML_STEP_KEY setting"
    config = WorkspaceConfig(**{key: str(known[key]) for key in fields if key in known}, source=source)
    config = config.with_environment()
    client = None if config.key else cast(ServiceClient, _NoStepCredential(config))
    workspace = Workspace(
        config.subscription_id, config.resource_group, config.workspace_name, config=config, client=client
    )
    experiment = str(context.get("experiment_name") or context.get("experiment") or "")
    return StepRunContext(Experiment(workspace, experiment, _skip_name_validation=True), context)


class _NoStepCredential:
    """The service client of a step whose service gave it no key: every operation says why it cannot work."""

    def __init__(self, config: WorkspaceConfig) -> None:
        self.config = config

    def __getattr__(self, operation: str) -> Any:
        if operation.startswith("_"):
            raise AttributeError(operation)

        def unavailable(*args: Any, **kwargs: Any) -> NoReturn:
            raise ConfigurationError(
                f"'{operation}' needs the durableml service at {self.config.endpoint}, but this step process "
                "has no credential for it: the service that ran the step has no DURABLEML_STEP_KEY setting. "
                "Set DURABLEML_STEP_KEY to a function key of the Function App (locally: a key in "
                "functionKeys of funchost's keys.json) in its app settings (local.settings.json Values) and "
                "restart it and its compute workers.",
                details={"operation": operation, "endpoint": self.config.endpoint},
            )

        return unavailable


def _input_datasets(workspace: WorkspaceHandle, context: Mapping[str, Any]) -> dict[str, Any]:
    details = context.get("inputs") or {}
    datasets: dict[str, Any] = {}
    for name, path in (context.get("input_datasets") or {}).items():
        dataset = (details.get(name) or {}).get("dataset")
        kind = dataset.get("datasetType") if isinstance(dataset, Mapping) else dataset
        if kind != "tabular":
            datasets[name] = str(path)
            continue
        table = TabularDataset(dataset if isinstance(dataset, Mapping) else {}, workspace)
        table._local_files = _files_under(str(path))
        table._local_root = str(path)  # partition key values come from the files' places below it
        datasets[name] = table
    return datasets


def _files_under(path: str) -> list[str]:
    if os.path.isfile(path):
        return [path]
    return sorted(os.path.join(root, name) for root, _dirs, names in os.walk(path) for name in names)


_context.set_file_loader(load_step_context)  # what Run.get_context() and Model.get_model_path() read in a step
