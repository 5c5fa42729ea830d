"""The ``durableml`` console script, run as a user runs it: subprocesses of ``.venv/bin/durableml`` in temp dirs.

One durableml for the module: ``durableml up --detach`` on a free loopback port in a project folder (default
state dir ``.durableml-local`` and config.json there), a small pipeline submitted through the SDK with that
config.json, then ``status``, ``runs list/show/logs/cancel`` and finally ``down``; plus the error cases
(nothing running, an unknown run id, a port in use).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from durableml import launcher
from durableml.core import Experiment, Workspace
from durableml.pipeline.core import Pipeline
from durableml.pipeline.steps import PythonScriptStep
from funchost.host import free_port
from tests.e2e._helpers import pid_alive

SCRIPT = Path(sys.executable).with_name("durableml")
EXPERIMENT = "cli-test"
UNKNOWN = "00000000-1111-2222-3333-444444444444"

STEP = """\
import sys, time
print(f"hello from {sys.argv[1]}", flush=True)
time.sleep(float(sys.argv[2]))
print(f"bye from {sys.argv[1]}", flush=True)
"""


def durableml(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed console script; the environment names no storage or service of the test run's own."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("AzureWebJobsStorage", "DURABLEML_ENDPOINT", "DURABLEML_KEY")
    }
    return subprocess.run(
        [str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@dataclass
class Local:
    """The module's durableml: the project folder it was started in and what ``up`` printed."""

    project: Path
    port: int
    up: subprocess.CompletedProcess[str]

    @property
    def state(self) -> Path:
        return self.project / ".durableml-local"

    @property
    def config(self) -> Path:
        return self.project / "config.json"

    def workspace(self) -> Workspace:
        return Workspace.from_config(path=str(self.config))

    def submit(self, sleep: float) -> Any:
        """A two-step pipeline (``first`` then ``second``), each printing a line, sleeping, printing another."""
        steps = [
            PythonScriptStep(
                script_name="hello.py",
                name=name,
                arguments=[name, str(sleep)],
                source_directory=str(self.project / "steps"),
                compute_target="local",
                allow_reuse=False,
            )
            for name in ("first", "second")
        ]
        steps[1].run_after(steps[0])
        ws = self.workspace()
        return Experiment(ws, EXPERIMENT).submit(Pipeline(workspace=ws, steps=steps))


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    if not SCRIPT.exists():
        pytest.fail(f"{SCRIPT} is missing: run `{sys.executable} -m pip install -e . --no-deps` once")
    project = tmp_path_factory.mktemp("cli") / "project"
    (project / "steps").mkdir(parents=True)
    (project / "steps" / "hello.py").write_text(STEP, encoding="utf-8")
    port = free_port()
    up = durableml("up", "--detach", "--port", str(port), cwd=project)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield Local(project, port, up)
    finally:
        durableml("down", cwd=project)
        with pytest.raises(launcher.LauncherError):  # nothing may be left running
            launcher.stop(project / ".durableml-local")


def test_up_detach_writes_config_json_and_says_where_the_key_is_but_not_the_key(local: Local) -> None:
    config = json.loads(local.config.read_text(encoding="utf-8"))
    assert config["endpoint"] == f"http://127.0.0.1:{local.port}"
    assert stat.S_IMODE(local.config.stat().st_mode) == 0o600
    keys = json.loads((local.state / "funchost" / "keys.json").read_text(encoding="utf-8"))
    assert config["key"] == keys["functionKeys"]["default"]
    assert f"durableml is running at http://127.0.0.1:{local.port}" in local.up.stdout
    assert str(local.config) in local.up.stdout and "keys.json" in local.up.stdout
    assert config["key"] not in local.up.stdout + local.up.stderr
    assert "durableml down" in local.up.stdout
    assert (local.state / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"


def test_status_reports_the_running_service(local: Local) -> None:
    done = durableml("status", cwd=local.project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"running at http://127.0.0.1:{local.port}" in done.stdout and "host state: Running" in done.stdout
    assert str(local.config) in done.stdout and "Azurite:   pid" in done.stdout


def test_runs_list_show_and_logs_of_a_pipeline_run(local: Local) -> None:
    run = local.submit(sleep=0.3)
    follow = durableml("runs", "logs", run.id, "--follow", cwd=local.project)  # returns when the run has ended
    assert follow.returncode == 0, follow.stdout + follow.stderr
    lines = follow.stdout.splitlines()
    expected = ["[first]", "hello from first", "bye from first", "[second]", "hello from second", "bye from second"]
    assert [line for line in lines if line in expected] == expected, follow.stdout
    assert lines[-1] == f"--- run {run.id} Finished"

    listed = durableml("runs", "list", cwd=local.project)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].split() == ["RUN", "ID", "EXPERIMENT", "STATUS", "CREATED", "DURATION"]
    row = next(line for line in listed.stdout.splitlines() if line.startswith(run.id))
    assert row.split()[1:3] == [EXPERIMENT, "Finished"]
    as_json = durableml("runs", "list", "--experiment", EXPERIMENT, "--json", cwd=local.project)
    assert run.id in [r["id"] for r in json.loads(as_json.stdout)]
    assert "no runs in experiment 'other'" in durableml("runs", "list", "-e", "other", cwd=local.project).stdout

    shown = durableml("runs", "show", run.id, cwd=local.project)
    assert shown.returncode == 0, shown.stderr
    assert f"run:         {run.id}" in shown.stdout and "status:      Finished" in shown.stdout
    steps = [line.split()[:2] for line in shown.stdout.split("steps (2):")[1].splitlines()[2:]]
    assert steps == [["first", "Finished"], ["second", "Finished"]], shown.stdout
    record = json.loads(durableml("runs", "show", run.id, "--json", cwd=local.project).stdout)
    assert record["status"] == "Finished" and [s["name"] for s in record["steps"]] == ["first", "second"]

    logs = durableml("runs", "logs", run.id, cwd=local.project)
    assert logs.returncode == 0, logs.stderr
    assert [line for line in logs.stdout.splitlines() if line in expected] == expected, logs.stdout
    step_id = record["steps"][1]["id"]
    step_log = durableml("runs", "logs", step_id, cwd=local.project).stdout
    assert "hello from second" in step_log and "first" not in step_log


def test_runs_cancel_ends_a_running_run(local: Local) -> None:
    run = local.submit(sleep=60)
    done = durableml("runs", "cancel", run.id, "--wait", cwd=local.project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"cancel requested for run {run.id}" in done.stdout and f"run {run.id} Canceled" in done.stdout
    again = durableml("runs", "cancel", run.id, cwd=local.project)
    assert again.returncode == 0 and "already ended (Canceled)" in again.stdout
    assert "status:      Canceled" in durableml("runs", "show", run.id, cwd=local.project).stdout


def test_runs_commands_find_the_service_by_config_json(local: Local, tmp_path: Path) -> None:
    by_option = durableml("runs", "list", "--config", str(local.config), cwd=tmp_path)
    assert by_option.returncode == 0 and EXPERIMENT in by_option.stdout, by_option.stderr
    below = local.project / "steps"  # config.json in a parent folder, as Workspace.from_config() finds it
    by_search = durableml("runs", "list", "--state-dir", str(tmp_path / "none"), cwd=below)
    assert by_search.returncode == 0 and EXPERIMENT in by_search.stdout, by_search.stderr


@pytest.mark.parametrize("command", ["show", "logs", "cancel"])
def test_an_unknown_run_is_a_404_that_names_it(local: Local, command: str) -> None:
    done = durableml("runs", command, UNKNOWN, cwd=local.project)
    assert done.returncode == 1
    assert done.stderr.startswith(f"durableml: error: no run '{UNKNOWN}' at http://127.0.0.1:{local.port}")
    assert "HTTP 404" in done.stderr and "Traceback" not in done.stderr


def test_up_on_a_port_in_use_fails_and_starts_nothing(local: Local, tmp_path: Path) -> None:
    done = durableml("up", "--detach", "--port", str(local.port), cwd=tmp_path)
    assert done.returncode == 1
    assert f"port {local.port} on 127.0.0.1 is in use" in done.stderr and "--port" in done.stderr
    assert not (tmp_path / "config.json").exists() and not (tmp_path / ".durableml-local").exists()
    twice = durableml("up", "--detach", "--port", "0", cwd=local.project)  # the same state dir
    assert twice.returncode == 1 and f"durableml is running at http://127.0.0.1:{local.port}" in twice.stderr


def test_commands_say_durableml_up_when_nothing_runs(tmp_path: Path) -> None:
    down = durableml("down", cwd=tmp_path)
    assert down.returncode == 1
    assert down.stderr.startswith("durableml: error: durableml is not running") and "nothing to stop" in down.stderr
    status = durableml("status", cwd=tmp_path)
    assert status.returncode == 1 and "`durableml up`" in status.stdout
    runs = durableml("runs", "list", cwd=tmp_path)
    assert runs.returncode == 1 and "not running" in runs.stderr and "`durableml up`" in runs.stderr
    port = free_port()  # a config.json naming a service that is not there
    config = launcher.write_config(tmp_path, f"http://127.0.0.1:{port}", "not-a-key")
    refused = durableml("runs", "show", UNKNOWN, "--config", str(config), cwd=tmp_path)
    assert refused.returncode == 1, refused.stdout
    assert (
        f"durableml is not running at http://127.0.0.1:{port}" in refused.stderr and "`durableml up`" in refused.stderr
    )


def test_up_keeps_an_azure_ml_config_json(tmp_path: Path) -> None:
    original = '{"subscription_id": "s", "resource_group": "g", "workspace_name": "w"}'
    (tmp_path / "config.json").write_text(original, encoding="utf-8")
    done = durableml("up", "--detach", "--port", "0", cwd=tmp_path)
    assert done.returncode == 1 and "--config PATH" in done.stderr
    assert (tmp_path / "config.json").read_text(encoding="utf-8") == original
    assert not (tmp_path / ".durableml-local").exists()


@pytest.mark.parametrize("command", [[], ["up"], ["down"], ["status"], ["runs"], ["runs", "logs"], ["runs", "cancel"]])
def test_help(command: list[str], tmp_path: Path) -> None:
    done = durableml(*command, "--help", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("usage: durableml"), done.stderr
    assert "--state-dir" in done.stdout or not command or command == ["runs"]


def test_down_stops_funchost_azurite_and_the_workers(local: Local) -> None:
    record = launcher.read_record(local.state)
    assert record is not None and record["azurite_pid"]
    workers = [
        json.loads(p.read_text(encoding="utf-8"))["pid"] for p in local.state.glob("durableml/compute/*/worker.json")
    ]
    assert workers, "the pipelines' local compute worker is not running"
    done = durableml("down", cwd=local.project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"durableml stopped (funchost pid {record['pid']} at http://127.0.0.1:{local.port}")
    assert not pid_alive(record["pid"]) and not pid_alive(record["azurite_pid"])
    assert not [pid for pid in workers if pid_alive(int(pid))]
    assert launcher.read_record(local.state) is None
    status = durableml("status", cwd=local.project)
    assert status.returncode == 1 and "not running" in status.stdout
    runs = durableml("runs", "list", cwd=local.project)  # config.json is still there: the service is not
    assert runs.returncode == 1 and "durableml is not running at" in runs.stderr
