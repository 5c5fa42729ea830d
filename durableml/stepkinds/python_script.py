"""PythonScriptStep (``python_script``): ``python <script_name> <arguments>`` in the step's source snapshot.

v1 also hands the step's ``params`` to the script as environment variables ``AML_PARAMETER_<name>``.
"""

from __future__ import annotations

from typing import Any

from durableml.jobs import JobSpec
from durableml.stepkinds.base import JobBasis, StepKind, setting_value

_SETTINGS: dict[str, Any] = {
    "type": "object",
    "required": ["scriptName"],
    "properties": {
        "scriptName": {"type": "string", "minLength": 1},
        "params": {"type": "object"},
        "runconfigPipelineParams": {"type": "object"},
        "runConfig": {"type": ["object", "null"]},
    },
}


def to_job(basis: JobBasis) -> JobSpec:
    """The job: the step's script with its arguments; ``params`` as ``AML_PARAMETER_<name>``."""
    return basis.job(str(basis.settings["scriptName"]), parameter_environment(basis.settings))


def parameter_environment(settings: dict[str, Any]) -> dict[str, str]:
    """A step's ``params`` as v1 hands them to the step: environment variables ``AML_PARAMETER_<name>``."""
    return {
        f"AML_PARAMETER_{name}": str(setting_value(value)) for name, value in (settings.get("params") or {}).items()
    }


KIND = StepKind(
    name="python_script",
    v1_class="PythonScriptStep",
    settings_schema=_SETTINGS,
    compute_types=frozenset({"AmlCompute", "ComputeInstance", "local", "RemoteCompute"}),
    to_job=to_job,
    script_setting="scriptName",
)
