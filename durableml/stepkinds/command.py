"""CommandStep (``command``): a command line (run by the shell) or a program with arguments (v1's
``azureml.pipeline.steps.CommandStep``), in the step's source snapshot.

The job runs durableml's driver (:mod:`durableml.runner.command`), which ``exec``s the command, so the
command is the step's process (output, exit code, cancel and timeouts as for a PythonScriptStep).
``params`` reach it as ``AML_PARAMETER_<name>``, as in v1.
"""

from __future__ import annotations

from typing import Any

from durableml.jobs import JobSpec
from durableml.stepkinds.base import JobBasis, StepKind
from durableml.stepkinds.python_script import parameter_environment

DRIVER = "durableml:runner/command.py"

_SETTINGS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "command": {"type": ["string", "null"]},
        "params": {"type": "object"},
        "runconfigPipelineParams": {"type": "object"},
        "runConfig": {"type": ["object", "null"]},
    },
}


def to_job(basis: JobBasis) -> JobSpec:
    """The driver with the command line (string form) or ``--`` and the step's arguments (list form)."""
    command = basis.settings.get("command")
    arguments: list[Any] = ["--durableml-shell", str(command)] if command else ["--", *basis.arguments]
    if arguments == ["--"]:
        raise ValueError(f"CommandStep {basis.step_name!r} has no command to run")
    return basis.job(DRIVER, parameter_environment(basis.settings), arguments)


KIND = StepKind(
    name="command",
    v1_class="CommandStep",
    settings_schema=_SETTINGS,
    compute_types=frozenset({"AmlCompute", "ComputeInstance", "local"}),
    to_job=to_job,
)
