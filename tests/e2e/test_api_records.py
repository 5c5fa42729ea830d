"""The HTTP API's record shapes against a real funchost and Azurite: golden answers of the main routes, and every
answer checked against its schema in the OpenAPI document (generated from durableml/service/record_types.py).

One small pipeline (prepare -> report over PipelineData, a pipeline parameter) runs on an AmlCompute target; it is
published, put behind a pipeline endpoint, run by a schedule (v1: a recurrence without start_time runs at once) and
by the v1 REST route. The answers of the GET routes are normalized (ids, content hashes, times and the host become
numbered placeholders, the same value the same placeholder within one answer) and compared with
``tests/golden/api/<name>.json``. After an intended change of a record's shape, regenerate them with::

    DURABLEML_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/e2e/test_api_records.py

and review the diff.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from durableml.core import Experiment
from durableml.core.compute import AmlCompute, ComputeTarget
from durableml.pipeline.core import (
    Pipeline,
    PipelineData,
    PipelineEndpoint,
    PipelineParameter,
    Schedule,
    ScheduleRecurrence,
)
from durableml.pipeline.core.run import PipelineRun
from durableml.pipeline.steps import PythonScriptStep
from durableml.service import openapi
from tests import api_schema

from ._helpers import STEPS_DIR, wait_until

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "api"
UPDATE = os.environ.get("DURABLEML_UPDATE_GOLDEN") == "1"
COMPUTE = "golden-cpu"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SHA = re.compile(r"\b[0-9a-f]{64}\b")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?")
_STEP_ID = re.compile(r"^([a-z0-9_]+)_[0-9a-f]{12}$")  # a step's id: its name and a hash of its definition


@pytest.fixture(scope="module")
def env(service: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ws = service.workspace()
    source = tmp_path_factory.mktemp("golden") / "steps"  # outside any git repository: no git properties
    shutil.copytree(STEPS_DIR, source, ignore=shutil.ignore_patterns("__pycache__"))
    compute = ComputeTarget.create(
        ws, COMPUTE, AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", min_nodes=0, max_nodes=2)
    )
    data = PipelineData("prepared", datastore=ws.get_default_datastore())
    greeting = PipelineParameter("greeting", default_value="hello")
    steps = [
        PythonScriptStep(
            script_name="step.py",
            name="prepare",
            arguments=["--name", "prepare", "--out", data, "--value", greeting],
            outputs=[data],
            compute_target=compute,
            source_directory=str(source),
        ),
        PythonScriptStep(
            script_name="step.py",
            name="report",
            arguments=["--name", "report", "--in", data],
            inputs=[data],
            compute_target=compute,
            source_directory=str(source),
        ),
    ]
    pipeline = Pipeline(workspace=ws, steps=steps)
    with contextlib.chdir(source):  # the run's git properties come from the working directory: none here
        run = Experiment(ws, "golden-api").submit(pipeline)
    assert run.wait_for_completion(show_output=False, timeout_seconds=180) == "Finished"
    published = run.publish_pipeline(name="golden", description="the golden pipeline", version="1")
    endpoint = PipelineEndpoint.publish(ws, name="golden endpoint", pipeline=published, description="golden")
    schedule = Schedule.create(
        ws,
        name="golden schedule",
        pipeline_id=published.id,
        experiment_name="golden-schedule",
        recurrence=ScheduleRecurrence(frequency="Day", interval=1, hours=[2], minutes=[0]),
    )
    started = wait_until(
        lambda: service.api("GET", f"/api/schedules/{schedule.id}/runs").json(), timeout=60, what="the first run"
    )
    scheduled = PipelineRun(Experiment(ws, "golden-schedule"), started[0]["id"])
    assert scheduled.wait_for_completion(show_output=False, timeout_seconds=180) == "Finished"
    return {"ws": ws, "run": run, "published": published, "endpoint": endpoint, "schedule": schedule}


def normalized(value: Any, host: str) -> Any:
    """``value`` with volatile values replaced: ids, content hashes, times and the service's host."""
    seen: dict[str, str] = {}

    def placeholder(kind: str, found: str) -> str:
        if found not in seen:
            seen[found] = f"<{kind}-{sum(1 for v in seen.values() if v.startswith(f'<{kind}-')) + 1}>"
        return seen[found]

    def walk(item: Any) -> Any:
        if isinstance(item, dict):
            return {walk(k): walk(v) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v) for v in item]
        if isinstance(item, str):
            text = item.replace(host, "<host>")
            text = _UUID.sub(lambda m: placeholder("id", m.group()), text)
            text = _SHA.sub(lambda m: placeholder("sha256", m.group()), text)
            text = _STEP_ID.sub(r"\1_<hash>", text)
            return _TIME.sub("<time>", text)
        return item

    return walk(value)


def check(service: Any, name: str, path: str, template: str, method: str = "GET", status: int = 200, **kw: Any) -> Any:
    """The answer of ``method path``: checked against its OpenAPI schema, and (normalized) against its golden file.
    The same volatile value gets the same placeholder within one answer, so the links between records stay checked
    (a step's ``parentRunId`` is the run's ``id``, a reused key is the key it reuses)."""
    answer = service.api(method, path, **kw)
    assert answer.status_code == status, answer.text
    body = answer.json()
    document = openapi.document()
    schema = api_schema.response_schema(document, template, method.lower(), str(status))
    assert api_schema.problems(document, schema, body) == [], json.dumps(body, indent=2)
    text = json.dumps(normalized(body, service.base_url), indent=2) + "\n"
    golden = GOLDEN / f"{name}.json"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no {golden}; create it with DURABLEML_UPDATE_GOLDEN=1"
    assert text == golden.read_text(encoding="utf-8"), (
        f"the answer of {method} {template} differs from {golden.name}; if the change is intended, "
        "regenerate with DURABLEML_UPDATE_GOLDEN=1 and review the diff"
    )
    return body


def test_workspace_and_compute(env: dict[str, Any], service: Any) -> None:
    check(service, "workspace", "/api/workspace", "/api/workspace")
    compute = check(service, "compute", f"/api/computes/{COMPUTE}", "/api/computes/{name}")
    assert (compute["vmSize"], compute["maxNodeCount"], compute["minNodeCount"]) == ("STANDARD_D2_V2", 2, 0)
    check(service, "datastore", "/api/datastores/workspaceblobstore", "/api/datastores/{name}")


def test_runs_steps_and_experiment_runs(env: dict[str, Any], service: Any) -> None:
    run = env["run"]
    record = check(service, "run", f"/api/runs/{run.id}", "/api/runs/{run_id}")
    assert record["kind"] == "pipeline" and record["status"] == "Finished" and record["endTimeUtc"]
    steps = check(service, "run_steps", f"/api/runs/{run.id}/steps", "/api/runs/{run_id}/steps")
    assert [s["name"] for s in steps] == ["report", "prepare"] and {s["parentRunId"] for s in steps} == {run.id}
    check(service, "step_run", f"/api/runs/{steps[0]['id']}", "/api/runs/{run_id}")
    check(service, "experiment_runs", "/api/experiments/golden-api/runs", "/api/experiments/{experiment}/runs")
    check(service, "step_reuse", f"/api/runs/{steps[0]['id']}/reuse", "/api/runs/{run_id}/reuse")


def test_published_pipeline_endpoint_and_schedule(env: dict[str, Any], service: Any) -> None:
    published, endpoint, schedule = env["published"], env["endpoint"], env["schedule"]
    record = check(
        service, "published_pipeline", f"/api/published-pipelines/{published.id}", "/api/published-pipelines/{id}"
    )
    assert record["parameters"]["greeting"]["default"] == "hello"
    check(service, "pipeline_endpoint", f"/api/pipeline-endpoints/{endpoint.id}", "/api/pipeline-endpoints/{id}")
    check(service, "schedule", f"/api/schedules/{schedule.id}", "/api/schedules/{schedule_id}")
    runs = check(service, "schedule_runs", f"/api/schedules/{schedule.id}/runs", "/api/schedules/{schedule_id}/runs")
    assert runs[0]["trigger"]["kind"] == "created" and runs[0]["runSource"] == "Schedule"


def test_v1_run_answer(env: dict[str, Any], service: Any) -> None:
    published = env["published"]
    path = published.endpoint.removeprefix(service.base_url)
    template = next(p for p in openapi.document()["paths"] if p.endswith("/PipelineSubmit/{id}"))
    answer = check(service, "v1_run_accepted", path, template, "POST", json={"ExperimentName": "golden-rest"})
    run = PipelineRun(Experiment(env["ws"], "golden-rest"), answer["Id"])
    assert run.wait_for_completion(show_output=False, timeout_seconds=180) == "Finished"


def test_compute_settings_are_accepted_under_every_name(env: dict[str, Any], service: Any) -> None:
    for body in (
        {"type": "AmlCompute", "vmSize": "A", "maxNodeCount": 3},
        {"type": "AmlCompute", "vmSize": "A", "maxNodes": 3},
        {"type": "AmlCompute", "vm_size": "A", "max_nodes": 3},  # what older clients sent
    ):
        created = service.api("PUT", "/api/computes/golden-names", json=body)
        assert created.status_code == 201, created.text
        shown = service.api("GET", "/api/computes/golden-names").json()
        assert (shown["vmSize"], shown["maxNodeCount"]) == ("A", 3), (body, shown)
    listed = service.api("GET", "/api/computes").json()
    document = openapi.document()
    schema = api_schema.response_schema(document, "/api/computes/{name}")
    assert api_schema.problems(document, schema, listed) == []
    refused = service.api("PUT", "/api/computes/golden-names", json={"maxNodeCount": "many"})
    assert refused.status_code == 400 and "maxNodeCount" in refused.json()["error"]["message"]
