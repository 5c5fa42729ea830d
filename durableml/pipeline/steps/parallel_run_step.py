"""ParallelRunStep: run an entry script over mini-batches of a dataset, in parallel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from durableml.exceptions import ValidationError
from durableml.pipeline.core.pipeline_step import PipelineStep, ValueEncoder
from durableml.pipeline.steps.parallel_run_config import ParallelRunConfig

__all__ = ["ParallelRunStep"]


class ParallelRunStep(PipelineStep):
    """Call ``init()`` then ``run(mini_batch)`` of the entry script over the inputs (v1 signature).

    With ``output_action="append_row"`` the returned rows land in
    ``<output>/<append_row_file_name>``.
    """

    kind = "parallel_run"

    def __init__(
        self,
        name: str,
        parallel_run_config: ParallelRunConfig,
        inputs: Sequence[Any],
        output: Any = None,
        side_inputs: Sequence[Any] | None = None,
        arguments: Sequence[Any] | None = None,
        allow_reuse: bool = True,
        reuse_policy: str | None = None,
    ) -> None:
        if not isinstance(parallel_run_config, ParallelRunConfig):
            raise ValidationError(f"ParallelRunStep {name!r} needs a ParallelRunConfig, got {parallel_run_config!r}.")
        if not inputs:
            raise ValidationError(f"ParallelRunStep {name!r} needs at least one input dataset in inputs=.")
        self._config = parallel_run_config
        super().__init__(
            name,
            inputs=inputs,
            outputs=[output] if output is not None else None,
            arguments=arguments,
            side_inputs=side_inputs,
            allow_reuse=allow_reuse,
            reuse_policy=reuse_policy,
            compute_target=parallel_run_config.compute_target,
            source_directory=parallel_run_config.source_directory,
        )

    @property
    def parallel_run_config(self) -> ParallelRunConfig:
        """The step's configuration."""
        return self._config

    def _settings(self, encode: ValueEncoder) -> dict[str, Any]:
        config = self._config
        return {
            "entryScript": config.entry_script,
            "miniBatchSize": encode(config.mini_batch_size),
            "nodeCount": encode(config.node_count),
            "processCountPerNode": encode(config.process_count_per_node),
            "errorThreshold": config.error_threshold,
            "outputAction": config.output_action,
            "appendRowFileName": config.append_row_file_name,
            "runInvocationTimeout": config.run_invocation_timeout,
            "runMaxTry": config.run_max_try,
            "allowedFailedCount": config.allowed_failed_count,
            "allowedFailedPercent": config.allowed_failed_percent,
            "partitionKeys": list(config.partition_keys),
            "loggingLevel": config.logging_level,
            "description": config.description,
            "environmentVariables": {str(k): str(v) for k, v in sorted(config.environment_variables.items())},
            "environment": config.environment.to_dict() if config.environment is not None else None,
        }
