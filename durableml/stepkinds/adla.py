"""AdlaStep (``adla``): a U-SQL script on Azure Data Lake Analytics."""

from __future__ import annotations

from typing import Any

from durableml.stepkinds.base import StepKind

_SETTINGS: dict[str, Any] = {
    "type": "object",
    "required": ["scriptName"],
    "properties": {"scriptName": {"type": "string", "minLength": 1}, "params": {"type": "object"}},
}

KIND = StepKind(
    name="adla",
    v1_class="AdlaStep",
    settings_schema=_SETTINGS,
    compute_types=frozenset({"DataLakeAnalytics", "AdlaCompute"}),
    script_setting="scriptName",
    later="AdlaStep support is planned",
)
