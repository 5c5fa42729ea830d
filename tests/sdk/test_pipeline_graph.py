"""Pipeline graph building: closure, run_after, cycles, duplicate outputs, unbound inputs, names."""

from __future__ import annotations

import pytest

from durableml.core import Datastore, Workspace
from durableml.core.runconfig import RunConfiguration
from durableml.data import OutputFileDatasetConfig
from durableml.exceptions import PipelineValidationError, ValidationError
from durableml.pipeline.core import Pipeline, PipelineData, PipelineParameter, StepSequence
from durableml.pipeline.steps import PythonScriptStep


def step(name: str, **kwargs: object) -> PythonScriptStep:
    return PythonScriptStep(script_name=f"{name}.py", name=name, source_directory="src", compute_target="cpu", **kwargs)  # type: ignore[arg-type]


def names(pipeline: Pipeline) -> list[str]:
    return [s["name"] for s in pipeline.to_document()["steps"]]


def test_closure_pulls_in_unlisted_producers_through_pipeline_data(ws: Workspace, blob_store: Datastore) -> None:
    raw, clean = PipelineData("raw", datastore=blob_store), PipelineData("clean", datastore=blob_store)
    fetch = step("fetch", outputs=[raw], arguments=["--out", raw])
    prep = step("prep", inputs=[raw], outputs=[clean], arguments=["--in", raw, "--out", clean])
    train = step("train", inputs=[clean], arguments=["--in", clean])
    assert names(Pipeline(ws, [train])) == ["fetch", "prep", "train"]
    assert fetch.name == "fetch" and prep.name == "prep"


def test_closure_follows_run_after_edges(ws: Workspace) -> None:
    first, second, third = step("first"), step("second"), step("third")
    second.run_after(first)
    third.run_after(second)
    document = Pipeline(ws, steps=[third]).to_document()
    assert [s["name"] for s in document["steps"]] == ["first", "second", "third"]
    ids = {s["name"]: s["id"] for s in document["steps"]}
    assert document["steps"][2]["runAfter"] == [ids["second"]]
    assert {"kind": "control", "from": ids["first"], "to": ids["second"]} in document["edges"]


def test_closure_follows_output_file_dataset_config_used_directly_and_as_input(ws: Workspace) -> None:
    prepped = OutputFileDatasetConfig(name="prepped")
    prep = step("prep", arguments=["--out", prepped])
    train = step("train", arguments=["--data", prepped.as_input()])
    compare = step("compare", arguments=["--data", prepped])  # direct use downstream reads it
    document = Pipeline(ws, [compare, train]).to_document()
    assert [s["name"] for s in document["steps"]] == ["prep", "compare", "train"]
    by_name = {s["name"]: s for s in document["steps"]}
    assert by_name["prep"]["outputs"]["prepped"]["kind"] == "output_file_dataset"
    assert by_name["train"]["inputs"]["prepped"]["source"] == {
        "kind": "stepOutput",
        "step": by_name["prep"]["id"],
        "output": "prepped",
    }
    assert prep.name == "prep"


def test_steps_without_edges_are_independent(ws: Workspace) -> None:
    document = Pipeline(ws, [step("a"), step("b")]).to_document()
    assert document["edges"] == [] and len(document["steps"]) == 2


def test_validate_reports_a_data_cycle_with_its_path(ws: Workspace) -> None:
    x, y = PipelineData("x"), PipelineData("y")
    step("alpha", inputs=[y], outputs=[x])
    beta = step("beta", inputs=[x], outputs=[y])
    with pytest.raises(PipelineValidationError) as info:
        Pipeline(ws, [beta]).validate()
    cycle = next(i for i in info.value.issues if i.code == "cycle")
    assert "'alpha' -> 'beta' -> 'alpha'" in cycle.message or "'beta' -> 'alpha' -> 'beta'" in cycle.message
    assert "cycle" in str(info.value)


def test_validate_reports_a_run_after_cycle(ws: Workspace) -> None:
    a, b, c = step("a"), step("b"), step("c")
    b.run_after(a)
    c.run_after(b)
    a.run_after(c)
    with pytest.raises(PipelineValidationError, match=r"'a' -> 'b' -> 'c' -> 'a'"):
        Pipeline(ws, [a, b, c]).validate()


def test_step_reading_its_own_output_is_a_cycle(ws: Workspace) -> None:
    loop = PipelineData("loop")
    with pytest.raises(PipelineValidationError, match=r"'self' -> 'self'"):
        Pipeline(ws, [step("self", inputs=[loop], outputs=[loop])]).validate()


def test_duplicate_output_names_are_rejected(ws: Workspace) -> None:
    one, two = PipelineData("result"), PipelineData("result")
    with pytest.raises(PipelineValidationError, match=r"output name 'result' is used by steps 'a' and 'b'"):
        Pipeline(ws, [step("a", outputs=[one]), step("b", outputs=[two])]).validate()


def test_same_data_written_by_two_listed_steps_is_rejected(ws: Workspace) -> None:
    shared = PipelineData("shared")
    with pytest.raises(PipelineValidationError, match="written by steps 'a' and 'b'"):
        Pipeline(ws, [step("a", outputs=[shared]), step("b", outputs=[shared])]).validate()


def test_redefined_producer_step_replaces_the_old_one(ws: Workspace) -> None:
    data = PipelineData("data")
    step("producer_v1", outputs=[data])
    step("producer_v2", outputs=[data])  # a notebook cell run again
    assert names(Pipeline(ws, [step("consumer", inputs=[data])])) == ["producer_v2", "consumer"]


def test_unbound_input_names_the_data_and_the_fix(ws: Workspace) -> None:
    orphan = PipelineData("orphan")
    with pytest.raises(
        PipelineValidationError, match=r"reads PipelineData 'orphan', which no step writes; add it to the outputs="
    ):
        Pipeline(ws, [step("consumer", arguments=["--in", orphan])]).validate()


def test_resolve_closure_false_requires_listed_upstream_steps(ws: Workspace) -> None:
    data = PipelineData("data")
    step("producer", outputs=[data])
    with pytest.raises(PipelineValidationError, match="resolve_closure=False"):
        Pipeline(ws, [step("consumer", inputs=[data])], resolve_closure=False).validate()


def test_every_problem_is_reported_at_once(ws: Workspace) -> None:
    orphan, dup1, dup2 = PipelineData("orphan"), PipelineData("dup"), PipelineData("dup")
    with pytest.raises(PipelineValidationError) as info:
        Pipeline(ws, [step("a", inputs=[orphan], outputs=[dup1]), step("b", outputs=[dup2])]).validate()
    assert {i.code for i in info.value.issues} == {"unbound_input", "duplicate_output"}


def test_nested_lists_and_step_sequences(ws: Workspace) -> None:
    a, b, c = step("a"), step("b"), step("c")
    document = Pipeline(ws, [[a], StepSequence([b, [c]])]).to_document()
    ids = {s["name"]: s["id"] for s in document["steps"]}
    assert document["edges"] == [{"kind": "control", "from": ids["b"], "to": ids["c"]}]


def test_non_steps_in_steps_are_reported(ws: Workspace) -> None:
    with pytest.raises(PipelineValidationError, match="not a pipeline step"):
        Pipeline(ws, [step("a"), "b.py"]).validate()
    with pytest.raises(PipelineValidationError, match="at least one step"):
        Pipeline(ws, []).validate()


def test_validate_returns_an_empty_list_for_a_good_pipeline(ws: Workspace) -> None:
    assert Pipeline(ws, [step("a")]).validate() == []


def test_python_script_step_name_defaults_to_the_script_name() -> None:
    assert PythonScriptStep(script_name="train.py", compute_target="cpu").name == "train.py"


def test_compute_target_comes_from_object_name_or_runconfig(ws: Workspace, service: object) -> None:
    from durableml.core.compute import AmlCompute, ComputeTarget

    created = ComputeTarget.create(
        ws, "gpu", AmlCompute.provisioning_configuration(vm_size="STANDARD_NC6", max_nodes=2)
    )
    assert type(created) is AmlCompute
    runconfig = RunConfiguration()
    runconfig.target = created
    steps = [
        PythonScriptStep(script_name="a.py", compute_target=created),
        PythonScriptStep(script_name="b.py", compute_target="cpu"),
        PythonScriptStep(script_name="c.py", runconfig=runconfig),
        PythonScriptStep(script_name="d.py", target=created),
    ]
    assert [s["computeTarget"] for s in Pipeline(ws, steps).to_document()["steps"]] == ["gpu", "cpu", "gpu", "gpu"]


def test_conflicting_target_and_compute_target_are_rejected() -> None:
    with pytest.raises(ValidationError, match="pass only compute_target"):
        PythonScriptStep(script_name="a.py", compute_target="x", target="y")


def test_unknown_keyword_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="scriptname"):
        PythonScriptStep(script_name="a.py", scriptname="b.py")


def test_bad_argument_types_say_what_to_do() -> None:
    with pytest.raises(ValidationError, match=r"arguments\[1\].*cannot be a step input"):
        PythonScriptStep(script_name="a.py", arguments=["--x", {"a": 1}])
    with pytest.raises(ValidationError, match="cannot be a step output"):
        PythonScriptStep(script_name="a.py", outputs=["out"])
    with pytest.raises(ValidationError, match="allow_reuse must be True or False"):
        PythonScriptStep(script_name="a.py", allow_reuse="yes")  # type: ignore[arg-type]


def test_conflicting_parameters_with_one_name_are_rejected(ws: Workspace) -> None:
    with pytest.raises(PipelineValidationError, match="two PipelineParameters are named 'n'"):
        Pipeline(
            ws, [step("a", arguments=[PipelineParameter("n", 1)]), step("b", arguments=[PipelineParameter("n", 2)])]
        ).to_document()
