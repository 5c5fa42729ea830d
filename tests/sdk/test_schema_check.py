"""durableml.pipeline.schema_check on fastjsonschema: every issue, its JSON path and what was expected."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from durableml.core import Workspace
from durableml.pipeline.document_schema import DOCUMENT_SCHEMA
from durableml.pipeline.schema_check import check_schema
from sample_pipelines import build_sample

BINDING_KINDS = "'literal', 'parameter', 'input', 'output'"
STRING_OR_INTEGER = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
NAME_PATTERN = DOCUMENT_SCHEMA["$defs"]["parameterRef"]["properties"]["name"]["pattern"]


@pytest.fixture
def document(ws: Workspace) -> dict[str, Any]:
    return build_sample(ws).to_document()


def issues(instance: Any, schema: dict[str, Any] = DOCUMENT_SCHEMA, **kwargs: Any) -> set[tuple[str, str]]:
    return {(issue.path, issue.message) for issue in check_schema(instance, schema, **kwargs)}


def test_a_compiled_document_conforms_and_is_not_changed(document: dict[str, Any]) -> None:
    before = copy.deepcopy(document)
    assert check_schema(document, DOCUMENT_SCHEMA) == []
    assert document == before


def test_every_fault_is_reported_with_its_path(document: dict[str, Any]) -> None:
    prep = document["steps"][0]
    prep["allowReuse"] = "yes"
    prep["colour"] = "blue"
    prep["arguments"][0] = {"kind": "env", "name": "X"}
    prep["arguments"][1] = {"kind": "input", "name": 5}  # a known kind: its own fields are checked
    document["parameters"]["epochs"]["type"] = "list"
    document["parameters"]["bad name"] = {"type": "int", "default": 1}
    del document["edges"]
    del document["steps"][1]["version"], document["steps"][1]["snapshot"]
    allowed_step_fields = ", ".join(sorted(DOCUMENT_SCHEMA["$defs"]["step"]["properties"]))
    kinds = ", ".join(repr(kind) for kind in DOCUMENT_SCHEMA["$defs"]["parameter"]["properties"]["type"]["enum"])
    name = DOCUMENT_SCHEMA["properties"]["parameters"]["propertyNames"]["pattern"]
    assert issues(document) == {
        ("$", "the required field 'edges' is missing"),
        ("$.parameters.epochs.type", f"'list' is not allowed; use one of {kinds}"),
        ("$.parameters.bad name", f"name 'bad name': 'bad name' does not match the pattern {name}"),
        ("$.steps[0].allowReuse", "expected boolean, got string 'yes'"),
        ("$.steps[0]", f"unknown field 'colour'; allowed fields: {allowed_step_fields}"),
        ("$.steps[0].arguments[0]", f"kind 'env' is not allowed here; use one of {BINDING_KINDS}"),
        ("$.steps[0].arguments[1].name", "expected string, got integer 5"),
        ("$.steps[1]", "the required field 'version' is missing"),
        ("$.steps[1]", "the required field 'snapshot' is missing"),
    }  # fmt: skip


def test_a_part_of_the_schema_with_its_root_and_path() -> None:
    dataset = DOCUMENT_SCHEMA["$defs"]["dataset"]
    found = issues({"datasetType": "file"}, dataset, root=DOCUMENT_SCHEMA, path="$.parameters.p.default")
    assert ("$.parameters.p.default", "the required field 'paths' is missing") in found
    bad_version = {"datasetType": "file", "paths": [], "format": {}, "transforms": [], "id": "d", "version": [1]}
    assert issues(bad_version, dataset, root=DOCUMENT_SCHEMA) == {
        ("$.version", "expected integer or string or null, got array [1]")
    }


def test_json_schema_semantics_where_they_differ_from_python(document: dict[str, Any]) -> None:
    document["steps"][0]["name"] = "prep.py"
    document["steps"][0]["arguments"][1] = {"kind": "parameter", "name": "epochs\n"}  # "$" ends the text
    document["schemaVersion"] = True  # true is not 1 in JSON
    assert issues(document) == {
        ("$.steps[0].arguments[1].name", f"'epochs\\n' does not match the pattern {NAME_PATTERN}"),
        ("$.schemaVersion", "must be 1, got True"),
    }  # fmt: skip
    dataset = DOCUMENT_SCHEMA["$defs"]["dataset"]
    whole = {"datasetType": "file", "paths": [], "format": {}, "transforms": [], "id": "d", "version": 2.0}
    assert issues(whole, dataset, root=DOCUMENT_SCHEMA) == set()  # 2.0 is an integer in JSON Schema


@pytest.mark.parametrize(
    ("schema", "instance", "expected"),
    [
        ({"minLength": 2}, "a", "must not be shorter than 2 character(s)"),
        ({"minimum": 3}, 1, "must be at least 3, got 1"),
        ({"const": "x"}, "y", "must be 'x', got 'y'"),
        (STRING_OR_INTEGER, 1.5, "1.5 does not match exactly one of the allowed shapes"),
        ({"type": "integer"}, True, "expected integer, got boolean True"),
        ({"maxLength": 1}, "ab", "must be shorter than or equal to 1 characters"),  # a keyword the document omits
    ],
)  # fmt: skip
def test_keywords(schema: dict[str, Any], instance: Any, expected: str) -> None:
    assert issues(instance, schema) == {("$", expected)}


def test_formats_are_annotations() -> None:
    assert check_schema("not-a-uuid", {"type": "string", "format": "uuid"}) == []
    assert check_schema("yesterday", {"type": "string", "format": "date-time"}) == []


def test_defaults_are_not_filled_in() -> None:
    instance: dict[str, Any] = {}
    assert check_schema(instance, {"properties": {"a": {"default": 1}}}) == []
    assert instance == {}
