"""The "what changed" half of a reuse explanation (durableml.service.reuse_explain.changes): pure, over two
steps' recorded key components. Files need the snapshot store and are covered end to end in
tests/e2e/test_reuse.py."""

from __future__ import annotations

import copy
from typing import Any

from durableml.service.reuse_explain import changes

BASE: dict[str, Any] = {
    "kind": "python_script",
    "settings": {
        "scriptName": "train.py",
        "params": {"lr": {"kind": "parameter", "name": "lr", "value": 0.1}},
        "runConfig": {"environmentVariables": {"MODE": "fast"}, "nodeCount": 1},
    },
    "snapshot": "a" * 64,
    "arguments": ["--epochs", "3", {"kind": "input", "name": "raw"}],
    "parameters": {"lr": 0.1},
    "inputs": {"raw": {"mode": "mount", "pathOnCompute": None, "datastore": "workspaceblobstore", "path": "data"}},
    "outputs": {
        "model": {
            "kind": "pipeline_data",
            "datastore": "workspaceblobstore",
            "destination": "azureml/{run-id}/{output-name}",
            "isDirectory": True,
        }
    },
    "version": None,
    "policy": "definition",
}


def changed(**edits: Any) -> list[tuple[str, str, Any, Any]]:
    new = copy.deepcopy(BASE)
    for path, value in edits.items():
        target = new
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return [(c["what"], c["name"], c["old"], c["new"]) for c in changes(BASE, new)]


def test_identical_components_have_no_changes() -> None:
    assert changes(BASE, copy.deepcopy(BASE)) == []


def test_a_nested_setting_is_named_by_its_dotted_path() -> None:
    assert changed(settings__runConfig__environmentVariables__MODE="slow") == [
        ("setting", "runConfig.environmentVariables.MODE", "fast", "slow")
    ]


def test_a_parameter_names_itself_and_the_settings_that_use_it() -> None:
    new = copy.deepcopy(BASE)
    new["parameters"]["lr"] = 0.2
    new["settings"]["params"]["lr"]["value"] = 0.2
    found = [(c["what"], c["name"], c["old"], c["new"]) for c in changes(BASE, new)]
    assert found == [("parameter", "lr", 0.1, 0.2), ("setting", "params.lr.value", 0.1, 0.2)]


def test_arguments_by_position_including_added_ones() -> None:
    assert changed(arguments=["--epochs", "4", {"kind": "input", "name": "raw"}, "--fast"]) == [
        ("argument", "[1]", "3", "4"),
        ("argument", "[3]", None, "--fast"),
    ]


def test_inputs_outputs_version_and_policy() -> None:
    moved = {**BASE["inputs"]["raw"], "path": "data/v2"}
    assert changed(inputs__raw=moved, version="2", policy="content") == [
        ("input", "raw", BASE["inputs"]["raw"], moved),
        ("version", "version", None, "2"),
        ("policy", "policy", "definition", "content"),
    ]
    assert changed(outputs__model__datastore="other") == [("output", "model.datastore", "workspaceblobstore", "other")]


def test_content_inputs_name_each_changed_blob() -> None:
    old = copy.deepcopy(BASE)
    old["inputs"]["raw"]["content"] = {"files": {"/a.csv": "11", "/b.csv": "22"}}
    new = copy.deepcopy(old)
    new["inputs"]["raw"]["content"] = {"files": {"/a.csv": "11", "/b.csv": "33", "/c.csv": "44"}}
    found = [(c["what"], c["name"], c["old"], c["new"]) for c in changes(old, new)]
    assert found == [
        ("input", "raw: workspaceblobstore/data/b.csv", "22", "33"),
        ("input", "raw: workspaceblobstore/data/c.csv", None, "44"),
    ]
