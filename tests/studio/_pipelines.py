"""Pipelines the studio's browser tests submit (tests/studio/project/step.py steps on one AmlCompute target)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from durableml.core import Experiment
from durableml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from durableml.pipeline.steps import PythonScriptStep
from tests.e2e._helpers import ensure_compute

PROJECT = Path(__file__).resolve().parent / "project"


def _step(name: str, compute: Any, arguments: list[Any], **options: Any) -> PythonScriptStep:
    return PythonScriptStep(
        script_name="step.py",
        name=name,
        arguments=["--name", name, *arguments],
        compute_target=compute,
        source_directory=str(PROJECT),
        **options,
    )


def three_steps(
    ws: Any, gate: Path | None = None, fail: bool = False, reuse_train: bool = True, gate_first: Path | None = None
) -> Pipeline:
    """prepare -> train -> report over PipelineData, ``alpha`` a PipelineParameter of train; ``gate``: train waits
    for that file (``gate_first``: prepare does); ``fail``: train raises."""
    compute = ensure_compute(ws, "studio-cpu", max_nodes=2)
    store = ws.get_default_datastore()
    prepared, model = PipelineData("prepared_data", datastore=store), PipelineData("model", datastore=store)
    alpha = PipelineParameter(name="alpha", default_value=0.1)
    first_args: list[Any] = ["--out", prepared] + (["--gate", str(gate_first)] if gate_first else [])
    prepare = _step("prepare", compute, first_args, outputs=[prepared], allow_reuse=gate_first is None)
    train_args: list[Any] = ["--in", prepared, "--out", model, "--alpha", alpha]
    train_args += ["--gate", str(gate)] if gate else []
    train_args += ["--fail"] if fail else []
    train = _step("train", compute, train_args, inputs=[prepared], outputs=[model], allow_reuse=reuse_train)
    report = _step("report", compute, ["--in", model], inputs=[model])
    return Pipeline(ws, steps=[prepare, train, report])


def one_step(ws: Any) -> Pipeline:
    """A single step (``only``) on the studio-cpu target."""
    return Pipeline(ws, steps=[_step("only", ensure_compute(ws, "studio-cpu", max_nodes=1), [])])


def submit(ws: Any, pipeline: Pipeline, experiment: str, **parameters: Any) -> Any:
    return Experiment(ws, experiment).submit(pipeline, pipeline_parameters=parameters or None)


def wide(ws: Any, width: int, depth: int) -> Pipeline:
    """``width * depth`` steps: ``depth`` levels of ``width``, each step reading the one above it (fan-out graph), on
    a compute target of their own (a canceled wide run does not hold up other tests' steps)."""
    compute = ensure_compute(ws, "studio-wide", max_nodes=2)
    store = ws.get_default_datastore()
    steps, above = [], [None] * width
    for level in range(depth):
        row = []
        for column in range(width):
            out = PipelineData(f"d{level}_{column}", datastore=store)
            source = above[(column + level) % width]
            args: list[Any] = ["--out", out] + (["--in", source] if source is not None else [])
            name = f"s{level:02d}_{column:02d}"
            steps.append(_step(name, compute, args, inputs=[source] if source is not None else [], outputs=[out]))
            row.append(out)
        above = row
    return Pipeline(ws, steps=steps)
