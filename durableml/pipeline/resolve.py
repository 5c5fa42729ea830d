"""Resolve the steps a user passed to ``Pipeline`` into the complete, checked step graph.

Pipelines are often built from their last step only. Starting from the listed steps, every step
that writes data a reached step reads (PipelineData, OutputFileDatasetConfig and their views)
and every ``run_after`` predecessor is pulled in, transitively. Then the graph is checked, and
every problem is reported at once: unbound inputs, data written by two steps, duplicate output
names, two inputs of one step with the same name, and cycles (with their path).

Which step writes a data object: the one listed in the pipeline if exactly one listed step writes
it; if none is listed, the most recently created writer (so re-running a notebook cell that
redefines a step replaces the old definition).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from durableml.exceptions import Issue, PipelineValidationError
from durableml.pipeline.core.pipeline_step import PipelineStep, StepSequence
from durableml.pipeline.core.ports import InputPort, OutputPort
from durableml.pipeline.dag import find_cycle, topological_order

__all__ = ["Edge", "ResolvedGraph", "resolve_graph", "flatten_steps"]


@dataclass(frozen=True)
class Edge:
    """``consumer`` starts after ``producer``; data edges also name the output and the input."""

    producer: PipelineStep
    consumer: PipelineStep
    output: OutputPort | None = None
    input: InputPort | None = None


@dataclass
class ResolvedGraph:
    """The steps of a pipeline in topological order, the writer of each data object, the edges."""

    steps: list[PipelineStep]
    writers: dict[int, PipelineStep]
    edges: list[Edge] = field(default_factory=list)


def flatten_steps(steps: Any) -> tuple[list[PipelineStep], list[tuple[PipelineStep, PipelineStep]], list[Issue]]:
    """Flatten nested lists and StepSequences; return steps, sequence edges and problems."""
    listed: list[PipelineStep] = []
    order: list[tuple[PipelineStep, PipelineStep]] = []
    issues: list[Issue] = []

    def visit(item: Any, path: str) -> list[PipelineStep]:
        if isinstance(item, PipelineStep):
            if item not in listed:
                listed.append(item)
            return [item]
        if isinstance(item, StepSequence):
            previous: list[PipelineStep] = []
            members: list[PipelineStep] = []
            for index, group in enumerate(item.steps):
                current = visit(group, f"{path}[{index}]")
                order.extend((before, after) for before in previous for after in current)
                previous = current
                members.extend(current)
            return members
        if isinstance(item, (list, tuple)):
            return [s for index, sub in enumerate(item) for s in visit(sub, f"{path}[{index}]")]
        issues.append(Issue("not_a_step", f"{type(item).__name__} {item!r} is not a pipeline step", path))
        return []

    visit(steps if isinstance(steps, (list, tuple, StepSequence)) else [steps], "steps")
    if not listed and not issues:
        issues.append(Issue("no_steps", "a pipeline needs at least one step", "steps"))
    return listed, order, issues


class _Resolver:
    def __init__(self, listed: list[PipelineStep], resolve_closure: bool) -> None:
        self.listed = listed
        self.listed_set = set(listed)
        self.resolve_closure = resolve_closure
        self.reached: list[PipelineStep] = []
        self.writers: dict[int, PipelineStep | None] = {}
        self.issues: list[Issue] = []

    def writer_of(self, data: Any) -> PipelineStep | None:
        if id(data) not in self.writers:
            candidates = list(data._producers)
            listed = [step for step in candidates if step in self.listed_set]
            # Two listed writers are reported by _check_writers, which sees both.
            self.writers[id(data)] = listed[0] if listed else (candidates[-1] if candidates else None)
        return self.writers[id(data)]

    def visit_all(self) -> None:
        queue = list(self.listed)
        seen = set(queue)
        while queue:
            step = queue.pop(0)
            self.reached.append(step)
            for upstream in self.upstream_of(step):
                if upstream not in seen:
                    seen.add(upstream)
                    queue.append(upstream)

    def upstream_of(self, step: PipelineStep) -> list[PipelineStep]:
        found: list[PipelineStep] = []
        for port in step._ports.inputs:
            if port.source != "step_output":
                continue
            writer = self.writer_of(port.data)
            if writer is None:
                self.issues.append(
                    Issue(
                        "unbound_input",
                        f"input {port.name!r} reads {_describe(port.data)}, which no step "
                        "writes; add it to the outputs= of the step that produces it",
                        f"step {step.name!r}",
                    )
                )
            elif self.admit(writer, step, f"input {port.name!r}"):
                found.append(writer)
        found.extend(s for s in step._run_after if self.admit(s, step, "run_after"))
        return found

    def admit(self, upstream: PipelineStep, step: PipelineStep, via: str) -> bool:
        if self.resolve_closure or upstream in self.listed_set:
            return True
        self.issues.append(
            Issue(
                "unlisted_step",
                f"{via} needs step {upstream.name!r}, which is not in the pipeline "
                "(resolve_closure=False); list it in steps=",
                f"step {step.name!r}",
            )
        )
        return False


def resolve_graph(steps: Any, resolve_closure: bool = True) -> ResolvedGraph:
    """Return the checked graph of ``steps``; raise PipelineValidationError listing every problem."""
    listed, sequence, issues = flatten_steps(steps)
    resolver = _Resolver(listed, resolve_closure)
    resolver.visit_all()
    issues.extend(resolver.issues)
    reached = resolver.reached
    for step in reached:  # decide the writer of every output, read or not, to catch double writers
        for port in step._ports.outputs:
            resolver.writer_of(port.data)
    writers = {key: step for key, step in resolver.writers.items() if step is not None}
    edges = _edges(reached, writers, sequence)
    issues.extend(_check_writers(reached, writers))
    issues.extend(_check_names(reached))
    successors: dict[PipelineStep, list[PipelineStep]] = {step: [] for step in reached}
    for edge in edges:
        successors[edge.producer].append(edge.consumer)
    cycle = find_cycle(reached, successors)
    if cycle:
        path = " -> ".join(repr(step.name) for step in cycle)
        issues.append(
            Issue(
                "cycle", f"the steps form a cycle: {path}; remove a data or run_after dependency to break it", "steps"
            )
        )
    if issues:
        raise PipelineValidationError("The pipeline is not valid", _unique(issues))
    return ResolvedGraph(topological_order(reached, successors), writers, edges)


def _edges(
    reached: list[PipelineStep], writers: dict[int, PipelineStep], sequence: list[tuple[PipelineStep, PipelineStep]]
) -> list[Edge]:
    edges: list[Edge] = []
    members = set(reached)
    for step in reached:
        for port in step._ports.inputs:
            writer = writers.get(id(port.data)) if port.source == "step_output" else None
            if writer in members:
                edges.append(Edge(writer, step, writer._ports.output_for(port.data), port))
        edges.extend(Edge(before, step) for before in step._run_after if before in members)
    edges.extend(Edge(before, after) for before, after in sequence)
    return edges


def _check_writers(reached: list[PipelineStep], writers: dict[int, PipelineStep]) -> Iterable[Issue]:
    for step in reached:
        for port in step._ports.outputs:
            writer = writers.get(id(port.data))
            if writer is not None and writer is not step:
                yield Issue(
                    "duplicate_producer",
                    f"{_describe(port.data)} is written by steps {writer.name!r} and "
                    f"{step.name!r}; each output must be written by exactly one step",
                    f"step {step.name!r}",
                )


def _check_names(reached: list[PipelineStep]) -> Iterable[Issue]:
    outputs: dict[str, tuple[PipelineStep, Any]] = {}
    pipeline_outputs: dict[str, PipelineStep] = {}
    for step in reached:
        yield from _duplicates([p.name for p in step._ports.inputs if p.name], "input", step)
        for port in step._ports.outputs:
            name = str(port.name)
            first = outputs.setdefault(name, (step, port.data))
            if first[1] is not port.data:
                yield Issue(
                    "duplicate_output",
                    f"output name {name!r} is used by steps {first[0].name!r} and {step.name!r}; "
                    "give each output a unique name",
                    f"step {step.name!r}",
                )
            public = getattr(port.data, "pipeline_output_name", None)
            if public and pipeline_outputs.setdefault(public, step) is not step:
                yield Issue(
                    "duplicate_output",
                    f"pipeline_output_name {public!r} is used twice; make it unique",
                    f"step {step.name!r}",
                )


def _duplicates(names: Sequence[str], what: str, step: PipelineStep) -> Iterable[Issue]:
    for name in sorted({n for n in names if names.count(n) > 1}):
        yield Issue(
            f"duplicate_{what}",
            f"two different {what}s are named {name!r}; give each a distinct name",
            f"step {step.name!r}",
        )


def _describe(data: Any) -> str:
    return f"{type(data).__name__} {data.name!r}"


def _unique(issues: list[Issue]) -> list[Issue]:
    return list(dict.fromkeys(issues))
