"""PipelineEndpoint versions, v1 URL shapes, disable/enable/archive, drafts and auth failures, against funchost.

Two published pipelines write which one ran (``--value v0`` / ``--value v1``) so a test can tell
which version a request reached. Runs are started by REST with ``requests`` as webhook callers do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from durableml.core import Experiment
from durableml.exceptions import ConflictError, GoneError, PipelineNotFoundError
from durableml.pipeline.core import Pipeline, PipelineData, PipelineDraft, PipelineEndpoint, PublishedPipeline
from durableml.pipeline.core.graph import PipelineParameter
from durableml.pipeline.core.run import PipelineRun

from ._helpers import ensure_compute, step


def _pipeline(ws: Any, journal: Path, label: str) -> Pipeline:
    out = PipelineData(f"out_{label}", datastore=ws.get_default_datastore())
    value = PipelineParameter("value", default_value=label)
    return Pipeline(
        workspace=ws,
        steps=[step(label, journal, ensure_compute(ws), output=out, extra=["--value", value], allow_reuse=False)],
    )


@pytest.fixture(scope="module")
def env(service: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ws = service.workspace()
    journal = tmp_path_factory.mktemp("endpoints") / "journal.txt"
    v0 = _pipeline(ws, journal, "v0").publish(name="versioned", description="first", version="a")
    v1 = _pipeline(ws, journal, "v1").publish(name="versioned", description="second", version="b")
    endpoint = PipelineEndpoint.publish(workspace=ws, name="Versioned Endpoint", pipeline=v0, description="test")
    endpoint.add(v1)
    return {"ws": ws, "v0": v0, "v1": v1, "endpoint": endpoint, "journal": journal}


def ran(service: Any, run_id: str) -> str:
    """Which step (v0 or v1) the run ran, once it finished."""
    run = PipelineRun(Experiment(service.workspace(), "unused"), run_id)
    assert run.wait_for_completion(show_output=False) == "Finished"
    return str(run.get_steps()[0].name)


def post(service: Any, url: str, body: dict[str, Any] | None = None, **headers: str) -> requests.Response:
    return requests.post(
        url,
        json=body or {"ExperimentName": "endpoints"},
        timeout=30,
        headers={"x-functions-key": service.key, **headers},
    )


def test_versions_are_strings_from_zero_and_default_routing(env: dict[str, Any], service: Any) -> None:
    endpoint = PipelineEndpoint.get(workspace=env["ws"], name="Versioned Endpoint")
    assert [(v.version, v.pipeline.id) for v in endpoint.list_versions()] == [("0", env["v0"].id), ("1", env["v1"].id)]
    assert endpoint.get_default_version() == "0"
    assert endpoint.get_pipeline("1").id == env["v1"].id
    assert ran(service, post(service, endpoint.endpoint).json()["Id"]) == "v0"
    assert ran(service, post(service, endpoint.endpoint + "/1").json()["Id"]) == "v1"
    endpoint.set_default_version("1")
    assert PipelineEndpoint.get(env["ws"], id=endpoint.id).get_default_version() == "1"
    assert ran(service, post(service, endpoint.endpoint).json()["Id"]) == "v1"
    endpoint.set_default(env["v0"])
    assert endpoint.get_default_version() == "0"


def test_name_url_built_the_v1_way(env: dict[str, Any], service: Any) -> None:
    rest = env["endpoint"].endpoint
    assert urlsplit(rest).path.endswith(f"/PipelineRuns/PipelineEndpointSubmit/Id/{env['endpoint'].id}")
    by_name = rest.split("Id", 1)[0] + "Name?name=Versioned Endpoint&pipelineVersion=1"
    assert ran(service, post(service, by_name).json()["Id"]) == "v1"
    default = rest.split("Id", 1)[0] + "Name?name=Versioned Endpoint"
    assert ran(service, post(service, default).json()["Id"]) == "v0"
    missing = post(service, rest.split("Id", 1)[0] + "Name?name=nope")
    assert missing.status_code == 404 and "nope" in missing.json()["error"]["message"]
    unknown_version = post(service, rest + "/7")
    assert unknown_version.status_code == 404 and "'7'" in unknown_version.json()["error"]["message"]


def test_sdk_submit_default_and_explicit_version(env: dict[str, Any], service: Any) -> None:
    endpoint = env["endpoint"]
    assert ran(service, endpoint.submit("endpoints-sdk").id) == "v0"
    assert ran(service, endpoint.submit("endpoints-sdk", pipeline_version="1").id) == "v1"
    run = Experiment(env["ws"], "endpoints-exp").submit(endpoint, pipeline_version="1")
    assert ran(service, run.id) == "v1"
    assert run.get_details()["properties"]["azureml.pipelineEndpointId"] == endpoint.id


def test_parameter_schema_per_version(env: dict[str, Any], service: Any) -> None:
    schema = requests.get(env["endpoint"].endpoint + "/1", headers={"x-functions-key": service.key}, timeout=30)
    assert schema.status_code == 200
    value = schema.json()["properties"]["ParameterAssignments"]["properties"]["value"]
    assert value == {"type": "string", "default": "v1", "x-durableml-type": "string"}
    assert schema.json()["required"] == ["ExperimentName"]


def test_disable_enable_archive(env: dict[str, Any], service: Any) -> None:
    ws = env["ws"]
    endpoint = PipelineEndpoint.publish(workspace=ws, name="Short lived", pipeline=env["v0"], description="")
    endpoint.disable()
    refused = post(service, endpoint.endpoint)
    assert refused.status_code == 410 and "Disabled" in refused.json()["error"]["message"]
    with pytest.raises(GoneError, match="enable"):
        endpoint.submit("endpoints")
    assert endpoint.id not in [e.id for e in PipelineEndpoint.list(ws)]
    assert endpoint.id in [e.id for e in PipelineEndpoint.list(ws, active_only=False)]
    endpoint.enable()
    assert post(service, endpoint.endpoint).status_code == 200
    endpoint.archive()
    assert endpoint.id not in [e.id for e in PipelineEndpoint.list(ws, active_only=False)]
    assert post(service, endpoint.endpoint).status_code == 410


def test_disabled_published_pipeline_refuses_runs_then_runs_again(env: dict[str, Any], service: Any) -> None:
    ws = env["ws"]
    pipeline = _pipeline(ws, env["journal"], "v0").publish(name="toggled", description="", version="1")
    pipeline.disable()
    assert PublishedPipeline.get(ws, pipeline.id).status == "Disabled"
    assert pipeline.id not in [p.id for p in PublishedPipeline.list(ws)]
    assert pipeline.id in [p.id for p in PublishedPipeline.get_all(ws, active_only=False)]
    refused = post(service, pipeline.endpoint)
    assert refused.status_code == 410 and pipeline.id in refused.json()["error"]["message"]
    pipeline.enable()
    assert ran(service, post(service, pipeline.endpoint).json()["Id"]) == "v0"


def test_set_name_and_name_conflicts(env: dict[str, Any]) -> None:
    ws = env["ws"]
    endpoint = PipelineEndpoint.publish(workspace=ws, name="Old name", pipeline=env["v0"], description="")
    with pytest.raises(ConflictError, match="Old name"):
        PipelineEndpoint.publish(workspace=ws, name="Old name", pipeline=env["v1"], description="")
    endpoint.set_name("New name")
    assert PipelineEndpoint.get(ws, name="New name").id == endpoint.id
    with pytest.raises(PipelineNotFoundError):
        PipelineEndpoint.get(ws, name="Old name")
    assert [p.id for p in endpoint.list_pipelines()] == [env["v0"].id]
    endpoint.add_default(env["v1"])
    assert endpoint.get_default_version() == "1"


def test_auth_failures(env: dict[str, Any], service: Any) -> None:
    url = env["endpoint"].endpoint
    body = {"ExperimentName": "endpoints"}
    assert requests.post(url, json=body, timeout=30).status_code == 401
    assert requests.post(url, json=body, headers={"x-functions-key": "wrong"}, timeout=30).status_code == 401
    bearer = requests.post(url, json=body, headers={"Authorization": "Bearer not-a-key"}, timeout=30)
    assert bearer.status_code == 401
    for path in ("/api/published-pipelines", "/api/pipeline-endpoints", "/api/pipeline-drafts"):
        assert requests.get(service.base_url + path, timeout=30).status_code == 401


def test_wrong_workspace_in_url_is_404(env: dict[str, Any], service: Any) -> None:
    url = env["v0"].endpoint.replace("/workspaces/", "/workspaces/other-")
    answer = post(service, url)
    assert answer.status_code == 404 and "workspace" in answer.json()["error"]["message"]


def test_drafts(env: dict[str, Any], service: Any) -> None:
    ws = env["ws"]
    draft = PipelineDraft.create(
        ws,
        name="draft",
        description="d",
        experiment_name="drafts",
        pipeline=_pipeline(ws, env["journal"], "v0"),
        continue_on_step_failure=True,
        tags={"dev": "true"},
        properties={"owner": "me"},
    )
    PipelineDraft.create(
        ws, name="other", experiment_name="drafts", pipeline=_pipeline(ws, env["journal"], "v1"), tags={"dev": "false"}
    )
    assert [d.id for d in PipelineDraft.list(ws, tags={"dev": "true"})] == [draft.id]
    assert PipelineDraft.get(ws, id=draft.id).properties == {"owner": "me"}
    draft.update(name="renamed", description="d2", pipeline=_pipeline(ws, env["journal"], "v1"))
    again = PipelineDraft.get(ws, draft.id)
    assert (again.name, again.description) == ("renamed", "d2")
    assert ran(service, draft.submit_run().id) == "v1"
    published = draft.publish()
    assert published.name == "renamed" and published.continue_on_step_failure is True
    assert ran(service, post(service, published.endpoint).json()["Id"]) == "v1"


def test_v1_request_fields_accepted_ignored_or_refused(env: dict[str, Any], service: Any) -> None:
    url = env["v0"].endpoint
    extra = {
        "ExperimentName": "endpoints-v1",
        "Description": "d",
        "Properties": {"a": "b"},
        "StepTags": {},
        "EnforceRerun": True,
        "ContinueOnStepFailure": True,
        "Tags": {"team": "ml"},
    }
    answer = post(service, url, extra)
    assert answer.status_code == 200, answer.text
    run = service.api("GET", f"/api/runs/{answer.json()['Id']}").json()
    assert (run["regenerateOutputs"], run["continueOnStepFailure"], run["tags"]) == (True, True, {"team": "ml"})
    typo = post(service, url, {"ExperimentName": "endpoints-v1", "ParameterAssignment": {"value": "x"}})
    assert typo.status_code == 400 and "ParameterAssignment" in typo.json()["error"]["message"]
    no_experiment = post(service, url, {"ParameterAssignments": {}})
    assert no_experiment.status_code == 400 and "ExperimentName" in no_experiment.json()["error"]["message"]
