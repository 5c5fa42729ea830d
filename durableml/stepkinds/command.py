"""CommandStep (``command``): a shell command (v1's ``azureml.pipeline.steps.CommandStep``)."""

from __future__ import annotations

from typing import Any

from durableml.stepkinds.base import StepKind

_SETTINGS: dict[str, Any] = {
    "type": "object",
    "required": ["command"],
    "properties": {"command": {"type": ["string", "array"]}},
}

KIND = StepKind(
    name="command",
    v1_class="CommandStep",
    settings_schema=_SETTINGS,
    compute_types=frozenset({"AmlCompute", "ComputeInstance", "local"}),
    later="CommandStep support is planned",
)
