"""Bad input over raw HTTP, part two (issue 17, items 4-6): containment and the 500s that became 4xx.

* A pipeline document whose script (or data path) leaves the step's snapshot (an absolute path, '..' as is,
  percent-encoded, with backslashes or as fullwidth lookalikes) is refused with 400 naming the field, for runs
  and for publishing, and the script outside is never run.
* Blob names with '\\', NUL, a leading '/' or '..', container names outside Azure's rules, datastore names
  outside v1's, and a schedule's path_on_datastore with '..' are refused, and nothing is created.
* Each input that answered 500 answers 4xx with a message saying what was wrong.
"""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any

import pytest

from durableml.pipeline.core import Pipeline
from durableml.pipeline.submission import attach_snapshots

from ._helpers import ensure_compute, step

GUID = "068f4885-7088-424b-8ce2-eeb9ba5381a6"


@pytest.fixture(scope="module")
def env(service: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ws = service.workspace()
    work = tmp_path_factory.mktemp("bad-more")
    outside = work / "outside.py"
    marker = work / "escaped.txt"
    outside.write_text(f"open({str(marker)!r}, 'w').write('ran')\n", encoding="utf-8")
    compute = ensure_compute(ws)
    document = Pipeline(workspace=ws, steps=[step("contained", work / "journal.txt", compute)]).to_document()
    attach_snapshots(document, ws._client)
    return {"ws": ws, "service": service, "outside": outside, "marker": marker, "document": document}


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text[:2000]}"
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"], body
    return dict(body["error"])


def text_of(error: dict[str, Any]) -> str:
    return f"{error['message']} {error.get('details')!r}"


def submit(env: dict[str, Any], experiment: str, document: dict[str, Any]) -> Any:
    return env["service"].api("POST", f"/api/experiments/{experiment}/runs", json={"document": document})


def runs_of(env: dict[str, Any], experiment: str) -> list[Any]:
    listed = env["service"].api("GET", f"/api/experiments/{experiment}/runs")
    assert listed.status_code == 200, listed.text
    return list(listed.json())


# ---------------------------------------------------------------------------------------------- item 4
SCRIPT_ESCAPES = {
    "absolute": lambda env: str(env["outside"]),
    "dotdot": lambda env: "../" * 12 + str(env["outside"]).lstrip("/"),
    "backslashes": lambda env: "..\\" * 12 + str(env["outside"]).lstrip("/").replace("/", "\\"),
    "percent-encoded": lambda env: "%2e%2e/" * 12 + str(env["outside"]).lstrip("/"),
    "fullwidth": lambda env: "．．/" * 12 + str(env["outside"]).lstrip("/"),
}


@pytest.mark.parametrize("case", list(SCRIPT_ESCAPES))
def test_a_script_outside_the_snapshot_is_refused_and_never_runs(env: dict[str, Any], case: str) -> None:
    document = copy.deepcopy(env["document"])
    document["steps"][0]["settings"]["scriptName"] = SCRIPT_ESCAPES[case](env)
    experiment = f"e2e-escape-{uuid.uuid4().hex[:8]}"
    error = error_of(submit(env, experiment, document), 400)
    assert "settings.scriptName" in text_of(error) and "$.steps[0].settings.scriptName" in text_of(error), error
    assert runs_of(env, experiment) == []
    published = env["service"].api("POST", "/api/published-pipelines", json={"name": "x", "document": document})
    assert "settings.scriptName" in text_of(error_of(published, 400))
    assert not env["marker"].exists(), "the script outside the snapshot ran"


def test_a_document_without_an_uploaded_snapshot_is_refused(env: dict[str, Any]) -> None:
    """sourceDirectory is the submitter's folder: the service never runs a step from a folder a document names."""
    document = copy.deepcopy(env["document"])
    document["steps"][0]["snapshot"].update(id=None, sourceDirectory=str(env["outside"].parent))
    experiment = f"e2e-nosnap-{uuid.uuid4().hex[:8]}"
    error = error_of(submit(env, experiment, document), 400)
    assert "no uploaded source snapshot" in error["message"]
    assert runs_of(env, experiment) == []


def test_a_data_path_with_dotdot_is_refused(env: dict[str, Any]) -> None:
    document = copy.deepcopy(env["document"])
    document["parameters"]["where"] = {"type": "datapath", "default": {"datastore": None, "path": "a\\..\\..\\b"}}
    experiment = f"e2e-datapath-{uuid.uuid4().hex[:8]}"
    error = error_of(submit(env, experiment, document), 400)
    assert "$.parameters.where.default.path" in text_of(error)


# ---------------------------------------------------------------------------------------------- item 5
@pytest.mark.parametrize(
    "quoted,reason",
    [
        ("stage%5C..%5C..%5Cx", "'..'"),
        ("stage%5Cx", "it holds '\\'"),
        ("a%00b", "control character"),
        ("%2Fleading", "absolute"),
        ("a/%2E%2E/b", "'..'"),
        ("a/%252e%252e/b", "'..'"),
    ],
)
def test_bad_blob_names_are_refused_on_upload_and_download(env: dict[str, Any], quoted: str, reason: str) -> None:
    svc = env["service"]
    url = f"/api/datastores/workspaceblobstore/files/{quoted}"
    error = error_of(svc.api("PUT", url, data=b"x"), 400)
    assert reason in error["message"] and "datastore file path" in error["message"], error
    error_of(svc.api("GET", url), 400)
    listed = svc.api("GET", "/api/datastores/workspaceblobstore/files/", params={"prefix": "stage"})
    assert listed.status_code == 200 and not [n for n in listed.json() if ".." in n or "\\" in n], listed.text


def test_an_ordinary_blob_name_still_works(env: dict[str, Any]) -> None:
    svc = env["service"]
    name = f"bad-more/my data {uuid.uuid4().hex[:6]}/naïve v1.2.csv"
    assert svc.api("PUT", f"/api/datastores/workspaceblobstore/files/{name}", data=b"a,b\n").status_code == 201
    got = svc.api("GET", f"/api/datastores/workspaceblobstore/files/{name}")
    assert got.status_code == 200 and got.content == b"a,b\n"


@pytest.mark.parametrize("container", ["../Bad_Container!", "UPPER", "a--b", "ab"])
def test_container_names_outside_azures_rules_are_refused(env: dict[str, Any], container: str) -> None:
    name = f"badc_{uuid.uuid4().hex[:8]}"
    response = env["service"].api("PUT", f"/api/datastores/{name}", json={"containerName": container})
    assert "3-63 characters" in error_of(response, 400)["message"]
    error_of(env["service"].api("GET", f"/api/datastores/{name}"), 404)


def test_datastore_names_outside_v1s_rules_are_refused(env: dict[str, Any]) -> None:
    for name in ("my-store", "x" * 300):
        response = env["service"].api("PUT", f"/api/datastores/{name}", json={"containerName": "fine-name"})
        assert "letters, digits and '_'" in error_of(response, 400)["message"]


def schedule_body(**changes: Any) -> dict[str, Any]:
    return {
        "name": f"bad-{uuid.uuid4().hex[:8]}",
        "pipelineId": GUID,
        "experimentName": "e2e-bad-schedule",
        "recurrence": {"frequency": "Day", "interval": 1},
        **changes,
    }


def assert_no_schedule(env: dict[str, Any], name: str) -> None:
    listed = env["service"].api("GET", "/api/schedules", params={"activeOnly": "false"})
    assert listed.status_code == 200 and name not in listed.text, "a refused schedule was saved"


def test_a_schedule_path_on_datastore_with_dotdot_is_refused(env: dict[str, Any]) -> None:
    body = schedule_body(recurrence=None, datastore="workspaceblobstore", pathOnDatastore="../../etc")
    error = error_of(env["service"].api("POST", "/api/schedules", json=body), 400)
    assert "path_on_datastore" in error["message"] and "'..'" in error["message"]
    assert_no_schedule(env, body["name"])


# ---------------------------------------------------------------------------------------------- item 6
def test_dataset_files_with_a_list_definition_is_400(env: dict[str, Any]) -> None:
    error = error_of(env["service"].api("POST", "/api/dataset-files", json={"definition": [None, None]}), 400)
    assert "must be a JSON object" in error["message"]
    error = error_of(env["service"].api("POST", "/api/datasets", json={"name": "d", "definition": [None]}), 400)
    assert "must be a JSON object" in error["message"]
    bad_path = {"datasetType": "file", "paths": [{"datastore": "workspaceblobstore", "path": "%2e%2e/x"}]}
    assert (
        "'..'"
        in error_of(env["service"].api("POST", "/api/dataset-files", json={"definition": bad_path}), 400)["message"]
    )


@pytest.mark.parametrize("route", ["/api/experiments/deep/runs", "/api/schedules", "/api/dataset-files"])
def test_a_deeply_nested_body_is_400(env: dict[str, Any], route: str) -> None:
    depth = 50_000
    body = b'{"document": ' + b"[" * depth + b"]" * depth + b"}"
    response = env["service"].api("POST", route, data=body, headers={"content-type": "application/json"})
    assert "levels deep" in error_of(response, 400)["message"]


def test_a_datastore_file_path_with_dotdot_is_400_for_get(env: dict[str, Any]) -> None:
    for quoted in ("a/%2E%2E/secret.txt", "a%5C..%5Csecret.txt"):
        error = error_of(env["service"].api("GET", f"/api/datastores/workspaceblobstore/files/{quoted}"), 400)
        assert "'..'" in error["message"]
    error = error_of(
        env["service"].api("GET", "/api/datastores/workspaceblobstore/files/", params={"prefix": "a/../../b"}), 400
    )
    assert "datastore path" in error["message"]


def test_a_5000_character_datastore_name_is_400(env: dict[str, Any]) -> None:
    name = "d" * 5000
    svc = env["service"]
    for method, route in (("GET", f"/api/datastores/{name}"), ("GET", f"/api/datastores/{name}/files/x.csv")):
        assert "5000 characters" in error_of(svc.api(method, route), 400)["message"]
    error_of(svc.api("PUT", f"/api/datastores/{name}", json={"containerName": "fine-name"}), 400)


def test_a_schedule_recurrence_given_as_a_string_is_400(env: dict[str, Any]) -> None:
    body = schedule_body(recurrence="every day")
    assert (
        "recurrence must be an object"
        in error_of(env["service"].api("POST", "/api/schedules", json=body), 400)["message"]
    )
    assert_no_schedule(env, body["name"])


def test_a_schedule_interval_of_10_to_the_12_is_400_and_nothing_is_saved(env: dict[str, Any]) -> None:
    body = schedule_body(recurrence={"frequency": "Minute", "interval": 10**12})
    error = error_of(env["service"].api("POST", "/api/schedules", json=body), 400)
    assert "too large" in error["message"] and "72000" in error["message"]
    assert_no_schedule(env, body["name"])
    body = schedule_body(recurrence=None, datastore="workspaceblobstore", pollingInterval=10**12)
    assert "polling_interval" in error_of(env["service"].api("POST", "/api/schedules", json=body), 400)["message"]
    assert_no_schedule(env, body["name"])


def test_history_of_an_unknown_instance_is_404(env: dict[str, Any]) -> None:
    svc = env["service"]
    response = svc.session.get(
        f"{svc.base_url}/admin/funchost/instances/no-such-{uuid.uuid4().hex[:8]}/history",
        headers={"x-functions-key": svc.host.master_key},
        timeout=30,
    )
    assert response.status_code == 404, response.text
    assert "No instance with ID" in response.json()["ExceptionMessage"]


@pytest.mark.parametrize("quoted", ["a%2Fb", "a%5Cb", "a%23b", "r" * 2000])
def test_a_run_id_no_record_can_have_is_404_not_500(env: dict[str, Any], quoted: str) -> None:
    for route in (f"/api/runs/{quoted}", f"/api/runs/{quoted}/steps", f"/api/runs/{quoted}/metrics"):
        assert env["service"].api("GET", route).status_code == 404, route


def test_a_dataset_name_no_record_can_have_is_400(env: dict[str, Any]) -> None:
    definition = {"datasetType": "file", "paths": [{"datastore": "workspaceblobstore", "path": "x.csv"}]}
    for name in ("d" * 5000, "a/b", "a#b"):
        response = env["service"].api("POST", "/api/datasets", json={"name": name, "definition": definition})
        assert "dataset name" in error_of(response, 400)["message"]


def test_upload_files_to_a_dotted_target_path_lands_where_v1_put_it(env: dict[str, Any], tmp_path: Path) -> None:
    """The SDK sends blob names without '.' or empty segments ('./data' is 'data'); '..' is refused with the reason."""
    from durableml.exceptions import ValidationError

    local = tmp_path / "rows.csv"
    local.write_text("a\n1\n")
    store = env["ws"].get_default_datastore()
    folder = f"bad-more-{uuid.uuid4().hex[:6]}"
    store.upload_files([str(local)], target_path=f"./{folder}//dotted", overwrite=True, show_progress=False)
    listed = env["service"].api("GET", f"/api/datastores/{store.name}/files/", params={"prefix": folder})
    assert listed.json() == [f"{folder}/dotted/rows.csv"], listed.text
    with pytest.raises(ValidationError, match="'..'"):
        store.upload_files([str(local)], target_path=f"{folder}/../../escape", overwrite=True, show_progress=False)


def test_the_host_log_has_no_unhandled_error(env: dict[str, Any]) -> None:
    tail = Path(env["service"].host.log_path).read_text(encoding="utf-8", errors="replace")
    assert "unexpected error in the durableml API" not in tail, tail[-4000:]
