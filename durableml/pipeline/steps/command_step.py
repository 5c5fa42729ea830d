"""CommandStep: run a command (an executable or script, with arguments) on a compute target (v1)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from durableml.core.runconfig import RunConfiguration
from durableml.exceptions import ValidationError
from durableml.pipeline.core.pipeline_step import PipelineStep, ValueEncoder
from durableml.pipeline.steps.python_script_step import _compute_target

__all__ = ["CommandStep"]


class CommandStep(PipelineStep):
    """Run ``command`` in ``source_directory`` (v1 signature).

    ``command`` is one string (run by the shell, as a command line: ``"python train.py --epochs 5"``,
    ``"bash prepare.sh && python train.py"``) or a list whose items are strings, inputs, outputs and
    PipelineParameters (each input or output becomes its path on the compute target, as in a
    PythonScriptStep's ``arguments``). ``name`` defaults to the command's first word. ``params`` become
    environment variables ``AML_PARAMETER_<name>``.
    """

    kind = "command"

    def __init__(
        self,
        command: str | Sequence[Any] | None = None,
        name: str | None = None,
        compute_target: Any = None,
        runconfig: RunConfiguration | None = None,
        runconfig_pipeline_params: Mapping[str, Any] | None = None,
        inputs: Sequence[Any] | None = None,
        outputs: Sequence[Any] | None = None,
        params: Mapping[str, Any] | None = None,
        source_directory: str | None = None,
        allow_reuse: bool = True,
        version: str | None = None,
    ) -> None:
        if isinstance(command, str):
            if not command.strip():
                raise ValidationError("CommandStep command must not be empty; give e.g. command='python train.py'.")
            words, shell, arguments = shlex.split(command), command, None
        elif isinstance(command, Sequence) and command:
            words, shell, arguments = [str(command[0])], None, list(command)
        else:
            raise ValidationError(
                f"CommandStep needs a command: a string such as 'python train.py --epochs 5', or a list such as "
                f"['python', 'train.py', '--data', input_data]; got {command!r}."
            )
        self._shell = shell
        self._runconfig = runconfig
        self._params = dict(params or {})
        self._runconfig_params = dict(runconfig_pipeline_params or {})
        super().__init__(
            name or (words[0] if words else "command"),
            inputs=inputs,
            outputs=outputs,
            arguments=arguments,
            allow_reuse=allow_reuse,
            compute_target=_compute_target(compute_target, None, runconfig),
            source_directory=source_directory,
            version=version,
        )

    def _settings(self, encode: ValueEncoder) -> dict[str, Any]:
        return {
            "command": self._shell,  # None: the command is the step's arguments (a list)
            "params": {str(k): encode(v) for k, v in sorted(self._params.items())},
            "runconfigPipelineParams": {str(k): encode(v) for k, v in sorted(self._runconfig_params.items())},
            "runConfig": self._runconfig.to_dict() if self._runconfig is not None else None,
        }
