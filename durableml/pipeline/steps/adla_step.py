"""AdlaStep: a U-SQL script for Azure Data Lake Analytics (retired 2024-02-29; durableml runs it on DuckDB)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from durableml.pipeline.core.pipeline_step import PipelineStep, ValueEncoder

__all__ = ["AdlaStep"]


class AdlaStep(PipelineStep):
    """Run ``script_name`` on an ADLA account (v1 signature).

    Azure Data Lake Analytics itself was retired; durableml runs the common U-SQL subset on DuckDB, with
    ``@@name@@`` replaced by the paths of the inputs and outputs and by the params (docs/design/adla.md).
    """

    kind = "adla"

    def __init__(
        self,
        script_name: str,
        name: str | None = None,
        inputs: Sequence[Any] | None = None,
        outputs: Sequence[Any] | None = None,
        params: Mapping[str, Any] | None = None,
        degree_of_parallelism: int | None = None,
        priority: int | None = None,
        runtime_version: str | None = None,
        compute_target: Any = None,
        source_directory: str | None = None,
        allow_reuse: bool = True,
        version: str | None = None,
        hash_paths: Sequence[str] | None = None,
        reuse_policy: str | None = None,
    ) -> None:
        self._script_name = script_name
        self._params = dict(params or {})
        self._tuning = {
            "degreeOfParallelism": degree_of_parallelism,
            "priority": priority,
            "runtimeVersion": runtime_version,
        }
        super().__init__(
            name or script_name,
            inputs=inputs,
            outputs=outputs,
            allow_reuse=allow_reuse,
            reuse_policy=reuse_policy,
            compute_target=compute_target,
            source_directory=source_directory,
            hash_paths=hash_paths,
            version=version,
        )

    def _settings(self, encode: ValueEncoder) -> dict[str, Any]:
        return {
            "scriptName": self._script_name,
            "params": {str(k): encode(v) for k, v in sorted(self._params.items())},
            **self._tuning,
        }
