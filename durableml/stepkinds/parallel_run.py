"""ParallelRunStep (``parallel_run``): v1's batch inference over mini-batches of a dataset, on AmlCompute.

The job runs durableml's driver (:mod:`durableml.runner.parallel_run`) in the step's source snapshot; the
driver runs the entry script's ``init()``/``run(mini_batch)`` in worker processes.
"""

from __future__ import annotations

from typing import Any

import json
from typing import Mapping

from durableml.jobs import JobSpec, input_placeholder, output_placeholder
from durableml.stepkinds.base import JobBasis, StepKind, binding_or

DRIVER = "durableml:runner/parallel_run.py"
"""The script the job runs: durableml's ParallelRunStep driver (durableml/runner/parallel_run.py)."""

_COUNT = binding_or({"type": "integer", "minimum": 1})
_SETTINGS: dict[str, Any] = {
    "type": "object",
    "required": ["entryScript", "miniBatchSize", "nodeCount", "outputAction"],
    "properties": {
        "entryScript": {"type": "string", "minLength": 1},
        "miniBatchSize": binding_or({"type": ["string", "integer", "null"]}),
        "nodeCount": _COUNT,
        "processCountPerNode": binding_or({"type": ["integer", "null"]}),
        "errorThreshold": {"type": "integer"},
        "outputAction": {"enum": ["append_row", "summary_only"]},
        "appendRowFileName": {"type": ["string", "null"]},
        "runInvocationTimeout": {"type": "integer"},
        "runMaxTry": {"type": "integer"},
        "partitionKeys": {"type": "array", "items": {"type": "string"}},
    },
}


def to_job(basis: JobBasis) -> JobSpec:
    """The driver with the step's ParallelRunConfig, its data inputs (not side inputs) and its output; the
    step's own ``arguments`` follow, for the entry script's ``sys.argv``."""
    settings = basis.settings
    inputs = [
        {"name": name, "type": _dataset_type(basis.inputs[name].get("dataset"))}
        for name, binding in basis.bindings.items()
        if not binding.get("sideInput") and name in basis.inputs
    ]
    config = {
        "entry_script": settings["entryScript"],
        "mini_batch_size": settings.get("miniBatchSize"),
        "node_count": int(settings.get("nodeCount") or 1),
        "process_count_per_node": settings.get("processCountPerNode"),
        "error_threshold": int(settings.get("errorThreshold", 10)),
        "output_action": settings.get("outputAction") or "append_row",
        "append_row_file_name": settings.get("appendRowFileName") or "parallel_run_step.txt",
        "run_invocation_timeout": float(settings.get("runInvocationTimeout") or 60),
        "run_max_try": int(settings.get("runMaxTry") or 3),
        "allowed_failed_count": settings.get("allowedFailedCount"),
        "allowed_failed_percent": settings.get("allowedFailedPercent"),
        "logging_level": settings.get("loggingLevel") or "INFO",
        "partition_keys": list(settings.get("partitionKeys") or []),
        "inputs": inputs,
    }
    arguments: list[object] = ["--durableml-config", json.dumps(config, sort_keys=True)]
    for given in inputs:
        arguments += ["--durableml-input", given["name"], input_placeholder(given["name"])]
    for name in basis.outputs:
        arguments += ["--durableml-output", output_placeholder(name)]
    environment = {str(k): str(v) for k, v in (settings.get("environmentVariables") or {}).items()}
    return basis.job(DRIVER, environment, [*arguments, *basis.arguments])


def _dataset_type(described: object) -> str:
    """``file`` or ``tabular``: what the input's dataset is (a definition, or the type a step output is read as)."""
    if isinstance(described, Mapping):
        return str(described.get("datasetType") or "file")
    return str(described) if described in ("file", "tabular") else "file"


KIND = StepKind(
    name="parallel_run",
    v1_class="ParallelRunStep",
    settings_schema=_SETTINGS,
    compute_types=frozenset({"AmlCompute"}),
    to_job=to_job,
    script_setting="entryScript",
)
