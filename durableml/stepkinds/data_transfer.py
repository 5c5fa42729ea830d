"""DataTransferStep (``data_transfer``): copy data between storage options on a Data Factory compute."""

from __future__ import annotations

from typing import Any

from durableml.stepkinds.base import StepKind

_SETTINGS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "sourceReferenceType": {"type": ["string", "null"]},
        "destinationReferenceType": {"type": ["string", "null"]},
        "destination": {"type": ["object", "null"]},
    },
}

KIND = StepKind(
    name="data_transfer",
    v1_class="DataTransferStep",
    settings_schema=_SETTINGS,
    compute_types=frozenset({"DataFactory", "DataFactoryCompute"}),
    later="DataTransferStep support is planned (copies between datastores)",
)
