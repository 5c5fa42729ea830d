"""The Python v1 programming model (a function.json per function folder) under funchost.

A real funchost runs tests/apps/durable_v1_app: an HTTP starter with the legacy ``orchestrationClient`` binding
answering through a named http output, an orchestrator and an entity made with ``df.Orchestrator.create`` /
``df.Entity.create``, an activity in another scriptFile with another entryPoint that imports a sibling folder
relatively (the worker's ``__app__`` package), a ``$return`` HTTP function and a disabled function whose code would
not import. Load errors are checked on folders made by the test.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterator

import pytest
import requests

from funchost.errors import FunctionLoadError
from funchost.function_json import load_v1_app
from funchost.functions import load_app
from tests.test_durable_kit import DurableHost

APP = Path(__file__).resolve().parent / "apps" / "durable_v1_app"


@pytest.fixture(scope="module")
def host(funchost_process, tmp_path_factory) -> Iterator[DurableHost]:
    h = DurableHost(funchost_process(APP), tmp_path_factory.mktemp("durable-v1"))
    yield h
    h.close()
    h.proc.stop()


def test_v1_app_runs_orchestrator_activity_and_entity(host: DurableHost) -> None:
    r = requests.post(f"{host.base_url}/api/orchestrators/Chain", json=["Tokyo", "Lima"], timeout=30)
    assert r.status_code == 202, r.text  # the check-status response set on the named http output
    body = r.json()
    assert body["statusQueryGetUri"].startswith(host.base_url)
    out = host.completed(body["id"])
    assert out["greetings"] == ["Hello Tokyo!", "Hello Lima!"]
    assert out["tally"] == 2  # two signals, then the call: the entity ran them in order
    r = host.api("GET", "tally/greetings")
    assert r.status_code == 200 and r.json()["exists"] is True and r.json()["state"] == 2
    assert host.api("GET", "tally/greetings", key=None).status_code == 401  # authLevel "function"


def test_disabled_function_is_not_loaded(host: DurableHost) -> None:
    assert requests.get(f"{host.base_url}/api/disabled", timeout=30).status_code == 404


def _function(root: Path, name: str, bindings: list[dict[str, str]], code: str, **spec: str) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "function.json").write_text(json.dumps({"bindings": bindings, **spec}))
    (folder / spec.get("scriptFile", "__init__.py")).write_text(code)


HTTP_IN = {"name": "req", "type": "httpTrigger", "direction": "in"}
HTTP_OUT = {"name": "$return", "type": "http", "direction": "out"}


@pytest.fixture
def v1_root(tmp_path: Path) -> Iterator[Path]:
    saved = dict(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - set(saved):
        if name == "__app__" or name.startswith("__app__."):
            del sys.modules[name]


def test_bindings_are_normalized_like_the_v2_model(v1_root: Path) -> None:
    _function(
        v1_root,
        "Start",
        [{**HTTP_IN, "authLevel": "anonymous"}, HTTP_OUT, {"name": "starter", "type": "orchestrationClient"}],
        "def main(req, starter):\n    return 'ok'\n",
    )
    index = load_app(v1_root)
    (fi,) = index.functions
    assert fi.name == "Start" and fi.trigger_type == "httpTrigger"
    assert [(b["type"], b["direction"]) for b in fi.bindings] == [
        ("httpTrigger", "IN"),
        ("http", "OUT"),
        ("durableClient", "IN"),
    ]
    assert fi.trigger["authLevel"] == "ANONYMOUS"


def test_parameters_must_match_the_bindings(v1_root: Path) -> None:
    _function(v1_root, "Bad", [HTTP_IN, HTTP_OUT], "def main(req, extra):\n    return 'ok'\n")
    with pytest.raises(FunctionLoadError, match=r"declared in Python but not in function.json: \{'extra'\}"):
        load_v1_app(v1_root)


def test_a_missing_entry_point_is_named(v1_root: Path) -> None:
    _function(v1_root, "NoMain", [HTTP_IN, HTTP_OUT], "def run(req):\n    return 'ok'\n")
    with pytest.raises(FunctionLoadError, match="has no callable 'main'"):
        load_v1_app(v1_root)


def test_an_empty_folder_is_neither_model(tmp_path: Path) -> None:
    with pytest.raises(FunctionLoadError, match=r"no function_app.py .* and no <function>/function.json"):
        load_app(tmp_path)
