"""DatabricksStep (``databricks``): a notebook, Python script, JAR or wheel run on a Databricks cluster."""

from __future__ import annotations

from typing import Any

from durableml.stepkinds.base import StepKind

_SETTINGS: dict[str, Any] = {
    "type": "object",
    "required": ["target"],
    "properties": {
        "target": {"type": "object", "required": ["kind", "value"]},
        "cluster": {"type": "object"},
        "notebookParams": {"type": "object"},
        "pythonScriptParams": {"type": "array"},
        "jarParams": {"type": "array"},
        "libraries": {"type": "array"},
        "runName": {"type": ["string", "null"]},
        "timeoutSeconds": {"type": ["integer", "null"]},
    },
}

KIND = StepKind(
    name="databricks",
    v1_class="DatabricksStep",
    settings_schema=_SETTINGS,
    compute_types=frozenset({"Databricks", "DatabricksCompute"}),
    later="DatabricksStep support is planned (Databricks runs/submit on an attached DatabricksCompute)",
)
