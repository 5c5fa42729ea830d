"""PythonScriptStep: run a Python script on a compute target."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from durableml.core.runconfig import RunConfiguration, compute_target_name
from durableml.exceptions import ValidationError
from durableml.pipeline.core.pipeline_step import PipelineStep, ValueEncoder

__all__ = ["PythonScriptStep"]


class PythonScriptStep(PipelineStep):
    """Run ``script_name`` from ``source_directory`` (v1 signature).

    ``name`` defaults to the script name. The compute target is ``compute_target`` (an object or
    a name), else ``runconfig.target``. ``target=`` is accepted as an alias of ``compute_target``
    because a published Azure ML article used it. ``params`` become environment variables
    ``AML_PARAMETER_<name>`` in the step; their values may be PipelineParameters.
    """

    kind = "python_script"

    def __init__(
        self,
        script_name: str,
        name: str | None = None,
        arguments: Sequence[Any] | None = None,
        compute_target: Any = None,
        runconfig: RunConfiguration | None = None,
        runconfig_pipeline_params: Mapping[str, Any] | None = None,
        inputs: Sequence[Any] | None = None,
        outputs: Sequence[Any] | None = None,
        params: Mapping[str, Any] | None = None,
        source_directory: str | None = None,
        allow_reuse: bool = True,
        version: str | None = None,
        hash_paths: Sequence[str] | None = None,
        reuse_policy: str | None = None,
        **kwargs: Any,
    ) -> None:
        compute_target = _compute_target(compute_target, kwargs.pop("target", None), runconfig)
        if kwargs:
            raise TypeError(f"PythonScriptStep() got unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
        if not isinstance(script_name, str) or not script_name.strip():
            raise ValidationError(
                f"PythonScriptStep script_name must be a file name such as 'train.py', got {script_name!r}."
            )
        if runconfig is not None and not isinstance(runconfig, RunConfiguration):
            raise ValidationError(
                f"PythonScriptStep runconfig must be a RunConfiguration, got {type(runconfig).__name__}; "
                "for a ScriptRunConfig pass its .run_config."
            )
        self._script_name = script_name
        self._runconfig = runconfig
        self._params = dict(params or {})
        self._runconfig_params = dict(runconfig_pipeline_params or {})
        super().__init__(
            name or script_name,
            inputs=inputs,
            outputs=outputs,
            arguments=arguments,
            allow_reuse=allow_reuse,
            reuse_policy=reuse_policy,
            compute_target=compute_target,
            source_directory=source_directory,
            hash_paths=hash_paths,
            version=version,
        )

    @property
    def script_name(self) -> str:
        """The script to run, relative to the source directory."""
        return self._script_name

    def _settings(self, encode: ValueEncoder) -> dict[str, Any]:
        return {
            "scriptName": self._script_name,
            "params": {str(k): encode(v) for k, v in sorted(self._params.items())},
            "runconfigPipelineParams": {str(k): encode(v) for k, v in sorted(self._runconfig_params.items())},
            "runConfig": self._runconfig.to_dict() if self._runconfig is not None else None,
        }


def _compute_target(compute_target: Any, target: Any, runconfig: RunConfiguration | None) -> Any:
    if (
        target is not None
        and compute_target is not None
        and compute_target_name(target) != compute_target_name(compute_target)
    ):
        raise ValidationError(
            f"PythonScriptStep got compute_target={compute_target_name(compute_target)!r} and "
            f"target={compute_target_name(target)!r}; pass only compute_target."
        )
    if compute_target is None:
        compute_target = target
    if compute_target is None and runconfig is not None:
        compute_target = runconfig.target
    return compute_target
