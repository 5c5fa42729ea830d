"""The step kinds of the pipeline document: one module per kind, listed once in :data:`KINDS`.

Adding a kind is one new module in this package (a :class:`~durableml.stepkinds.base.StepKind` named
``KIND``) plus one line below. The document schema takes the kind names from here and the validator each
kind's settings schema; the SDK checks a kind's script exists before it uploads the snapshot; the service
refuses, at submit, a run whose steps durableml cannot run (:func:`check_runnable`), and builds each step's
job with its kind's ``to_job``.
"""

from __future__ import annotations

from typing import Callable, Mapping, Optional, Sequence

from durableml.exceptions import NotSupportedError
from durableml.stepkinds import adla, command, data_transfer, databricks, parallel_run, python_script
from durableml.stepkinds.base import JobBasis, StepKind

__all__ = ["KINDS", "JobBasis", "StepKind", "get", "check_runnable", "runnable_problem"]

KINDS: Mapping[str, StepKind] = {
    kind.name: kind
    for kind in (
        python_script.KIND,
        parallel_run.KIND,
        databricks.KIND,
        data_transfer.KIND,
        adla.KIND,
        command.KIND,
    )
}


def get(name: str) -> StepKind:
    """The step kind called ``name`` in pipeline documents (the document validator has checked the name)."""
    try:
        return KINDS[name]
    except KeyError:
        raise NotSupportedError(f"step kind {name!r}", f"Known kinds: {sorted(KINDS)}.") from None


def runnable_problem(
    kind: StepKind, compute_name: str, compute_type: str, backend_types: frozenset[str]
) -> Optional[str]:
    """Why a step of ``kind`` cannot run on compute target ``compute_name`` of ``compute_type``; None if it can."""
    if not kind.runnable:
        return f"durableml cannot run {kind.v1_class} steps yet ({kind.later})"
    if compute_type not in kind.compute_types:
        wanted = " or ".join(sorted(kind.compute_types))
        return f"a {kind.v1_class} runs on a {wanted} target; '{compute_name}' is {compute_type}"
    if compute_type not in backend_types:
        return f"durableml cannot run steps on {compute_type} targets yet (it runs them on {sorted(backend_types)})"
    return None


def check_runnable(
    steps: Sequence[Mapping[str, object]],
    compute_type: Callable[[Optional[str]], tuple[str, str]],
    backend_types: frozenset[str],
) -> None:
    """Raise NotSupportedError naming every step that durableml cannot run, and why.

    ``compute_type(name)`` gives ``(target name, target type)`` for a step's ``computeTarget`` (None: the
    built-in local target).
    """
    problems: list[str] = []
    for step in steps:
        target, kind_of_target = compute_type(step.get("computeTarget"))  # type: ignore[arg-type]
        problem = runnable_problem(get(str(step["kind"])), target, kind_of_target, backend_types)
        if problem:
            problems.append(f"step '{step['name']}': {problem}")
    if problems:
        raise NotSupportedError(
            "running " + ("this step" if len(problems) == 1 else "these steps"),
            "; ".join(problems) + ". Nothing was started.",
        )
