"""Git tracking: the repository a run's source came from, recorded as v1's Git integration does.

When the submitting directory (or a step's source directory) is inside a Git repository, the run gets
the properties v1 wrote: ``azureml.git.repository_uri``, ``azureml.git.branch``, ``azureml.git.commit``,
``azureml.git.dirty`` and their ``mlflow.source.git.*`` twins. Credentials embedded in a remote URL are
removed before anything is recorded. Outside a repository, or without a ``git`` executable, nothing is
recorded and nothing fails.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

__all__ = ["git_properties", "strip_credentials"]

_TIMEOUT = 10.0


def _git(directory: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(directory), *args], capture_output=True, text=True, timeout=_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def strip_credentials(url: str) -> str:
    """``https://user:token@host/repo`` → ``https://host/repo`` (scp-style and local paths are kept)."""
    parts = urlsplit(url)
    if not parts.scheme or "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def git_properties(directory: str | Path, by_repository: dict[str, dict[str, str]] | None = None) -> dict[str, str]:
    """The v1 Git properties of ``directory``'s repository, or ``{}`` when it is not in one.

    ``by_repository``: answers already found during this submission, by repository root (a pipeline's
    directories usually share one repository, and ``git status`` is the slow part).
    """
    if shutil.which("git") is None:
        return {}
    path = Path(directory).resolve()
    top = _git(path, "rev-parse", "--show-toplevel")
    if not top:
        return {}  # not in a repository
    if by_repository is not None and top in by_repository:
        return by_repository[top]
    status = _git(path, "status", "--porcelain=v2", "--branch") or ""  # one call: commit, branch, changes
    headers = dict(line[2:].split(" ", 1) for line in status.splitlines() if line.startswith("# ") and " " in line[2:])
    commit = headers.get("branch.oid", "")
    commit = "" if commit == "(initial)" else commit
    branch = headers.get("branch.head", "")
    branch = "HEAD" if branch == "(detached)" else branch  # what `git rev-parse --abbrev-ref HEAD` says
    dirty = any(not line.startswith("# ") for line in status.splitlines() if line)
    remote = strip_credentials(_git(path, "config", "--get", "remote.origin.url") or top)
    found = {
        "azureml.git.repository_uri": remote,
        "mlflow.source.git.repoURL": remote,
        "azureml.git.branch": branch,
        "mlflow.source.git.branch": branch,
        "azureml.git.commit": commit,
        "mlflow.source.git.commit": commit,
        "azureml.git.dirty": str(dirty),
    }
    if by_repository is not None:
        by_repository[top] = found
    return found
