"""CommandStep end to end, as v1 code writes it: a command line run by the shell, and a list whose items
include an input, an output and a PipelineParameter; its params reach the command as AML_PARAMETER_*."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parent / "projects" / "command"


@pytest.fixture
def ws(v1_ws: Any) -> Any:
    from ._helpers import ensure_compute

    ensure_compute(v1_ws)
    return v1_ws


def test_a_command_line_runs_in_the_shell(ws: Any) -> None:
    from azureml.core import Experiment
    from azureml.pipeline.core import Pipeline
    from azureml.pipeline.steps import CommandStep

    step = CommandStep(
        command="echo hello from $AML_PARAMETER_who && ls count_lines.sh && exit 0",
        params={"who": "a CommandStep"},
        compute_target="e2e-cpu",
        source_directory=str(PROJECT),
        allow_reuse=False,
    )
    assert step.name == "echo"  # v1: the command's first word
    run = Experiment(ws, "e2e-command-step").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished"
    log = run.find_step_run("echo")[0].get_job_log()
    assert "hello from a CommandStep" in log and "count_lines.sh" in log, log


def test_a_command_list_gets_paths_and_parameters_and_fails_with_the_exit_code(ws: Any, tmp_path: Path) -> None:
    from azureml.core import Experiment
    from azureml.data.data_reference import DataReference
    from azureml.pipeline.core import Pipeline, PipelineData, PipelineParameter
    from azureml.pipeline.steps import CommandStep

    store = ws.get_default_datastore()
    folder = f"command-{uuid.uuid4().hex[:8]}"
    (tmp_path / "a.txt").write_text("1\n2\n3\n")
    (tmp_path / "b.txt").write_text("4\n5\n")
    store.upload_files([str(tmp_path / "a.txt"), str(tmp_path / "b.txt")], target_path=folder, overwrite=True)
    data = DataReference(store, "lines", folder, mode="download")
    counted = PipelineData("counted", datastore=store)
    mode = PipelineParameter("mode", default_value="fast")
    step = CommandStep(
        command=["sh", "count_lines.sh", data, counted],
        name="count",
        inputs=[data],
        outputs=[counted],
        params={"mode": mode},
        compute_target="e2e-cpu",
        source_directory=str(PROJECT),
        allow_reuse=False,
    )
    run = Experiment(ws, "e2e-command-step").submit(Pipeline(ws, [step]), pipeline_parameters={"mode": "thorough"})
    assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished"
    count = run.find_step_run("count")[0]
    assert "counted 5 lines; mode=thorough" in count.get_job_log()
    out = count.get_output_data("counted")
    out.download(local_path=str(tmp_path / "out"))
    assert (tmp_path / "out" / out.path_on_datastore / "count.txt").read_text().strip() == "5"

    failing = CommandStep(command="echo about to fail; exit 3", name="fails", compute_target="e2e-cpu",
                          source_directory=str(PROJECT), allow_reuse=False)  # fmt: skip
    run = Experiment(ws, "e2e-command-step").submit(Pipeline(ws, [failing]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False) == "Failed"
    error = str(run.find_step_run("fails")[0].get_details().get("error"))
    assert "about to fail" in error and "3" in error, error
