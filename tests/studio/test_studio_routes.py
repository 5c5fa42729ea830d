"""The studio's route table and allow-list (no browser): what the page may reach of the HTTP API."""

from __future__ import annotations

import pytest

from durableml import studio_routes
from durableml.studio_routes import RouteTable, allowed, compile_template


def test_templates_match_like_the_functions_host() -> None:
    table = RouteTable(
        [
            ("runs/{run_id}", "run"),
            ("runs/{run_id}/files/{*name}", "files"),
            ("datastores/{name?}", "stores"),
            ("datastores/{name}/files/{*path}", "store files"),
        ]
    )
    found = table.match("runs/abc")
    assert found is not None and found.entry.target == "run" and found.params == {"run_id": "abc"}
    found = table.match("runs/abc/files/outputs/model.pkl")
    assert found is not None and found.params == {"run_id": "abc", "name": "outputs/model.pkl"}
    stores = table.match("datastores")
    assert stores is not None and stores.entry.target == "stores" and stores.params == {}
    files = table.match("datastores/ws/files/a/b.csv")
    assert files is not None and files.entry.target == "store files" and files.params["path"] == "a/b.csv"
    assert table.match("runs/abc/steps") is None
    with pytest.raises(ValueError):
        compile_template("runs/{id:int}")


def test_the_allow_list_offers_reads_and_the_page_s_actions_only() -> None:
    assert allowed("runs/{run_id}", "GET") and allowed("runs/{run_id}/cancel", "POST")
    assert allowed("schedules/{schedule_id}", "PATCH") and allowed("published-pipelines/{id}", "PATCH")
    assert not allowed("runs/{run_id}/cancel", "GET")
    assert not allowed("datastores/{name?}", "PUT") and not allowed("datastores/{name?}", "DELETE")
    assert not allowed("snapshots", "POST") and not allowed("computes/{name?}", "DELETE")
    assert not allowed("experiments/{experiment}/runs", "POST")  # new runs come from resubmit, not raw documents


def test_every_allowed_route_is_a_route_of_the_api() -> None:
    from triggers.studio import _table

    templates = {entry.template.text for entry in _table().entries}
    missing = set(studio_routes.ALLOWED) - templates
    assert not missing, f"the studio allows routes the API does not have: {sorted(missing)}"


def test_the_deployment_artifact_carries_the_studio_and_its_libraries() -> None:
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("build_artifact", root / "scripts" / "build_artifact.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.studio_assets(root)
    files = {path.as_posix() for path in module.app_files(root)}
    wanted = {"studio/index.html", "studio/app.js", "studio/pages/run.js", "studio/style.css", "triggers/studio.py"}
    wanted |= {f"studio/vendor/{name}" for name in studio_routes_vendor()}
    assert wanted <= files, f"the artifact lacks {sorted(wanted - files)}"
    assert not any(name.startswith(("node_modules/", "tests/")) for name in files)


def studio_routes_vendor() -> list[str]:
    from durableml.studio_assets import VENDOR

    return list(VENDOR)


def test_how_a_run_started_is_told_from_its_record() -> None:
    import json

    from durableml.studio_data import origin

    assert origin({"run_source": "SDK"}).text == "submitted from SDK"
    resumed = origin({"run_source": "Resume", "resumed_from": "run-1"})
    assert resumed.kind == "Resume" and resumed.resumed_from == "run-1"
    cause = {"kind": "dataChange", "datastore": "ws", "blobs": [{"name": "in/a.csv", "etag": "1"}]}
    props = {
        "azureml.scheduleId": "s1",
        "azureml.scheduleName": "nightly",
        "azureml.pipelineid": "p1",
        "durableml.trigger": json.dumps(cause),
    }
    change = origin({"run_source": "API", "properties": props})
    assert change.kind == "DataChange" and change.blobs == ["in/a.csv"] and "nightly" in change.text
    timed = origin({"properties": {**props, "durableml.trigger": json.dumps({"kind": "recurrence"})}})
    assert timed.kind == "Schedule" and timed.text == "schedule nightly"
    rest = origin({"run_source": "API", "properties": {"azureml.pipelineid": "p1"}})
    assert rest.kind == "REST" and "p1" in rest.text


def test_assets_outside_the_studio_folder_are_not_served() -> None:
    import asyncio

    import azure.functions as func

    from triggers.studio import studio_asset

    handler = studio_asset._function.get_user_function()

    def get(name: str) -> int:
        request = func.HttpRequest(
            "GET", f"http://127.0.0.1/api/studio/assets/{name}", body=b"", route_params={"file": name}
        )
        return int(asyncio.run(handler(request)).status_code)

    assert get("app.js") == 200 and get("vendor/dagre.min.js") == 200
    assert get("../triggers/studio.py") == 404 and get("../../../etc/passwd") == 404
    assert get("vendor/dagre.LICENSE.txt") == 404  # only scripts, styles and images
    assert get("a\x00.js") == 404
