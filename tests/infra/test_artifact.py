"""The deployment artifact runs (issue 15): scripts/build_artifact.py builds the zip as Azure's remote build
does for Flex Consumption (the app's files less ``.funcignore``, ``requirements.txt`` installed into
``.python_packages/lib/site-packages``); this module unpacks it and starts funchost on the unpacked folder
the way the Functions Python worker starts an app:

* the interpreter is a fresh venv with nothing installed (no pip, no site-packages of the repository's venv);
* ``PYTHONPATH`` is the artifact's ``.python_packages/lib/site-packages`` and the host's own folder, as the
  worker sets it (``<user packages>:<worker dir>``); funchost is copied there alone, standing in for the Azure
  Functions host (it is not in the artifact: ``.funcignore`` leaves it out);
* the app's folder is the host's working directory (on ``sys.path`` of the host process, as the worker adds
  the script root), and nothing of the repository is on any path.

Then a pipeline runs, a published pipeline's REST endpoint is called, and a minute schedule fires from the
timer trigger (its clock moved forward with the schedules' clock file), all against that host. Each step
reports where it imported durableml from: the artifact.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from durableml.core import Experiment, Workspace
from durableml.launcher import LocalDurableml
from durableml.pipeline.core import Pipeline, PipelineParameter, PipelineRun, Schedule, ScheduleRecurrence
from durableml.pipeline.steps import PythonScriptStep
from durableml.service.schedules import CLOCK_SETTING
from funchost.azurite import start_azurite
from funchost.process import FunchostProcess
from tests.polling import wait_until

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = Path(".python_packages") / "lib" / "site-packages"

STEP = """
import argparse, json, os, sys
import durableml
parser = argparse.ArgumentParser()
parser.add_argument("--value")
args, _ = parser.parse_known_args()
print("WHERE " + json.dumps({
    "durableml": durableml.__file__, "value": args.value, "executable": sys.executable,
    "pythonpath": os.environ.get("PYTHONPATH", ""), "sys_path": sys.path,
}))
"""


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The zip built from this checkout, unpacked; a bare runtime venv; funchost alone in a folder."""
    work = tmp_path_factory.mktemp("artifact")
    zip_path = work / "app.zip"
    build = [sys.executable, str(ROOT / "scripts" / "build_artifact.py"), "--source", str(ROOT), "--out", str(zip_path)]
    result = subprocess.run(build, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"build_artifact failed:\n{result.stdout}\n{result.stderr}"
    app = work / "wwwroot"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(app)
    runtime = work / "runtime"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(runtime)], check=True, timeout=120)
    host = work / "host"
    shutil.copytree(ROOT / "funchost", host / "funchost", ignore=shutil.ignore_patterns("__pycache__"))
    return {"zip": zip_path, "app": app, "python": runtime / "bin" / "python", "host": host}


def test_the_artifact_holds_the_app_and_the_installed_requirements_only(artifact: dict[str, Path]) -> None:
    with zipfile.ZipFile(artifact["zip"]) as archive:
        names = archive.namelist()
    top = {name.split("/", 1)[0] for name in names}
    assert {"function_app.py", "host.json", "requirements.txt", "durableml", "triggers", "orchestrators"} <= top
    assert {"activities", "app_decorators.py", ".python_packages"} <= top
    for left_out in ("funchost", "tests", "bench", "docs", "infra", "scripts", ".venv", "node_modules", "setup.py"):
        assert left_out not in top, f"{left_out} is in the artifact; .funcignore should leave it out"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    site = artifact["app"] / PACKAGES
    installed = {p.name.split("-")[0].lower().replace("_", "-") for p in site.glob("*.dist-info")}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            name = requirement.split("==")[0].split("[")[0].lower().replace("_", "-")
            assert name in installed, f"{requirement} is not installed in the artifact ({sorted(installed)})"
    assert not (site / "durableml").exists(), "durableml is the app's own code, beside function_app.py"


@pytest.fixture(scope="module")
def deployed(artifact: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """durableml served by funchost from the unpacked artifact, on a private Azurite, with a schedules clock."""
    work = tmp_path_factory.mktemp("deployed")
    clock = work / "clock"
    clock.write_text("0")
    azurite = start_azurite(work / "azurite")
    python_path = os.pathsep.join([str(artifact["app"] / PACKAGES), str(artifact["host"])])
    env = {
        "PYTHONPATH": python_path,
        "PYTHONNOUSERSITE": "1",
        "VIRTUAL_ENV": "",
        "PATH": f"{artifact['python'].parent}{os.pathsep}{os.environ.get('PATH', '')}",
        CLOCK_SETTING: str(clock),
    }
    launched = LocalDurableml(
        work / "state", storage=azurite.connection_string, app_dir=artifact["app"], env=env, ready_timeout=90
    )
    launched.host = FunchostProcess(  # with the artifact's runtime interpreter instead of this test's
        launched.app_dir,
        launched.funchost_state,
        launched.log_path,
        {},
        port=launched.host.port,
        ready_timeout=90,
        cwd=artifact["app"],
        python=artifact["python"],
    )
    project = work / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "where.py").write_text(textwrap.dedent(STEP))
    try:
        launched.start()
        launched.write_config(project)
        yield {"launched": launched, "project": project, "clock": clock, "artifact": artifact}
    finally:
        launched.stop()
        azurite.stop()


def _where(run: Any) -> dict[str, Any]:
    log = run.get_steps()[0].get_job_log()
    line = next((x for x in log.splitlines() if x.startswith("WHERE ")), None)
    assert line is not None, log
    return dict(json.loads(line[len("WHERE ") :]))


def _from_the_artifact(where: dict[str, Any], artifact: dict[str, Path]) -> None:
    assert Path(where["durableml"]).resolve().is_relative_to(artifact["app"].resolve()), where
    for entry in [where["pythonpath"], *where["sys_path"]]:
        assert str(ROOT) not in entry, f"the repository is on a path of the step: {where}"


@pytest.fixture(scope="module")
def published(deployed: dict[str, Any]) -> Any:
    ws = Workspace.from_config(path=str(deployed["project"] / "config.json"))
    step = PythonScriptStep(
        "where.py",
        name="where",
        source_directory=str(deployed["project"] / "src"),
        arguments=["--value", PipelineParameter("value", default_value="default")],
        allow_reuse=False,
    )
    pipeline = Pipeline(ws, [step])
    return {"ws": ws, "pipeline": pipeline, "published": pipeline.publish(name="artifact", description="issue 15")}


def test_a_pipeline_runs_on_the_artifact(deployed: dict[str, Any], published: dict[str, Any]) -> None:
    run = Experiment(published["ws"], "artifact").submit(published["pipeline"])
    status = run.wait_for_completion(show_output=False, timeout_seconds=180, raise_on_error=False)
    assert status == "Finished", deployed["launched"].host.output()[-4000:]
    where = _where(run)
    assert where["value"] == "default"
    _from_the_artifact(where, deployed["artifact"])


def test_a_published_endpoint_call_runs_on_the_artifact(deployed: dict[str, Any], published: dict[str, Any]) -> None:
    endpoint = published["published"].endpoint
    assert endpoint.startswith(deployed["launched"].base_url)
    response = requests.post(
        endpoint,
        json={"ExperimentName": "artifact-rest", "ParameterAssignments": {"value": "from-rest"}},
        headers={"x-functions-key": deployed["launched"].function_key},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    run = PipelineRun(Experiment(published["ws"], "artifact-rest"), response.json()["Id"])
    assert run.wait_for_completion(show_output=False, timeout_seconds=180, raise_on_error=False) == "Finished"
    where = _where(run)
    assert where["value"] == "from-rest"
    _from_the_artifact(where, deployed["artifact"])


def test_a_schedule_fires_from_the_timer_on_the_artifact(deployed: dict[str, Any], published: dict[str, Any]) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    first = now + dt.timedelta(minutes=10)  # far ahead on the real clock: only the moved clock reaches it
    schedule = Schedule.create(
        published["ws"],
        name="artifact-minutely",
        pipeline_id=published["published"].id,
        experiment_name="artifact-schedule",
        recurrence=ScheduleRecurrence(frequency="Minute", interval=1, start_time=first.replace(tzinfo=None)),
        pipeline_parameters={"value": "from-schedule"},
    )
    try:
        assert schedule.get_pipeline_runs() == []  # nothing before the clock moves
        partial = deployed["clock"].with_suffix(".partial")
        partial.write_text(repr((first - now).total_seconds() + 1))
        os.replace(partial, deployed["clock"])  # the host never reads a half-written clock
        runs = wait_until(schedule.get_pipeline_runs, timeout=60, interval=0.5, what="the schedule's first firing")
        assert runs[0].wait_for_completion(show_output=False, timeout_seconds=180, raise_on_error=False) == "Finished"
        trigger = json.loads(runs[0].properties["durableml.trigger"])
        assert trigger["kind"] == "recurrence" and not trigger.get("skippedCount"), trigger
        where = _where(runs[0])
        assert where["value"] == "from-schedule"
        _from_the_artifact(where, deployed["artifact"])
    finally:
        schedule.disable()
