"""The pipeline document: deterministic compilation, golden file, and the shared validator."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from durableml.core import Workspace
from durableml.exceptions import DocumentValidationError
from durableml.pipeline.core import Pipeline, PipelineData
from durableml.pipeline.document import document_issues, validate_document
from durableml.pipeline.document_schema import DOCUMENT_SCHEMA
from durableml.pipeline.steps import PythonScriptStep
from sample_pipelines import build_sample

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden" / "sample_pipeline.json"


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True)


def test_compiling_twice_gives_byte_identical_json(ws: Workspace) -> None:
    pipeline = build_sample(ws)
    assert dumps(pipeline.to_document()) == dumps(pipeline.to_document())
    assert dumps(build_sample(ws).to_document()) == dumps(pipeline.to_document())  # rebuilt objects too


def test_document_does_not_depend_on_the_working_directory(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = dumps(build_sample(ws).to_document())
    monkeypatch.chdir(tmp_path)
    assert dumps(build_sample(ws).to_document()) == here


def test_document_is_identical_in_another_process_and_directory(ws: Workspace, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, str(HERE / "sample_pipelines.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout == dumps(build_sample(ws).to_document())


def test_document_matches_the_golden_file(ws: Workspace) -> None:
    document = build_sample(ws).to_document()
    if os.environ.get("DURABLEML_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(document, sort_keys=True, indent=2) + "\n", encoding="utf-8")
    assert document == json.loads(GOLDEN.read_text(encoding="utf-8")), (
        "document drifted; rerun with DURABLEML_UPDATE_GOLDEN=1 if intended"
    )


def test_step_ids_are_content_derived_and_propagate_downstream(ws: Workspace) -> None:
    def build(first_script: str) -> dict[str, str]:
        data = PipelineData("data")
        a = PythonScriptStep(script_name=first_script, name="a", outputs=[data], compute_target="c")
        b = PythonScriptStep(script_name="b.py", name="b", inputs=[data], compute_target="c")
        c = PythonScriptStep(script_name="c.py", name="c", compute_target="c")
        return {s["name"]: s["id"] for s in Pipeline(ws, [a, b, c]).to_document()["steps"]}

    one, two = build("a.py"), build("a2.py")
    assert one["a"] != two["a"] and one["b"] != two["b"]
    assert one["c"] == two["c"]
    assert build("a.py") == one


def test_identical_steps_get_distinct_ids(ws: Workspace) -> None:
    steps = [PythonScriptStep(script_name="same.py", compute_target="c") for _ in range(2)]
    ids = [s["id"] for s in Pipeline(ws, steps).to_document()["steps"]]
    assert len(set(ids)) == 2


def test_schema_is_plain_json() -> None:
    assert json.loads(json.dumps(DOCUMENT_SCHEMA)) == DOCUMENT_SCHEMA


@pytest.fixture
def document(ws: Workspace) -> dict[str, Any]:
    return build_sample(ws).to_document()


def step_named(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(step for step in document["steps"] if step["name"] == name)


def rejected(document: Any) -> str:
    with pytest.raises(DocumentValidationError) as info:
        validate_document(document)
    return str(info.value)


def test_a_compiled_document_is_valid(document: dict[str, Any]) -> None:
    assert document_issues(document) == []


def test_wrong_schema_version_and_non_objects_are_rejected(document: dict[str, Any]) -> None:
    assert "schemaVersion 2 is not supported" in rejected({**document, "schemaVersion": 2})
    assert "must be a JSON object" in rejected([document])


def test_cycle_is_rejected_with_its_path(document: dict[str, Any]) -> None:
    prep, train = step_named(document, "prep.py"), step_named(document, "train")
    prep["runAfter"] = [train["id"]]
    document["edges"].append({"kind": "control", "from": train["id"], "to": prep["id"]})
    message = rejected(document)
    assert "cycle" in message and f"{prep['id']} ('prep.py') -> {train['id']} ('train') -> {prep['id']}" in message


def test_unknown_parameter_type_is_rejected(document: dict[str, Any]) -> None:
    document["parameters"]["epochs"]["type"] = "list"
    message = rejected(document)
    assert "$.parameters.epochs.type" in message and "'list' is not allowed" in message and "'int'" in message


def test_parameter_default_of_the_wrong_type_is_rejected(document: dict[str, Any]) -> None:
    document["parameters"]["epochs"]["default"] = "ten"
    assert "default 'ten' of parameter 'epochs' is not a int" in rejected(document)


def test_unbound_input_is_rejected(document: dict[str, Any]) -> None:
    train = step_named(document, "train")
    train["inputs"]["prepared_table"]["source"]["step"] = "nowhere_000000000000"
    assert "reads output 'prepared' of step 'nowhere_000000000000', which does not exist" in rejected(document)
    assert "unbound_input" in {issue.code for issue in document_issues(document)}


def test_duplicate_output_names_are_rejected(document: dict[str, Any]) -> None:
    report = step_named(document, "report.py")
    report["outputs"]["prepared"] = copy.deepcopy(step_named(document, "prep.py")["outputs"]["prepared"])
    assert "output name 'prepared' is also used by step" in rejected(document)


def test_unknown_step_kind_is_rejected(document: dict[str, Any]) -> None:
    step_named(document, "report.py")["kind"] = "spark_sql"
    message = rejected(document)
    assert "'spark_sql' is not allowed" in message and "'python_script'" in message


def test_bad_references_are_rejected(document: dict[str, Any]) -> None:
    report = step_named(document, "report.py")
    report["arguments"].append({"kind": "input", "name": "ghost"})
    report["arguments"].append({"kind": "parameter", "name": "undeclared"})
    report["runAfter"].append("ghost_000000000000")
    message = rejected(document)
    assert "input 'ghost', which step 'report.py' does not declare" in message
    assert "parameter 'undeclared' is not declared" in message
    assert "runAfter names step 'ghost_000000000000'" in message


def test_edges_must_match_the_inputs(document: dict[str, Any]) -> None:
    removed = document["edges"].pop()
    assert f"edge from {removed['from']!r} to {removed['to']!r} is missing" in rejected(document)


def test_unknown_fields_and_wrong_types_are_named(document: dict[str, Any]) -> None:
    step = step_named(document, "prep.py")
    step["allowReuse"] = "yes"
    step["colour"] = "blue"
    message = rejected(document)
    assert "$.steps[0].allowReuse: expected boolean, got string 'yes'" in message
    assert "unknown field 'colour'" in message


def test_binding_with_unknown_kind_is_named(document: dict[str, Any]) -> None:
    step_named(document, "prep.py")["arguments"][0] = {"kind": "env", "name": "X"}
    assert "kind 'env' is not allowed here; use one of 'literal', 'parameter', 'input', 'output'" in rejected(document)
