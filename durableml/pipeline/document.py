"""Validate a pipeline document: the check the SDK runs after compiling and the service runs on
every document it receives. Pure: no I/O, no SDK objects, no clock.

First the shape (``DOCUMENT_SCHEMA``), then the meaning: unique step ids, references to
parameters, inputs, outputs and steps that exist, parameter defaults of the declared type, output
names used once, edges that match the steps' inputs and ``runAfter``, and no cycles (reported
with their path). Every problem is reported, each with its location in the document.

Containment (:func:`path_issues`): every path the document gives that reaches a file system or a blob name
stays inside its root, by the rules of :mod:`durableml._names`: a step's script (``scriptName``,
``entryScript``, a DatabricksStep's ``python_script_name``) and ParallelRunStep's ``appendRowFileName`` are
relative to the step's snapshot or output folder; data paths (datastore inputs, dataset paths, output
destinations, a DataTransferStep's destination, DataPath defaults) are paths in their datastore; an input's
``pathOnCompute`` has no ``..`` (it may be absolute, as in v1); a snapshot id is a snapshot id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from durableml import stepkinds
from durableml._names import check_blob_prefix, check_compute_path, check_relative_path
from durableml.exceptions import DocumentValidationError, Issue, ValidationError
from durableml.pipeline.dag import find_cycle
from durableml.pipeline.document_schema import DOCUMENT_SCHEMA, SCHEMA_VERSION
from durableml.pipeline.schema_check import check_schema

__all__ = ["validate_document", "document_issues", "path_issues", "check_paths"]

_SCALAR_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "int": (int,), "float": (int, float), "bool": (bool,)}
_DATA_PARAMETER_TYPES = {"datapath": None, "file_dataset": "file", "tabular_dataset": "tabular"}


def validate_document(document: Any) -> None:
    """Raise DocumentValidationError listing every problem of ``document``; return None if valid."""
    issues = document_issues(document)
    if issues:
        raise DocumentValidationError("The pipeline document is not valid", issues)


def document_issues(document: Any) -> list[Issue]:
    """Return every problem of ``document`` (an empty list when it is valid)."""
    if not isinstance(document, dict):
        return [Issue("schema", f"a pipeline document must be a JSON object, got {type(document).__name__}", "$")]
    version = document.get("schemaVersion")
    if version != SCHEMA_VERSION:
        return [
            Issue(
                "schema_version",
                f"schemaVersion {version!r} is not supported; this version of durableml "
                f"reads schemaVersion {SCHEMA_VERSION}. Recompile the pipeline with a matching SDK.",
                "$.schemaVersion",
            )
        ]
    issues = check_schema(document, DOCUMENT_SCHEMA)
    if issues:
        return issues
    return _Semantics(document).issues() + path_issues(document)


def check_paths(document: Mapping[str, Any]) -> None:
    """Raise DocumentValidationError if a path of ``document`` (valid in shape) could leave its root; the service
    runs it again once submitted parameter values are bound into the document."""
    issues = path_issues(document)
    if issues:
        raise DocumentValidationError("The pipeline document names a path that is not allowed", issues)


_SNAPSHOT_ID = re.compile(r"^[0-9a-f]{64}$")
_PLAIN_PATH_SETTINGS = {"parallel_run": ("appendRowFileName",)}
"""Settings that name a file relative to a folder of the step, besides each kind's ``script_setting``."""


def path_issues(document: Mapping[str, Any]) -> list[Issue]:
    """Every path of ``document`` (valid in shape) that could leave its root, as Issues (see the module doc)."""
    found: list[Issue] = []

    def check(checker: Any, value: Any, what: str, where: str) -> None:
        try:
            checker(value, what)
        except ValidationError as exc:
            found.append(Issue("bad_path", str(exc), where))

    for name, spec in document["parameters"].items():
        default = spec.get("default")
        if spec["type"] == "datapath" and isinstance(default, Mapping):
            check(check_blob_prefix, default.get("path"), "DataPath path", f"$.parameters.{name}.default.path")
        if spec["type"] in ("file_dataset", "tabular_dataset") and isinstance(default, Mapping):
            _dataset_paths(default, f"$.parameters.{name}.default", check)
    for index, step in enumerate(document["steps"]):
        _step_paths(step, f"$.steps[{index}]", check)
    return found


def _step_paths(step: Mapping[str, Any], path: str, check: Any) -> None:
    settings, kind = step["settings"], stepkinds.get(step["kind"])
    names = ((kind.script_setting,) if kind.script_setting else ()) + _PLAIN_PATH_SETTINGS.get(step["kind"], ())
    for key in names:
        if isinstance(settings.get(key), str):
            check(check_relative_path, settings[key], f"settings.{key}", f"{path}.settings.{key}")
    target = settings.get("target")
    if step["kind"] == "databricks" and isinstance(target, Mapping) and target.get("kind") == "python_script_name":
        check(check_relative_path, target.get("value"), "python_script_name", f"{path}.settings.target.value")
    snapshot = step.get("snapshot") or {}
    if snapshot.get("id") is not None and not _SNAPSHOT_ID.match(str(snapshot["id"])):
        message = f"snapshot id {str(snapshot['id'])[:80]!r} is not a snapshot id (64 lowercase hex digits)"
        check(_refuse(message), snapshot["id"], "snapshot id", f"{path}.snapshot.id")
    for name, spec in step["inputs"].items():
        if spec.get("pathOnCompute") is not None:
            where = f"{path}.inputs.{name}.pathOnCompute"
            check(check_compute_path, spec["pathOnCompute"], f"input {name!r} path_on_compute", where)
        source = spec["source"]
        if source["kind"] == "datastore":
            check(check_blob_prefix, source.get("path"), f"input {name!r} path", f"{path}.inputs.{name}.source.path")
        elif source["kind"] == "dataset":
            _dataset_paths(source["dataset"], f"{path}.inputs.{name}.source.dataset", check)
    for name, spec in step["outputs"].items():
        where = f"{path}.outputs.{name}.destination"
        check(check_blob_prefix, spec.get("destination"), f"output {name!r} destination", where)
    destination = settings.get("destination")
    if step["kind"] == "data_transfer" and isinstance(destination, Mapping) and destination.get("path") is not None:
        where = f"{path}.settings.destination.path"  # an output the kind makes of its settings (settings_outputs)
        check(check_blob_prefix, destination["path"], "destination path", where)


def _dataset_paths(dataset: Mapping[str, Any], path: str, check: Any) -> None:
    for position, entry in enumerate(dataset.get("paths") or ()):
        if isinstance(entry, Mapping) and "path" in entry:
            check(check_blob_prefix, entry["path"], "dataset path", f"{path}.paths[{position}].path")


def _refuse(message: str) -> Any:
    def refuse(value: Any, what: str) -> None:
        raise ValidationError(message)

    return refuse


class _Semantics:
    def __init__(self, document: dict[str, Any]) -> None:
        self.doc = document
        self.parameters: dict[str, Any] = document["parameters"]
        self.steps: list[dict[str, Any]] = document["steps"]
        self.by_id: dict[str, dict[str, Any]] = {}
        self.found: list[Issue] = []

    def issues(self) -> list[Issue]:
        self.check_parameters()
        self.index_steps()
        for index, step in enumerate(self.steps):
            self.check_step(index, step)
        self.check_output_names()
        expected = self.check_edges()
        self.check_cycles(expected)
        return self.found

    def add(self, code: str, message: str, path: str) -> None:
        self.found.append(Issue(code, message, path))

    def check_parameters(self) -> None:
        for name, spec in self.parameters.items():
            path = f"$.parameters.{name}.default"
            kind, default = spec["type"], spec["default"]
            if kind in _SCALAR_TYPES:
                ok = isinstance(default, _SCALAR_TYPES[kind]) and (kind == "bool" or not isinstance(default, bool))
                if not ok:
                    self.add("parameter_type", f"default {default!r} of parameter {name!r} is not a {kind}", path)
            elif kind == "datapath":
                if not (
                    isinstance(default, dict)
                    and isinstance(default.get("path"), str)
                    and isinstance(default.get("datastore"), (str, type(None)))
                ):
                    self.add(
                        "parameter_type",
                        f"default of DataPath parameter {name!r} must be {{'datastore', 'path'}}, got {default!r}",
                        path,
                    )
            else:
                self.found.extend(check_schema(default, DOCUMENT_SCHEMA["$defs"]["dataset"], DOCUMENT_SCHEMA, path))
                if isinstance(default, dict) and default.get("datasetType") != _DATA_PARAMETER_TYPES[kind]:
                    self.add(
                        "parameter_type",
                        f"default of {kind} parameter {name!r} has datasetType {default.get('datasetType')!r}",
                        path,
                    )

    def index_steps(self) -> None:
        for index, step in enumerate(self.steps):
            if step["id"] in self.by_id:
                self.add(
                    "duplicate_step_id", f"step id {step['id']!r} is used by more than one step", f"$.steps[{index}].id"
                )
            self.by_id.setdefault(step["id"], step)

    def check_step(self, index: int, step: dict[str, Any]) -> None:
        path = f"$.steps[{index}]"
        kind = stepkinds.get(step["kind"])
        missing = [key for key in kind.settings_schema.get("required", ()) if key not in step["settings"]]
        for key in missing:
            self.add("settings", f"{step['kind']} step {step['name']!r} needs settings.{key}", f"{path}.settings")
        if not missing:  # then the kind's settings schema (durableml.stepkinds.<kind>)
            self.found.extend(check_schema(step["settings"], kind.settings_schema, path=f"{path}.settings"))
        for position, argument in enumerate(step["arguments"]):
            self.check_binding(argument, step, f"{path}.arguments[{position}]")
        for ref, where in _parameter_refs(step["settings"], f"{path}.settings"):
            self.check_binding(ref, step, where)
        for name, spec in step["inputs"].items():
            self.check_input(step, spec, f"{path}.inputs.{name}")
        for position, other in enumerate(step["runAfter"]):
            if other not in self.by_id or other == step["id"]:
                self.add(
                    "bad_reference",
                    f"runAfter names step {other!r}, which is not another step of this document",
                    f"{path}.runAfter[{position}]",
                )

    def check_binding(self, binding: Mapping[str, Any], step: dict[str, Any], path: str) -> None:
        kind, name = binding["kind"], str(binding.get("name"))
        if kind == "parameter" and name not in self.parameters:
            self.add("bad_reference", f"parameter {name!r} is not declared in $.parameters", path)
        elif kind == "parameter" and self.parameters[name]["type"] in _DATA_PARAMETER_TYPES:
            self.add(
                "bad_reference", f"parameter {name!r} is a {self.parameters[name]['type']}; bind it as an input", path
            )
        elif kind == "input" and name not in step["inputs"]:
            self.add(
                "bad_reference",
                f"argument refers to input {name!r}, which step {step['name']!r} does not declare",
                path,
            )
        elif kind == "output" and name not in step["outputs"]:
            self.add(
                "bad_reference",
                f"argument refers to output {name!r}, which step {step['name']!r} does not declare",
                path,
            )

    def check_input(self, step: dict[str, Any], spec: dict[str, Any], path: str) -> None:
        source = spec["source"]
        if source["kind"] == "stepOutput":
            producer = self.by_id.get(source["step"])
            if producer is None or source["output"] not in producer["outputs"]:
                self.add(
                    "unbound_input",
                    f"reads output {source['output']!r} of step {source['step']!r}, which does not exist",
                    path,
                )
        elif source["kind"] == "parameter":
            declared = self.parameters.get(source["name"])
            if declared is None or declared["type"] not in _DATA_PARAMETER_TYPES:
                self.add(
                    "bad_reference",
                    f"reads parameter {source['name']!r}, which is not a declared DataPath or dataset parameter",
                    path,
                )
            elif _DATA_PARAMETER_TYPES[declared["type"]] != spec["datasetType"]:
                self.add(
                    "bad_reference",
                    f"datasetType {spec['datasetType']!r} does not match "
                    f"parameter {source['name']!r} of type {declared['type']}",
                    path,
                )

    def check_output_names(self) -> None:
        seen: dict[str, str] = {}
        for index, step in enumerate(self.steps):
            for name in step["outputs"]:
                if seen.setdefault(name, step["id"]) != step["id"]:
                    self.add(
                        "duplicate_output",
                        f"output name {name!r} is also used by step {seen[name]!r}; output names must be unique",
                        f"$.steps[{index}].outputs.{name}",
                    )

    def check_edges(self) -> list[tuple[str, str]]:
        expected = set(self._implied_edges())
        given: set[tuple[Any, ...]] = set()
        for index, edge in enumerate(self.doc["edges"]):
            key = (edge["kind"], edge["from"], edge["to"], edge.get("output"), edge.get("input"))
            given.add(key)
            if key not in expected:
                self.add("bad_edge", f"edge {edge!r} is not implied by any step input or runAfter", f"$.edges[{index}]")
        for key in sorted(expected - given, key=repr):
            self.add("missing_edge", f"{key[0]} edge from {key[1]!r} to {key[2]!r} is missing from $.edges", "$.edges")
        return sorted({(key[1], key[2]) for key in expected})

    def _implied_edges(self) -> Iterable[tuple[Any, ...]]:
        for step in self.steps:
            for name, spec in step["inputs"].items():
                source = spec["source"]
                if source["kind"] == "stepOutput" and source["step"] in self.by_id:
                    yield ("data", source["step"], step["id"], source["output"], name)
            for other in step["runAfter"]:
                if other in self.by_id:
                    yield ("control", other, step["id"], None, None)

    def check_cycles(self, edges: list[tuple[str, str]]) -> None:
        successors: dict[str, list[str]] = {step_id: [] for step_id in self.by_id}
        for producer, consumer in edges:
            successors[producer].append(consumer)
        cycle = find_cycle(list(self.by_id), successors)
        if cycle:
            path = " -> ".join(f"{step_id} ({self.by_id[step_id]['name']!r})" for step_id in cycle)
            self.add("cycle", f"the steps form a cycle: {path}", "$.steps")


def _parameter_refs(value: Any, path: str) -> Iterable[tuple[dict[str, Any], str]]:
    """Yield every ``{"kind": "parameter", "name": ...}`` binding nested in step settings."""
    if isinstance(value, dict):
        if value.get("kind") == "parameter" and set(value) == {"kind", "name"}:
            yield value, path
            return
        for key, item in value.items():
            yield from _parameter_refs(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _parameter_refs(item, f"{path}[{index}]")
