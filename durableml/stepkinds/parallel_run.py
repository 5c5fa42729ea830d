"""ParallelRunStep (``parallel_run``): v1's batch inference over mini-batches of a dataset, on AmlCompute."""

from __future__ import annotations

from typing import Any

from durableml.stepkinds.base import StepKind, binding_or

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

KIND = StepKind(
    name="parallel_run",
    v1_class="ParallelRunStep",
    settings_schema=_SETTINGS,
    compute_types=frozenset({"AmlCompute"}),
    script_setting="entryScript",
    later="ParallelRunStep support is planned (mini-batches over worker processes of the compute target)",
)
