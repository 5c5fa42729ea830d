"""Git tracking: v1's Git properties for a clean and a dirty repository, credentials never recorded."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from durableml.git_info import git_properties, strip_credentials

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "train")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "t")
    git(tmp_path, "remote", "add", "origin", "https://someone:s3cret@example.com/team/models.git")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("print(1)\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "first")
    return tmp_path


def test_clean_repository(repo: Path) -> None:
    props = git_properties(repo / "src")
    assert props["azureml.git.commit"] == git(repo, "rev-parse", "HEAD") == props["mlflow.source.git.commit"]
    assert props["azureml.git.branch"] == "train" and props["azureml.git.dirty"] == "False"
    assert props["azureml.git.repository_uri"] == "https://example.com/team/models.git"
    assert "s3cret" not in str(props)


def test_dirty_repository(repo: Path) -> None:
    (repo / "src" / "train.py").write_text("print(2)\n")
    assert git_properties(repo)["azureml.git.dirty"] == "True"


def test_outside_a_repository_records_nothing(tmp_path: Path) -> None:
    assert git_properties(tmp_path) == {}


def test_credentials_are_stripped_from_urls() -> None:
    assert strip_credentials("https://u:p@host/r.git") == "https://host/r.git"
    assert strip_credentials("git@host:team/r.git") == "git@host:team/r.git"
    assert strip_credentials("/local/path") == "/local/path"
