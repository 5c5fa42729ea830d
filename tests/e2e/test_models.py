"""The model registry end to end from the notebook side (issue 3): Model.register / Model(ws, ...) /
Model.list / download / get_model_path against a real funchost, bad input, and a step whose service
gave it no credential."""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from durableml.core import Experiment
from durableml.core.model import Model
from durableml.exceptions import ModelNotFoundException, ValidationError
from durableml.pipeline.core import Pipeline
from durableml.pipeline.steps import PythonScriptStep

from ._helpers import ensure_compute
from .conftest import PROJECTS


@pytest.fixture(scope="module")
def ws(service: Any) -> Any:
    return service.workspace()


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_versions_list_get_and_download(ws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _unique("iris")
    (tmp_path / "model.pkl").write_bytes(b"version one")
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "w.bin").write_bytes(b"\x00\x01")
    (folder / "conf.json").write_text("{}", encoding="utf-8")

    first = Model.register(
        ws,
        model_path=str(tmp_path / "model.pkl"),
        model_name=name,
        tags={"area": "iris", "type": "file"},
        description="a pickled model",
    )
    second = Model.register(workspace=ws, model_path=str(folder), model_name=name, tags={"area": "iris"})
    assert (first.id, first.version, second.id, second.version) == (f"{name}:1", 1, f"{name}:2", 2)
    assert first.tags == {"area": "iris", "type": "file"} and first.description == "a pickled model"
    assert isinstance(first.created_time, datetime) and first.created_time <= datetime.now(timezone.utc)

    assert Model(ws, name).version == 2  # the latest
    assert Model(ws, name=name, version=1).description == "a pickled model"
    assert Model(ws, id=f"{name}:1").tags["type"] == "file"
    assert [m.version for m in Model.list(ws, name=name)] == [2, 1]  # newest first
    assert [m.version for m in Model.list(ws, tags=[["type", "file"]]) if m.name == name] == [1]
    assert [m.version for m in Model.list(ws, tags=["area"]) if m.name == name] == [2, 1]
    assert [m.name for m in Model.list(ws, tags=[["area", "titanic"]])] == []
    assert [m.version for m in Model.list(ws, name=name, latest=True)] == [2]

    path = Model(ws, name, version=1).download(str(tmp_path / "one"))
    assert path == str(tmp_path / "one" / "model.pkl") and Path(path).read_bytes() == b"version one"
    path = Model(ws, name).download(str(tmp_path / "two"))
    assert path == str(tmp_path / "two" / "model")
    assert sorted(str(p.relative_to(path)) for p in Path(path).rglob("*") if p.is_file()) == ["conf.json", "sub/w.bin"]
    assert (Path(path) / "sub" / "w.bin").read_bytes() == b"\x00\x01"
    with pytest.raises(ValidationError, match="exists already; pass exist_ok=True"):
        Model(ws, name).download(str(tmp_path / "two"))
    assert Model(ws, name).download(str(tmp_path / "two"), exist_ok=True) == path

    monkeypatch.chdir(tmp_path / "one")  # outside a step: downloaded into ./azureml-models/<name>/<version>
    found = Model.get_model_path(name, version=1, _workspace=ws)
    assert found == os.path.join(str(tmp_path / "one"), "azureml-models", name, "1", "model.pkl")
    assert Model.get_model_path(name, version=1) == found  # now from the local cache


def test_unknown_models_raise_the_v1_exception(ws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _unique("nope")
    with pytest.raises(ModelNotFoundException, match=f"Model with name '{name}' not found"):
        Model(ws, name)
    with pytest.raises(ModelNotFoundException):
        Model(ws, id=f"{name}:3")
    (tmp_path / "m.txt").write_text("m", encoding="utf-8")
    Model.register(ws, model_path=str(tmp_path / "m.txt"), model_name=name)
    with pytest.raises(ModelNotFoundException, match="has no version 7; its versions are 1"):
        Model(ws, name, version=7)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelNotFoundException, match="pass _workspace=ws"):
        Model.get_model_path(_unique("absent"))  # outside a step, without a workspace


def test_bad_registrations_register_nothing(ws: Any, service: Any, tmp_path: Path) -> None:
    name = _unique("bad")
    with pytest.raises(ValidationError, match="does not exist .* Nothing was registered"):
        Model.register(ws, model_path=str(tmp_path / "missing.pkl"), model_name=name)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationError, match="holds no files"):
        Model.register(ws, model_path=str(tmp_path / "empty"), model_name=name)
    (tmp_path / "m.pkl").write_bytes(b"m")
    with pytest.raises(ValidationError, match="model name 'bad name!' is not valid"):
        Model.register(ws, model_path=str(tmp_path / "m.pkl"), model_name="bad name!")

    # a record over a file that was never uploaded is refused whole (the files are checked first)
    stored = hashlib.sha256(b"m").hexdigest()
    assert service.api("PUT", f"/api/model-files/{stored}", data=b"m").status_code == 201
    never = hashlib.sha256(b"never uploaded").hexdigest()
    answer = service.api("POST", "/api/models", json={"name": name, "files": {"m/a.bin": stored, "m/b.bin": never}})
    assert answer.status_code == 400
    assert "1 file(s) were not uploaded: m/b.bin" in answer.json()["error"]["message"]
    wrong = service.api("PUT", f"/api/model-files/{never}", data=b"other bytes")
    assert wrong.status_code == 400 and "not " + never in wrong.json()["error"]["message"]
    assert Model.list(ws, name=name) == []
    with pytest.raises(ModelNotFoundException):
        Model(ws, name)


def test_a_step_without_a_step_key_says_what_to_configure(ws: Any, service: Any, tmp_path: Path) -> None:
    ensure_compute(ws, max_nodes=2)
    name = _unique("nokey")
    step = PythonScriptStep(
        script_name="register_model.py",
        name="train",
        compute_target="e2e-cpu",
        source_directory=str(PROJECTS / "step_service"),
        allow_reuse=False,
        arguments=["--model-name", name, "--report", str(tmp_path / "r.json")],
    )
    run: Any = Experiment(ws, "e2e-models-nokey").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False) == "Failed"
    error = run.find_step_run("train")[0].get_details()["error"]
    assert "ConfigurationError" in error and "no DURABLEML_STEP_KEY setting" in error, error
    assert Model.list(ws, name=name) == []
