"""DatabricksStep (``databricks``): a notebook, Python script or JAR run on a Databricks cluster.

The job runs durableml's driver (:mod:`durableml.runner.databricks_driver`) with the step's settings (parameters bound)
and the local paths of its staged inputs and prepared outputs: the driver uploads the data (and, for
``python_script_name``, the source directory) to DBFS, submits one run with databricks-sdk's ``jobs.submit``
(an idempotency token derived from the step run id), follows it, prints its output and downloads the outputs.
The workspace URL and access token reach the driver from the Databricks compute backend
(:mod:`durableml.compute.databricks`), never from the document. docs/design/databricks.md has the details.
"""

from __future__ import annotations

import json
from typing import Any

from durableml.jobs import JobSpec, input_placeholder, output_placeholder
from durableml.stepkinds.base import JobBasis, StepKind

DRIVER = "durableml:runner/databricks_driver.py"

_SETTINGS: dict[str, Any] = {
    "type": "object",
    "required": ["target"],
    "properties": {
        "target": {
            "type": "object",
            "required": ["kind", "value"],
            "properties": {
                "kind": {"enum": ["notebook_path", "python_script_path", "python_script_name", "main_class_name"]},
                "value": {"type": "string", "minLength": 1},
            },
        },
        "cluster": {"type": "object"},
        "notebookParams": {"type": "object"},
        "pythonScriptParams": {"type": "array"},
        "jarParams": {"type": "array"},
        "libraries": {"type": "array"},
        "runName": {"type": ["string", "null"]},
        "timeoutSeconds": {"type": ["integer", "null"]},
    },
}


def to_job(basis: JobBasis) -> JobSpec:
    """The driver with the task (settings + step name) and ``--input``/``--output NAME <path>`` pairs."""
    task = {**basis.settings, "stepName": basis.step_name}
    arguments: list[Any] = [json.dumps(task, sort_keys=True, default=str)]
    for name in basis.inputs:
        arguments += ["--input", name, input_placeholder(name)]
    for name in basis.outputs:
        arguments += ["--output", name, output_placeholder(name)]
    return basis.job(DRIVER, arguments=arguments)


KIND = StepKind(
    name="databricks",
    v1_class="DatabricksStep",
    settings_schema=_SETTINGS,
    compute_types=frozenset({"Databricks", "DatabricksCompute"}),
    to_job=to_job,
)
