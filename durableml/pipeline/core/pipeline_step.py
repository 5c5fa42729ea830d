"""PipelineStep, the base of every step, and StepSequence.

A step knows its name, its ports (see :mod:`durableml.pipeline.core.ports`), the steps it must
run after, its compute target and its source snapshot. Each subclass adds its kind-specific
settings through :meth:`PipelineStep._settings`, which the compiler calls with an encoder for
values that may be PipelineParameters.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

from durableml._canonical import slugify
from durableml._names import check_non_empty
from durableml.core.runconfig import compute_target_name
from durableml.data.output_dataset_config import OutputFileDatasetConfig
from durableml.exceptions import ValidationError
from durableml.pipeline.core.ports import Argument, StepPorts

__all__ = ["PipelineStep", "StepSequence", "ValueEncoder"]

ValueEncoder = Callable[[Any], dict[str, Any]]
"""Turns a literal or a PipelineParameter into a document binding (``{"kind": ...}``)."""

_creation_order = itertools.count()


class PipelineStep:
    """Base class of pipeline steps (v1 ``azureml.pipeline.core.PipelineStep``)."""

    kind: ClassVar[str] = ""

    def __init__(
        self,
        name: str,
        *,
        inputs: Sequence[Any] | None = None,
        outputs: Sequence[Any] | None = None,
        arguments: Sequence[Any] | None = None,
        side_inputs: Sequence[Any] | None = None,
        allow_reuse: bool = True,
        compute_target: Any = None,
        source_directory: str | None = None,
        hash_paths: Sequence[str] | None = None,
        version: str | None = None,
        reuse_policy: str | None = None,
    ) -> None:
        self._name = check_non_empty(name, f"{type(self).__name__} name")
        self._reuse_policy = check_reuse_policy(reuse_policy, f"Step {self._name!r}")
        self._creation_index = next(_creation_order)
        self._allow_reuse = _flag(allow_reuse, "allow_reuse", self._name)
        self._compute_target = compute_target
        self._compute_name = compute_target_name(compute_target)
        self._source_directory = source_directory
        self._hash_paths = sorted({str(p) for p in hash_paths or ()})
        self._version = None if version is None else str(version)
        self._run_after: list[PipelineStep] = []
        self._ports = StepPorts(self._name)
        self._arguments = self._bind(arguments, inputs, outputs, side_inputs)

    def _bind(
        self,
        arguments: Sequence[Any] | None,
        inputs: Sequence[Any] | None,
        outputs: Sequence[Any] | None,
        side_inputs: Sequence[Any] | None,
    ) -> list[Argument]:
        label = f"Step {self._name!r}"
        for index, item in enumerate(_as_list(outputs, "outputs", label)):
            self._ports.add_output(item, f"{label} outputs[{index}]")
        for index, item in enumerate(_as_list(inputs, "inputs", label)):
            self._ports.add_input(item, f"{label} inputs[{index}]")
        for index, item in enumerate(_as_list(side_inputs, "side_inputs", label)):
            self._ports.add_input(item, f"{label} side_inputs[{index}]", side_input=True)
        bound = [
            self._ports.bind_argument(item, f"{label} arguments[{index}]")
            for index, item in enumerate(_as_list(arguments, "arguments", label))
        ]
        self._claim_outputs()
        return bound

    def _claim_outputs(self) -> None:
        unnamed = 0
        for port in self._ports.outputs:
            port.data._producers.append(self)
            if isinstance(port.data, OutputFileDatasetConfig) and port.data.name is None:
                port.data.name = f"{slugify(self._name, 30)}_output_{unnamed}"
                unnamed += 1

    @property
    def name(self) -> str:
        """The step's display name (``find_step_run(name)`` looks it up)."""
        return self._name

    @property
    def allow_reuse(self) -> bool:
        """Whether an unchanged step may reuse an earlier run's results."""
        return self._allow_reuse

    def run_after(self, step: PipelineStep) -> None:
        """Make this step start only after ``step`` has finished."""
        if not isinstance(step, PipelineStep):
            raise ValidationError(f"run_after() of step {self._name!r} needs a pipeline step, got {step!r}.")
        if step is self:
            raise ValidationError(f"Step {self._name!r} cannot run after itself.")
        if step not in self._run_after:
            self._run_after.append(step)

    def _settings(self, encode: ValueEncoder) -> dict[str, Any]:
        """Return the kind-specific settings of the document's step entry."""
        raise NotImplementedError(f"{type(self).__name__} does not define its settings")

    def _snapshot(self, default_source_directory: str | None) -> dict[str, Any] | None:
        """Return the snapshot reference (filled with an id by the submit path), or None."""
        return {
            "sourceDirectory": self._source_directory or default_source_directory,
            "hashPaths": list(self._hash_paths),
            "id": None,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self._name!r})"


class StepSequence:
    """Steps that run one after another: each group starts after the previous group finished."""

    def __init__(self, steps: Sequence[Any] | None = None) -> None:
        self.steps = list(steps or [])
        if not self.steps:
            raise ValidationError("StepSequence needs at least one step.")


def check_reuse_policy(policy: str | None, owner: str) -> str | None:
    """``policy`` if it is None or one of REUSE_POLICIES; a ValidationError naming ``owner`` otherwise."""
    from durableml.pipeline.document_schema import REUSE_POLICIES

    if policy is not None and policy not in REUSE_POLICIES:
        raise ValidationError(
            f"{owner}: reuse_policy must be one of {', '.join(map(repr, REUSE_POLICIES))} (or None to follow the "
            f"pipeline), got {policy!r}."
        )
    return policy


def _as_list(value: Any, what: str, label: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError(f"{label}: {what} must be a list, got {type(value).__name__} {value!r}.")
    items = list(value)
    if isinstance(value, (set, frozenset)):
        items.sort(key=repr)  # sets have no order; sort so the document does not depend on hashing
    return items


def _flag(value: Any, what: str, step: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"Step {step!r}: {what} must be True or False, got {value!r}.")
    return value
