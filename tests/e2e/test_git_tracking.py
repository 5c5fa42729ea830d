"""Git tracking end to end: a pipeline submitted from a Git checkout records v1's Git properties on the
pipeline run and on each step run, without the credentials of the remote URL."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from durableml.core import Experiment
from durableml.pipeline.core import Pipeline
from durableml.pipeline.steps import PythonScriptStep

from ._helpers import STEPS_DIR, ensure_compute, step_summary

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


def test_git_properties_on_pipeline_and_step_runs(
    service: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(STEPS_DIR, repo / "steps")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "t@example.com")
    git(repo, "config", "user.name", "t")
    git(repo, "remote", "add", "origin", "https://bot:tok3n@example.com/team/pipelines.git")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "steps")
    (repo / "steps" / "notes.txt").write_text("uncommitted change")  # a dirty tree
    monkeypatch.chdir(repo)
    ws = service.workspace()
    ensure_compute(ws)
    step = PythonScriptStep(
        script_name="step.py",
        name="tracked",
        source_directory=str(repo / "steps"),
        arguments=["--name", "tracked"],
        compute_target="e2e-cpu",
        allow_reuse=False,
    )
    run: Any = Experiment(ws, "e2e-git").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished", step_summary(run)
    commit = git(repo, "rev-parse", "HEAD")
    for props in (run.get_details()["properties"], run.find_step_run("tracked")[0].get_details()["properties"]):
        assert props["azureml.git.commit"] == commit and props["azureml.git.branch"] == "main"
        assert props["azureml.git.dirty"] == "True"
        assert props["azureml.git.repository_uri"] == "https://example.com/team/pipelines.git"
    assert "tok3n" not in str(run.get_details())
