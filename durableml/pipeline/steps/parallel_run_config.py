"""ParallelRunConfig: how a ParallelRunStep splits its input into mini-batches and runs them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from durableml.core.environment import Environment
from durableml.core.runconfig import compute_target_name
from durableml.exceptions import ValidationError
from durableml.pipeline.core.pipeline_parameter import PipelineParameter

__all__ = ["ParallelRunConfig", "OUTPUT_ACTIONS"]

OUTPUT_ACTIONS = ("append_row", "summary_only")


class ParallelRunConfig:
    """Settings of a ParallelRunStep (v1 signature).

    ``mini_batch_size`` is a size string such as ``"1KB"`` for tabular input or a file count such
    as ``"5"`` for file input; it, ``node_count`` and ``process_count_per_node`` may be
    PipelineParameters.
    """

    def __init__(
        self,
        environment: Environment | None,
        entry_script: str,
        error_threshold: int,
        output_action: str,
        compute_target: Any,
        node_count: int | PipelineParameter,
        process_count_per_node: int | PipelineParameter | None = None,
        mini_batch_size: str | int | PipelineParameter | None = None,
        source_directory: str | None = None,
        description: str | None = None,
        logging_level: str = "INFO",
        run_invocation_timeout: int = 60,
        run_max_try: int = 3,
        append_row_file_name: str | None = None,
        allowed_failed_count: int | None = None,
        allowed_failed_percent: float | None = None,
        partition_keys: Sequence[str] | None = None,
        environment_variables: Mapping[str, str] | None = None,
    ) -> None:
        if output_action not in OUTPUT_ACTIONS:
            raise ValidationError(
                f"ParallelRunConfig output_action {output_action!r} must be 'append_row' or 'summary_only'."
            )
        if not isinstance(entry_script, str) or not entry_script:
            raise ValidationError(f"ParallelRunConfig entry_script must be a script file name, got {entry_script!r}.")
        if not isinstance(error_threshold, int) or error_threshold < -1:
            raise ValidationError(
                "ParallelRunConfig error_threshold must be an integer "
                f">= -1 (-1: ignore failures), got {error_threshold!r}."
            )
        _check_count(node_count, "node_count")
        if process_count_per_node is not None:
            _check_count(process_count_per_node, "process_count_per_node")
        self.environment = environment
        self.entry_script = entry_script
        self.error_threshold = error_threshold
        self.output_action = output_action
        self.compute_target = compute_target
        self.compute_target_name = compute_target_name(compute_target)
        self.node_count = node_count
        self.process_count_per_node = process_count_per_node
        self.mini_batch_size = mini_batch_size
        self.source_directory = source_directory
        self.description = description
        self.logging_level = logging_level
        self.run_invocation_timeout = run_invocation_timeout
        self.run_max_try = run_max_try
        self.append_row_file_name = append_row_file_name or "parallel_run_step.txt"
        self.allowed_failed_count = allowed_failed_count
        self.allowed_failed_percent = allowed_failed_percent
        self.partition_keys = list(partition_keys or [])
        self.environment_variables = dict(environment_variables or {})


def _check_count(value: Any, what: str) -> None:
    if isinstance(value, PipelineParameter):
        if value.type != "int":
            raise ValidationError(
                f"ParallelRunConfig {what} parameter {value.name!r} must "
                f"have an int default, got {value.default_value!r}."
            )
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValidationError(
            f"ParallelRunConfig {what} must be a positive integer or an int PipelineParameter, got {value!r}."
        )
