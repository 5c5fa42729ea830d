"""Step timeouts (issue 17, item 9), v1 style through the ``azureml`` alias against a real funchost + Azurite.

v1's ``RunConfiguration.max_run_duration_seconds`` (set through ``ScriptRunConfig(max_run_duration_seconds=...)``
or on a PythonScriptStep's / CommandStep's ``runconfig``) cancels a step that runs longer and ends it Failed with
"timed out after N s" in its record, its processes gone; a step finishing within its limit is unaffected; the
workspace default (app setting DURABLEML_STEP_TIMEOUT_SECONDS, set on this module's service) applies to steps
without a setting of their own; a timed-out step is never reused as a success.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


from durableml.compute.local.job_files import pid_alive
from tests.polling import wait_until

from ._helpers import ensure_compute
from .conftest import Service, running_service

WORKSPACE_DEFAULT_S = 4
HANG = """\
import os, pathlib, subprocess, sys
child = subprocess.Popen(["sleep", "60"])
pathlib.Path(sys.argv[1]).write_text(f"{os.getpid()} {child.pid}")
child.wait()
"""
NAP = """\
import sys, time
time.sleep(float(sys.argv[1]))
print("napped", sys.argv[1])
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """This module's own durableml, with the workspace default step timeout set as an operator sets it."""
    settings = {"DURABLEML_STEP_TIMEOUT_SECONDS": str(WORKSPACE_DEFAULT_S)}
    with running_service(None, tmp_path_factory.mktemp("e2e-timeout"), env=settings) as svc:
        yield svc


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "hang.py").write_text(HANG)
    (folder / "nap.py").write_text(NAP)
    return folder


def hang_step(v1_ws: Any, source: Path, pid_file: Path, name: str = "hang", **options: Any) -> Any:
    from azureml.pipeline.steps import PythonScriptStep

    return PythonScriptStep(
        script_name="hang.py",
        name=name,
        arguments=[str(pid_file)],
        compute_target=ensure_compute(v1_ws),
        source_directory=str(source),
        **options,
    )


def run_to_end(v1_ws: Any, steps: list[Any], experiment: str) -> tuple[Any, float]:
    """Submit a pipeline of ``steps``, wait for it to end; the run and the seconds it took."""
    from azureml.core import Experiment
    from azureml.pipeline.core import Pipeline

    began = time.monotonic()
    run = Experiment(v1_ws, experiment).submit(Pipeline(v1_ws, steps))
    run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
    return run, time.monotonic() - began


def assert_timed_out(run: Any, step_name: str, seconds: int) -> Any:
    """The step ended Failed "timed out after N s" everywhere a user looks (N tells which limit applied).

    Whichever stops it first writes the record: the orchestration's deadline (the job is canceled) or the step
    runner's own limit on the script (the job spec carries it too); both say "timed out after N s"."""
    from azureml.exceptions import ActivityFailedException

    assert run.get_status() == "Failed"
    with pytest.raises(ActivityFailedException) as failed:
        run.wait_for_completion(show_output=False, timeout_seconds=30)
    assert f"timed out after {seconds} s" in str(failed.value), str(failed.value)
    assert f"timed out after {seconds} s" in str(run.get_details()["error"]), run.get_details()
    step_run = run.find_step_run(step_name)[0]
    assert step_run.get_status() == "Failed"
    error = str(step_run.get_details()["error"])
    assert error.startswith(f"timed out after {seconds} s"), error
    return step_run


def processes_of(pid_file: Path) -> list[int]:
    text = wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), timeout=30, what="the pid file")
    return [int(word) for word in str(text).split()]


def test_max_run_duration_cancels_a_hanging_step_and_stops_its_processes(
    v1_ws: Any, source: Path, tmp_path: Path
) -> None:
    from azureml.core import ScriptRunConfig

    pid_file = tmp_path / "pids.txt"
    config = ScriptRunConfig(source_directory=str(source), script="hang.py", max_run_duration_seconds=3)
    hang = hang_step(v1_ws, source, pid_file, runconfig=config.run_config)
    run, took = run_to_end(v1_ws, [hang], "e2e-timeout")
    assert took < 45, f"the step was not stopped: the run took {took:.0f} s (its script sleeps 60 s)"
    assert_timed_out(run, "hang", 3)
    pids = processes_of(pid_file)
    assert len(pids) == 2
    wait_until(lambda: not any(pid_alive(pid) for pid in pids), timeout=15, what="the step's processes to end")


def test_a_step_within_its_timeout_is_unaffected_and_its_setting_wins_over_the_default(
    v1_ws: Any, source: Path
) -> None:
    from azureml.core.runconfig import RunConfiguration
    from azureml.pipeline.steps import PythonScriptStep

    config = RunConfiguration()
    config.max_run_duration_seconds = 120  # longer than the workspace default, which the nap outlasts
    nap = PythonScriptStep(
        script_name="nap.py",
        name="nap",
        arguments=[str(WORKSPACE_DEFAULT_S + 2)],
        compute_target=ensure_compute(v1_ws),
        source_directory=str(source),
        runconfig=config,
    )
    run, _ = run_to_end(v1_ws, [nap], "e2e-timeout")
    assert run.get_status() == "Finished", run.get_details()
    step_run = run.find_step_run("nap")[0]
    assert step_run.get_status() == "Finished" and not step_run.get_details().get("error")


def test_the_workspace_default_applies_to_a_step_without_a_setting(v1_ws: Any, source: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "pids.txt"
    run, took = run_to_end(v1_ws, [hang_step(v1_ws, source, pid_file, name="hang-default")], "e2e-timeout")
    assert took < 45, f"the step was not stopped: the run took {took:.0f} s (its script sleeps 60 s)"
    assert_timed_out(run, "hang-default", WORKSPACE_DEFAULT_S)
    pids = processes_of(pid_file)
    wait_until(lambda: not any(pid_alive(pid) for pid in pids), timeout=15, what="the step's processes to end")


def test_a_command_step_runconfig_limit_applies(v1_ws: Any, source: Path) -> None:
    from azureml.core.runconfig import RunConfiguration
    from azureml.pipeline.steps import CommandStep

    config = RunConfiguration()
    config.max_run_duration_seconds = 2
    sleeper = CommandStep(
        command="sleep 60",
        name="sleeper",
        compute_target=ensure_compute(v1_ws),
        runconfig=config,
        source_directory=str(source),
    )
    run, took = run_to_end(v1_ws, [sleeper], "e2e-timeout")
    assert took < 45, f"the step was not stopped: the run took {took:.0f} s (it sleeps 60 s)"
    assert_timed_out(run, "sleeper", 2)


def test_a_timed_out_step_is_not_reused_as_a_success(v1_ws: Any, source: Path, tmp_path: Path) -> None:
    from azureml.core.runconfig import RunConfiguration

    config = RunConfiguration()
    config.max_run_duration_seconds = 3
    pid_file = tmp_path / "pids.txt"
    first, _ = run_to_end(v1_ws, [hang_step(v1_ws, source, pid_file, allow_reuse=True, runconfig=config)], "e2e-reuse")
    assert_timed_out(first, "hang", 3)
    first_pids = processes_of(pid_file)
    pid_file.unlink()

    again, _ = run_to_end(v1_ws, [hang_step(v1_ws, source, pid_file, allow_reuse=True, runconfig=config)], "e2e-reuse")
    step_run = assert_timed_out(again, "hang", 3)
    assert step_run.reused_from is None  # it ran again...
    assert processes_of(pid_file) != first_pids  # ...in new processes


def test_the_deadline_counts_from_submission_and_cancels_a_queued_step(v1_ws: Any, source: Path) -> None:
    """On a one-node compute target a step queued behind another run's step outlives its limit before its script
    starts: the orchestration's deadline (not the step runner, which never ran it) cancels it, naming where the
    limit came from."""
    from azureml.core import Experiment
    from azureml.core.runconfig import RunConfiguration
    from azureml.pipeline.core import Pipeline
    from azureml.pipeline.steps import PythonScriptStep

    one_node = ensure_compute(v1_ws, "e2e-one-node", max_nodes=1)
    generous, short = RunConfiguration(), RunConfiguration()
    generous.max_run_duration_seconds, short.max_run_duration_seconds = 120, 2

    def nap(name: str, seconds: int, config: Any) -> Any:
        return PythonScriptStep(script_name="nap.py", name=name, arguments=[str(seconds)], compute_target=one_node,
                                source_directory=str(source), runconfig=config, allow_reuse=False)  # fmt: skip

    busy = Experiment(v1_ws, "e2e-timeout-queue").submit(Pipeline(v1_ws, [nap("busy", 10, generous)]))
    wait_until(lambda: any(s.get_status() == "Running" for s in busy.find_step_run("busy")), timeout=60,
               what="the step holding the only node to run")  # fmt: skip
    run, _ = run_to_end(v1_ws, [nap("queued", 0, short)], "e2e-timeout-queue")
    queued = assert_timed_out(run, "queued", 2)
    assert "(max_run_duration_seconds) and was canceled" in str(queued.get_details()["error"])
    busy.wait_for_completion(show_output=False, timeout_seconds=120)
    assert busy.get_status() == "Finished"
