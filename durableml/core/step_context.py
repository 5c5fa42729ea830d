"""The run context of a step process: what ``Run.get_context()`` returns inside a step.

The step runner stages inputs, writes a JSON context file and starts the script with
``DURABLEML_RUN_CONTEXT=<path of that file>``. The script's process imports no Azure SDK: metrics
are appended to a JSON-lines file that the runner uploads when the script ends. The context
file holds::

    {
      "run_id": "<step run id>", "parent_id": "<pipeline run id>", "name": "train.py",
      "experiment": "Compare_Models_Exp",
      "workspace": {"subscription_id": ..., "resource_group": ..., "workspace_name": ..., "endpoint": ...},
      "input_datasets": {
        "raw_data": {"kind": "path", "path": "/staged/raw_data"},
        "iris_data": {"kind": "tabular", "definition": {...}, "files": ["/staged/iris/iris.csv"]}
      },
      "metrics_file": "/staged/metrics.jsonl"
    }

Each metrics line is ``{"kind", "name", "value", "description"}`` (``kind``: scalar, list, row,
table, image, tag). The key of the workspace's endpoint comes from ``DURABLEML_KEY``, never from
the file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from durableml.config import WorkspaceConfig
from durableml.core.experiment import Experiment
from durableml.core.run import Run
from durableml.core.workspace import Workspace
from durableml.data.tabular_dataset import TabularDataset
from durableml.exceptions import ConfigurationError

__all__ = ["CONTEXT_ENV_VAR", "StepRunContext", "load_step_context"]

CONTEXT_ENV_VAR = "DURABLEML_RUN_CONTEXT"


class StepRunContext(Run):
    """The run of the step this process executes; metrics go to the runner's JSON-lines file."""

    def __init__(self, experiment: Experiment, context: Mapping[str, Any]) -> None:
        super().__init__(
            experiment,
            str(context["run_id"]),
            _record={"id": context["run_id"], "name": context.get("name"), "parent_id": context.get("parent_id")},
            _input_datasets=_input_datasets(experiment.workspace, context.get("input_datasets") or {}),
        )
        self._metrics_file = context.get("metrics_file")

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
        ws = context["workspace"]
        config = WorkspaceConfig(
            ws["subscription_id"], ws["resource_group"], ws["workspace_name"], endpoint=ws.get("endpoint", "")
        ).with_environment()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"The step context file {path!r} ({CONTEXT_ENV_VAR}) is unreadable or incomplete: {exc!r}. "
            "It is written by the durableml step runner; run the script as a pipeline step."
        ) from exc
    workspace = Workspace(config.subscription_id, config.resource_group, config.workspace_name, config=config)
    return StepRunContext(Experiment(workspace, str(context["experiment"]), _skip_name_validation=True), context)


def _input_datasets(workspace: Workspace, entries: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    datasets: dict[str, Any] = {}
    for name, entry in entries.items():
        if entry.get("kind") == "tabular":
            dataset = TabularDataset(entry.get("definition") or {}, workspace)
            dataset._local_files = [str(f) for f in entry.get("files") or []]
            datasets[name] = dataset
        else:
            datasets[name] = str(entry["path"])
    return datasets
