"""ScriptRunConfig: a script, its arguments and its RunConfiguration.

Pipelines use it as a source of settings: ``PythonScriptStep(runconfig=src.run_config)`` takes
the compute target, environment and distribution from it. Submitting one on its own is not
supported (wrap the script in a PythonScriptStep).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from durableml.core.environment import Environment
from durableml.core.runconfig import RunConfiguration

__all__ = ["ScriptRunConfig"]


class ScriptRunConfig:
    """A script run's configuration (v1 signature); everything lands in ``run_config``."""

    def __init__(
        self,
        source_directory: str,
        script: str | None = None,
        arguments: Sequence[Any] | None = None,
        run_config: RunConfiguration | None = None,
        _telemetry_values: Any = None,
        compute_target: Any = None,
        environment: Environment | None = None,
        distributed_job_config: Any = None,
        resume_from: Any = None,
        max_run_duration_seconds: int | None = None,
        command: str | Sequence[Any] | None = None,
        docker_runtime_config: Any = None,
    ) -> None:
        self.source_directory = source_directory
        self.script = script
        self.arguments = list(arguments or [])
        self.command = command
        self.run_config = run_config if run_config is not None else RunConfiguration()
        self.run_config.script = script
        self.run_config.arguments = self.arguments
        if compute_target is not None:
            self.run_config.target = compute_target
        if environment is not None:
            self.run_config.environment = environment
        if distributed_job_config is not None:
            self.run_config.distributed_job_config = distributed_job_config
        if docker_runtime_config is not None:
            self.run_config.docker = docker_runtime_config
        if max_run_duration_seconds is not None:
            self.run_config.max_run_duration_seconds = max_run_duration_seconds

    def __repr__(self) -> str:
        return f"ScriptRunConfig(source_directory={self.source_directory!r}, script={self.script!r})"
