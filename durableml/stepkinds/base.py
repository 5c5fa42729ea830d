"""What a step kind is to the runtime: :class:`StepKind`, and :class:`JobBasis`, what every job starts from.

A step kind (one module per kind in this package, listed in :mod:`durableml.stepkinds`) declares

* ``settings_schema``: the JSON Schema of its ``settings`` in the pipeline document (the document validator
  checks every step's settings against its kind's schema);
* ``script_setting``: the setting that names a script in the step's source directory, if any (the SDK checks
  the file exists before it uploads the snapshot);
* ``compute_types``: the compute target types Azure ML v1 accepts for the kind;
* ``to_job``: how a step of the kind becomes a :class:`~durableml.compute.base.JobSpec` for a compute backend,
  or None while durableml cannot run the kind (then a run naming it is refused at submit).

Standard library and :mod:`durableml.compute.base` only: the document validator (pure) imports this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from durableml.jobs import JobSpec

__all__ = ["JobBasis", "StepKind", "BINDING", "binding_or", "setting_value"]

BINDING: dict[str, Any] = {
    "type": "object",
    "required": ["kind"],
    "properties": {"kind": {"enum": ["literal", "parameter"]}},
}
"""A literal or parameter binding, which settings that may be PipelineParameters hold."""


def binding_or(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` (which must not accept an object), or a literal/parameter binding in its place."""
    return {"oneOf": [dict(schema), BINDING]}


def setting_value(value: Any) -> Any:
    """A setting's value: a binding (``{"kind", "value"}``) gives its value, anything else is itself.

    ``JobBasis.settings`` are bound already; this keeps a kind's ``to_job`` right for settings built by hand."""
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


@dataclass(frozen=True)
class JobBasis:
    """What the service resolved for one step run, common to every kind: the kind's ``to_job`` adds its own.

    ``arguments``, ``inputs`` and ``outputs`` are bound (parameters replaced, datastores and upstream outputs
    resolved); ``settings`` are the step's settings with parameter bindings replaced by their values.
    """

    job_id: str
    run_id: str
    step_name: str
    snapshot: str
    connection_string: str
    arguments: list[Any]
    inputs: dict[str, dict[str, Any]]
    outputs: dict[str, dict[str, Any]]
    settings: dict[str, Any]
    bindings: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The step's input bindings as the document has them (``sideInput``, ``datasetType``...), by input name."""
    notify: Optional[dict[str, Any]] = None
    experiment_name: str = ""
    parent_run_id: str = ""
    workspace: dict[str, str] = field(default_factory=dict)
    timeout: Optional[float] = None
    """Seconds the step may run (see ``durableml.service.timeouts``), or None: the job's ``timeout``."""

    def job(
        self,
        script_name: str,
        environment: Optional[Mapping[str, str]] = None,
        arguments: Optional[list[Any]] = None,
    ) -> JobSpec:
        """A JobSpec that runs ``script_name`` (a path in the snapshot, or ``durableml:<path>`` for a script
        shipped with durableml) with ``arguments`` (default: the step's) and the step's data."""
        return JobSpec(
            job_id=self.job_id,
            run_id=self.run_id,
            step_name=self.step_name,
            snapshot=self.snapshot,
            script_name=script_name,
            connection_string=self.connection_string,
            arguments=list(self.arguments if arguments is None else arguments),
            inputs=self.inputs,
            outputs=self.outputs,
            environment=dict(environment or {}),
            notify=self.notify,
            experiment_name=self.experiment_name,
            parent_run_id=self.parent_run_id,
            workspace=dict(self.workspace),
            timeout=self.timeout,
        )


@dataclass(frozen=True)
class StepKind:
    """One step kind of the pipeline document (see the module docstring)."""

    name: str
    v1_class: str
    settings_schema: Mapping[str, Any]
    compute_types: frozenset[str]
    to_job: Optional[Callable[[JobBasis], JobSpec]] = None
    script_setting: Optional[str] = None
    later: str = ""
    """While ``to_job`` is None: where running the kind is planned, for the NotSupported message."""
    settings_outputs: Optional[Callable[[Mapping[str, Any]], dict[str, dict[str, Any]]]] = None
    """Outputs a step's settings name besides its ``outputs`` (document output bindings, by name): the service
    resolves, records and uploads them like the others (DataTransferStep's DataReference destination)."""

    def outputs_of(self, step: Mapping[str, Any]) -> dict[str, Any]:
        """Every output of a document step of this kind: its ``outputs`` and those its settings name."""
        extra = self.settings_outputs(step.get("settings") or {}) if self.settings_outputs else {}
        return {**step["outputs"], **extra}

    @property
    def runnable(self) -> bool:
        """True when durableml can run steps of this kind (on some compute type)."""
        return self.to_job is not None
