"""Compile pipeline steps into the pipeline document (schema version 1).

The document is plain JSON: parameters with types and defaults, steps (in topological order)
with typed bindings for every argument, inputs, outputs, settings and a snapshot reference, and
the edges between steps. It is deterministic: the same pipeline gives byte-identical JSON
(``json.dumps(doc, sort_keys=True)``) in any process and working directory. Step ids are derived
from the step's content and from the ids of the steps it reads from, so a change upstream
changes every id downstream and nothing else does.
"""

from __future__ import annotations

import math
from typing import Any

from durableml._canonical import content_hash, slugify
from durableml.data.output_dataset_config import OutputFileDatasetConfig
from durableml.exceptions import Issue, PipelineValidationError
from durableml.pipeline.core.pipeline_data import PipelineData
from durableml.pipeline.core.pipeline_parameter import PipelineParameter
from durableml.pipeline.core.pipeline_step import PipelineStep
from durableml.pipeline.core.ports import Argument, InputPort, OutputPort
from durableml.pipeline.document import validate_document
from durableml.pipeline.document_schema import DOCUMENT_KIND, SCHEMA_VERSION
from durableml.pipeline.resolve import ResolvedGraph, resolve_graph

__all__ = ["compile_pipeline", "PIPELINE_DATA_DESTINATION"]

PIPELINE_DATA_DESTINATION = "azureml/{run-id}/{output-name}"


def compile_pipeline(
    steps: Any,
    description: str | None = None,
    default_datastore: str | None = None,
    default_source_directory: str | None = None,
    resolve_closure: bool = True,
    reuse_policy: str | None = None,
) -> dict[str, Any]:
    """Resolve, check and compile ``steps`` into a validated pipeline document.

    ``reuse_policy`` is the policy of steps that do not set their own (None: v1's "definition").

    Raises PipelineValidationError for a broken graph (cycles, unbound inputs, duplicate outputs,
    conflicting parameters).
    """
    graph = resolve_graph(steps, resolve_closure)
    document = _Compiler(graph, default_source_directory, reuse_policy).document(description, default_datastore)
    validate_document(document)  # a compiler bug must not reach the service
    return document


class _Compiler:
    def __init__(self, graph: ResolvedGraph, default_source_directory: str | None, reuse_policy: str | None) -> None:
        self.graph = graph
        self.reuse_policy = reuse_policy
        self.default_source_directory = default_source_directory
        self.parameters: dict[str, PipelineParameter] = {}
        self.step_ids: dict[PipelineStep, str] = {}
        self.issues: list[Issue] = []

    def document(self, description: str | None, default_datastore: str | None) -> dict[str, Any]:
        steps = [self.step_entry(step) for step in self.graph.steps]
        if self.issues:
            raise PipelineValidationError("The pipeline is not valid", self.issues)
        return {
            "schemaVersion": SCHEMA_VERSION,
            "kind": DOCUMENT_KIND,
            "description": description,
            "defaultDatastore": default_datastore,
            "parameters": {
                name: {"type": p.type, "default": p.default_to_document()}
                for name, p in sorted(self.parameters.items())
            },
            "steps": steps,
            "edges": self.edges(),
        }

    def step_entry(self, step: PipelineStep) -> dict[str, Any]:
        entry = {
            "name": step.name,
            "kind": step.kind,
            "computeTarget": step._compute_name,
            "allowReuse": step.allow_reuse,
            "version": step._version,
            "arguments": [self.argument(arg) for arg in step._arguments],
            "inputs": {str(port.name): self.input_entry(port) for port in step._ports.inputs},
            "outputs": {str(port.name): _output_entry(port) for port in step._ports.outputs},
            "runAfter": self.run_after(step),
            "settings": step._settings(self.encode),
            "snapshot": step._snapshot(self.default_source_directory),
        }
        policy = step._reuse_policy or self.reuse_policy
        if policy not in (None, "definition"):  # absent means "definition": documents of v1 pipelines unchanged
            entry["reusePolicy"] = policy
        step_id = f"{slugify(step.name)}_{content_hash(entry)[:12]}"
        suffix = 2
        while step_id in self.step_ids.values():  # identical steps in one pipeline
            step_id = f"{slugify(step.name)}_{content_hash(entry)[:12]}_{suffix}"
            suffix += 1
        self.step_ids[step] = step_id
        return {"id": step_id, **entry}

    def run_after(self, step: PipelineStep) -> list[str]:
        """Ids of the steps ``step`` waits for without reading their data (run_after, StepSequence)."""
        return sorted({self.step_ids[e.producer] for e in self.graph.edges if e.consumer is step and e.input is None})

    def argument(self, argument: Argument) -> dict[str, Any]:
        if argument.kind == "literal":
            return {"kind": "literal", "value": argument.value}
        if argument.kind == "parameter":
            return self.encode(argument.value)
        return {"kind": argument.kind, "name": argument.value.name}

    def encode(self, value: Any) -> dict[str, Any]:
        """Encode a settings value: a PipelineParameter becomes a reference, anything else a literal."""
        if isinstance(value, PipelineParameter):
            self.declare(value)
            return {"kind": "parameter", "name": value.name}
        if value is None or isinstance(value, (str, bool, int)) or (isinstance(value, float) and math.isfinite(value)):
            return {"kind": "literal", "value": value}
        return {"kind": "literal", "value": str(value)}

    def declare(self, parameter: PipelineParameter) -> None:
        known = self.parameters.setdefault(parameter.name, parameter)
        if known is not parameter and (known.type, known.default_to_document()) != (
            parameter.type,
            parameter.default_to_document(),
        ):
            self.issues.append(
                Issue(
                    "parameter_conflict",
                    f"two PipelineParameters are named {parameter.name!r} with different defaults "
                    f"({known.default_value!r} and {parameter.default_value!r}); reuse one object or rename one",
                    f"parameters.{parameter.name}",
                )
            )

    def input_entry(self, port: InputPort) -> dict[str, Any]:
        return {
            "source": self.source(port),
            "mode": port.mode,
            "pathOnCompute": port.path_on_compute,
            "overwrite": port.overwrite,
            "datasetType": port.dataset_type,
            "view": port.view,
            "sideInput": port.side_input,
        }

    def source(self, port: InputPort) -> dict[str, Any]:
        if port.source == "step_output":
            writer = self.graph.writers[id(port.data)]
            output = writer._ports.output_for(port.data)
            assert output is not None
            return {"kind": "stepOutput", "step": self.step_ids[writer], "output": output.name}
        if port.source == "datastore":
            assert port.location is not None
            return {"kind": "datastore", **port.location}
        if port.source == "parameter":
            assert port.parameter is not None
            self.declare(port.parameter)
            return {"kind": "parameter", "name": port.parameter.name}
        if port.source == "dataset":
            assert port.dataset is not None
            return {"kind": "dataset", "dataset": port.dataset.to_dict()}
        return {"kind": "sql", **(port.sql or {})}

    def edges(self) -> list[dict[str, Any]]:
        entries: set[tuple[str, str, str, str | None, str | None]] = set()
        for edge in self.graph.edges:
            start, end = self.step_ids[edge.producer], self.step_ids[edge.consumer]
            if edge.input is None:
                entries.add((start, end, "control", None, None))
            else:
                assert edge.output is not None
                entries.add((start, end, "data", edge.output.name, edge.input.name))
        return [_edge(*entry) for entry in sorted(entries, key=lambda e: tuple("" if v is None else v for v in e))]


def _edge(start: str, end: str, kind: str, output: str | None, input_name: str | None) -> dict[str, Any]:
    if kind == "control":
        return {"kind": "control", "from": start, "to": end}
    return {"kind": "data", "from": start, "to": end, "output": output, "input": input_name}


def _output_entry(port: OutputPort) -> dict[str, Any]:
    data = port.data
    if isinstance(data, PipelineData):
        return {
            "kind": "pipeline_data",
            "datastore": data.datastore_name,
            "destination": PIPELINE_DATA_DESTINATION,
            "mode": data.output_mode,
            "pathOnCompute": data.output_path_on_compute,
            "overwrite": data.output_overwrite,
            "isDirectory": data.is_directory,
            "pipelineOutputName": data.pipeline_output_name,
            "registerAs": None,
            "trainingOutput": data.training_output.to_dict() if data.training_output else None,
            "asDataset": port.as_dataset,
            "sourceGlobs": [],
        }
    assert isinstance(data, OutputFileDatasetConfig)
    return {
        "kind": "output_file_dataset",
        "datastore": data.datastore_name,
        "destination": data.path_on_datastore,
        "mode": data.mode,
        "pathOnCompute": data.source,
        "overwrite": data.overwrite,
        "isDirectory": True,
        "pipelineOutputName": None,
        "registerAs": data.registration,
        "trainingOutput": None,
        "asDataset": True,
        "sourceGlobs": list(data.source_globs),
    }
