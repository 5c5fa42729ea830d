"""The submit path: compile, check parameter values and scripts, upload snapshots, submit.

This is the only place that turns a Pipeline into service calls for a run; ``Experiment.submit``
and ``Pipeline.submit`` both end here. Local checks (unknown parameters, wrongly typed values,
missing scripts or source directories) fail before anything is uploaded.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from durableml import stepkinds
from durableml.client import ServiceClient
from durableml.git_info import git_properties
from durableml.exceptions import ValidationError
from durableml.pipeline.core.pipeline_parameter import PipelineParameter, parameter_type_of

if TYPE_CHECKING:
    from durableml.core.experiment import Experiment
    from durableml.pipeline.core.run import PipelineRun

__all__ = ["submit_pipeline", "parameter_values", "attach_snapshots"]


class Compiles(Protocol):
    """What is submitted: a Pipeline (this module does not import it: Pipeline.submit calls this one)."""

    def to_document(self) -> dict[str, Any]: ...


_SUBMIT_OPTIONS = {"regenerate_outputs", "continue_on_step_failure", "parent_run_id", "credential_passthrough"}


def submit_pipeline(
    experiment: Experiment,
    pipeline: Compiles,
    pipeline_parameters: Mapping[str, Any] | None,
    *,
    tags: Mapping[str, str] | None = None,
    **options: Any,
) -> PipelineRun:
    """Submit ``pipeline`` as a run of ``experiment``; return the PipelineRun."""
    from durableml.pipeline.core.run import PipelineRun

    unknown = sorted(set(options) - _SUBMIT_OPTIONS)
    if unknown:
        raise TypeError(f"submit() got unexpected keyword argument(s): {', '.join(unknown)}")
    document = pipeline.to_document()
    values = parameter_values(document, pipeline_parameters or {})
    client = experiment.workspace._client
    attach_snapshots(document, client)
    repositories: dict[str, dict[str, str]] = {}  # Git answers by repository root, for this submission
    record = client.submit_pipeline(
        document,
        experiment.name,
        values,
        regenerate_outputs=bool(options.get("regenerate_outputs", False)),
        continue_on_step_failure=bool(options.get("continue_on_step_failure", False)),
        tags=dict(tags or {}),
        properties=git_properties(os.getcwd(), repositories),
        step_properties=step_git_properties(document, repositories),
    )
    return PipelineRun(experiment, str(record["id"]), _record=record)


def step_git_properties(
    document: Mapping[str, Any], repositories: dict[str, dict[str, str]] | None = None
) -> dict[str, dict[str, str]]:
    """Each step's Git properties, from its source directory (looked up once per directory)."""
    by_directory: dict[str, dict[str, str]] = {}
    found: dict[str, dict[str, str]] = {}
    for step in document["steps"]:
        directory = os.path.abspath((step.get("snapshot") or {}).get("sourceDirectory") or ".")
        if directory not in by_directory:
            by_directory[directory] = git_properties(directory, repositories)
        if by_directory[directory]:
            found[step["id"]] = by_directory[directory]
    return found


def parameter_values(document: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``overrides`` against the declared parameters; return them as document JSON values."""
    declared = document["parameters"]
    values: dict[str, Any] = {}
    for name, value in overrides.items():
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise ValidationError(
                f"pipeline_parameters names {name!r}, which the pipeline does not declare (declared: {known})."
            )
        expected = declared[name]["type"]
        actual = parameter_type_of(value)
        if actual != expected and not (expected == "float" and actual == "int"):
            raise ValidationError(
                f"pipeline_parameters[{name!r}] is a {actual or type(value).__name__} "
                f"({value!r}), but the parameter is a {expected}."
            )
        values[name] = PipelineParameter(name, value).default_to_document()
    return values


def attach_snapshots(document: dict[str, Any], client: ServiceClient) -> None:
    """Upload each step's source directory once and record the snapshot id in the document."""
    uploaded: dict[tuple[str, tuple[str, ...]], str] = {}
    for step in document["steps"]:
        snapshot = step.get("snapshot")
        if snapshot is None:
            continue
        directory = os.path.abspath(snapshot["sourceDirectory"] or ".")
        _check_sources(step, directory)
        hash_paths = tuple(snapshot.get("hashPaths") or ())
        if (directory, hash_paths) not in uploaded:
            uploaded[directory, hash_paths] = client.upload_snapshot(directory, hash_paths)
        snapshot["id"] = uploaded[directory, hash_paths]


def _check_sources(step: Mapping[str, Any], directory: str) -> None:
    if not os.path.isdir(directory):
        raise ValidationError(
            f"Step {step['name']!r}: source_directory {step['snapshot']['sourceDirectory']!r} is not a directory "
            f"(resolved to {directory!r} from the working directory {os.getcwd()!r})."
        )
    key = stepkinds.get(step["kind"]).script_setting
    script = step["settings"].get(key) if key else None
    if script and not os.path.isfile(os.path.join(directory, script)):
        raise ValidationError(
            f"Step {step['name']!r}: script {script!r} was not found in {directory!r}. Make sure source_directory "
            "names the folder that holds the script."
        )
