"""Pipeline shapes end to end: a diamond, a fan-out of 20 joined by one step, run_after ordering without
data, PipelineParameter arguments overridden at submit, and a step script that imports azureml unchanged.

Every step is ``projects/steps/step.py``; each appends start/end lines to a per-test journal, so the
tests see how often and in what order the scripts ran, and each output's ``names.txt`` carries the
names of every step upstream of it, so a join proves which outputs it saw.
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from durableml.core import Experiment
from durableml.pipeline.core import Pipeline, PipelineData
from durableml.pipeline.core.graph import PipelineParameter
from durableml.pipeline.steps import PythonScriptStep

from ._helpers import STEPS_DIR, ensure_compute, journal_counts, journal_events, step, step_summary

EXPERIMENT = "e2e-shapes"


@pytest.fixture(scope="module")
def env(service: Any) -> dict[str, Any]:
    ws = service.workspace()
    compute = ensure_compute(ws, max_nodes=4)
    return {"ws": ws, "compute": compute, "store": ws.get_default_datastore(), "service": service}


def finish(env: dict[str, Any], pipeline: Pipeline, **submit: Any) -> Any:
    run: Any = Experiment(env["ws"], EXPERIMENT).submit(pipeline, **submit)
    status = run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
    assert status == "Finished", f"{status}\n{step_summary(run)}\n{env['service'].log_tail()}"
    return run


def output_names(run: Any, step_name: str, output: str, where: Path) -> set[str]:
    data = run.find_step_run(step_name)[0].get_output_data(output)
    data.download(local_path=str(where))
    return set((where / data.path_on_datastore / "names.txt").read_text().split())


def span(journal: Path, name: str) -> tuple[float, float]:
    events = {kind: when for kind, step_name, _pid, when in journal_events(journal) if step_name == name}
    return events["start"], events["end"]


def test_diamond(env: dict[str, Any], tmp_path: Path) -> None:
    journal, store, compute = tmp_path / "journal.txt", env["store"], env["compute"]
    a_out, b_out, c_out, d_out = (PipelineData(f"{n}_out", datastore=store) for n in "abcd")
    step("A", journal, compute, output=a_out)  # A, B and C are reached from D through the data edges
    step("B", journal, compute, inputs=[a_out], output=b_out)
    step("C", journal, compute, inputs=[a_out], output=c_out)
    d = step("D", journal, compute, inputs=[b_out, c_out], output=d_out)
    pipeline = Pipeline(workspace=env["ws"], steps=[d])
    pipeline.validate()
    run = finish(env, pipeline)

    assert sorted(s.name for s in run.get_steps()) == ["A", "B", "C", "D"]
    assert output_names(run, "D", "d_out", tmp_path / "dl") == {"A", "B", "C", "D"}
    assert journal_counts(journal, "start") == {"A": 1, "B": 1, "C": 1, "D": 1}
    assert span(journal, "A")[1] <= min(span(journal, "B")[0], span(journal, "C")[0])
    assert max(span(journal, "B")[1], span(journal, "C")[1]) <= span(journal, "D")[0]


def test_pipeline_output_by_its_pipeline_output_name(env: dict[str, Any], tmp_path: Path) -> None:
    store = env["store"]
    middle = PipelineData("middle", datastore=store)
    final = PipelineData("final", datastore=store, pipeline_output_name="the_result")
    step("producer", tmp_path / "journal.txt", env["compute"], output=middle)
    last = step("consumer", tmp_path / "journal.txt", env["compute"], inputs=[middle], output=final)
    run = finish(env, Pipeline(workspace=env["ws"], steps=[last]))
    result = run.get_pipeline_output("the_result")
    assert result.path_on_datastore == run.find_step_run("consumer")[0].get_output_data("final").path_on_datastore
    result.download(local_path=str(tmp_path / "dl"))
    assert (tmp_path / "dl" / result.path_on_datastore / "names.txt").read_text().split() == ["consumer", "producer"]


def test_fan_out_of_20_joined_by_one_step(env: dict[str, Any], tmp_path: Path) -> None:
    journal, store, compute = tmp_path / "journal.txt", env["store"], env["compute"]
    names = [f"F{i:02d}" for i in range(20)]
    outs = [PipelineData(f"out_{name}", datastore=store) for name in names]
    fan = [
        step(name, journal, compute, output=out, extra=["--sleep", "0.2"])
        for name, out in zip(names, outs, strict=True)
    ]
    joined = PipelineData("joined", datastore=store)
    join = step("join", journal, compute, inputs=outs, output=joined)
    started = time.monotonic()
    run = finish(env, Pipeline(workspace=env["ws"], steps=[*fan, join]))
    elapsed = time.monotonic() - started

    assert output_names(run, "join", "joined", tmp_path / "dl") == {*names, "join"}
    assert journal_counts(journal, "start") == {**{n: 1 for n in names}, "join": 1}
    spans = [span(journal, n) for n in names]
    assert max(end for _start, end in spans) <= span(journal, "join")[0]
    # The 20 steps run in parallel (max_nodes=4): some of them overlap in time.
    overlapping = max(sum(1 for s, e in spans if s <= t < e) for t, _e in spans)
    assert overlapping >= 2, f"no two fan-out steps ran at once: {spans}"
    assert elapsed < 60, f"the fan-out took {elapsed:.1f} s"


def test_run_after_orders_steps_without_data(env: dict[str, Any], tmp_path: Path) -> None:
    journal, compute = tmp_path / "journal.txt", env["compute"]
    first = step("first", journal, compute, extra=["--sleep", "0.5"])
    second = step("second", journal, compute)
    third = step("third", journal, compute)
    second.run_after(first)
    third.run_after(second)
    finish(env, Pipeline(workspace=env["ws"], steps=[third]))  # first and second come in through run_after
    assert journal_counts(journal, "start") == {"first": 1, "second": 1, "third": 1}
    assert span(journal, "first")[1] <= span(journal, "second")[0]
    assert span(journal, "second")[1] <= span(journal, "third")[0]


def test_pipeline_parameters_default_and_overridden(env: dict[str, Any], tmp_path: Path) -> None:
    journal, store, compute = tmp_path / "journal.txt", env["store"], env["compute"]
    greeting = PipelineParameter(name="greeting", default_value="hello")
    count = PipelineParameter(name="count", default_value=10)
    s_out, i_out = PipelineData("s_out", datastore=store), PipelineData("i_out", datastore=store)
    text_step = step("text", journal, compute, output=s_out, extra=["--value", greeting])
    int_step = step("number", journal, compute, output=i_out, extra=["--value", count])
    pipeline = Pipeline(workspace=env["ws"], steps=[text_step, int_step])

    def values(run: Any, where: Path) -> tuple[str, str]:
        got = []
        for name, output in (("text", "s_out"), ("number", "i_out")):
            data = run.find_step_run(name)[0].get_output_data(output)
            data.download(local_path=str(where))
            got.append((where / data.path_on_datastore / "value.txt").read_text())
        return got[0], got[1]

    default_run = finish(env, pipeline)
    assert values(default_run, tmp_path / "default") == ("hello", "10")
    overridden = finish(env, pipeline, pipeline_parameters={"greeting": "bonjour", "count": 45})
    assert values(overridden, tmp_path / "overridden") == ("bonjour", "45")
    assert "got value='45'" in overridden.find_step_run("number")[0].get_job_log()
    assert overridden.get_details()["parameters"] == {"greeting": "bonjour", "count": 45}


def test_parallel_first_steps_on_a_fresh_snapshot(env: dict[str, Any], tmp_path: Path) -> None:
    """Several steps of a source directory a new compute target has never staged, starting at once.

    A new target's worker starts with the first submit, so the six jobs reach it together and stage
    the same snapshot in parallel threads of one worker process.
    """
    compute = ensure_compute(env["ws"], name=f"e2e-cold-{uuid.uuid4().hex[:8]}", max_nodes=6)
    source = tmp_path / "src"
    shutil.copytree(STEPS_DIR, source, ignore=shutil.ignore_patterns("__pycache__"))
    nonce = uuid.uuid4().hex  # file contents (and so a snapshot) no earlier run used
    (source / "nonce.txt").write_text(nonce)
    (source / "step.py").write_text((STEPS_DIR / "step.py").read_text() + f"# {nonce}\n")
    journal = tmp_path / "journal.txt"
    names = [f"P{i}" for i in range(6)]
    steps = [step(name, journal, compute, source=source) for name in names]
    finish(env, Pipeline(workspace=env["ws"], steps=steps))
    assert journal_counts(journal, "end") == {name: 1 for name in names}


def test_step_script_imports_azureml_unchanged(env: dict[str, Any]) -> None:
    alias = PythonScriptStep(
        script_name="alias_metrics.py",
        source_directory=str(STEPS_DIR),
        compute_target=env["compute"],
        allow_reuse=False,
    )
    run = finish(env, Pipeline(workspace=env["ws"], steps=[alias]))
    step_runs = run.find_step_run("alias_metrics.py")
    assert len(step_runs) == 1, "a step without a name is named after its script"
    step_run = step_runs[0]
    log = step_run.get_job_log()
    assert f"alias step: run id {step_run.id}" in log
    assert f"alias step: parent id {run.id}" in log
    assert f"alias step: experiment {EXPERIMENT}" in log
    assert "alias step: Run class from durableml." in log
    metrics = step_run.get_metrics()
    assert metrics["accuracy"] == [0.91, 0.93]
    assert metrics["losses"] == [0.5, 0.3, 0.2]
    assert metrics["label"] == "alias-ok"
    assert "epochs" in metrics
