"""durableml installed from its wheel, outside the repository, runs a pipeline.

Builds the wheel, installs it with its dependencies into a fresh venv in a temporary directory, starts
durableml from there with the venv's ``durableml up`` (storage: the tests' Azurite, since an installed
durableml has no ``node_modules`` of its own), runs a one-step pipeline with the venv's Python and stops it.
The step reports where it imported durableml from and its ``PYTHONPATH``: the installed copy, and no path
of the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from funchost.azurite import AzuriteHandle

ROOT = Path(__file__).resolve().parent.parent

PIPELINE = """
import json, sys
from durableml.core import Experiment, Workspace
from durableml.pipeline.core import Pipeline
from durableml.pipeline.steps import PythonScriptStep

ws = Workspace.from_config(sys.argv[1])
step = PythonScriptStep("where.py", name="where", source_directory="project", allow_reuse=False)
run = Experiment(ws, "wheel-install").submit(Pipeline(ws, [step]))
status = run.wait_for_completion(show_output=False, timeout_seconds=180, raise_on_error=False)
log = run.find_step_run("where")[0].get_job_log()
print(json.dumps({"status": status, "log": log}))
"""

WHERE = """
import json, os, durableml
print("WHERE " + json.dumps({"durableml": durableml.__file__, "pythonpath": os.environ.get("PYTHONPATH", "")}))
"""


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    """Run ``command`` with ``env`` (default: ours), never with a PYTHONPATH: the wheel is built, installed and run
    on its own, not on this checkout (importing function_app.py in a test process adds the checkout to it)."""
    env = {k: v for k, v in (os.environ if env is None else env).items() if k != "PYTHONPATH"}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the repository with the durableml wheel and its dependencies installed."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # the checkout's files (tracked or not ignored), so no stale build/ of it is packaged
    listed = _run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], ROOT)
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(work / "dist"), str(source)], work)
    wheels = sorted((work / "dist").glob("durableml-*.whl"))
    assert len(wheels) == 1, wheels
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], work)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheels[0])], work)
    return venv


def test_the_wheel_carries_the_function_app(installed: Path) -> None:
    code = "from durableml.launcher import function_app_dir; print(function_app_dir())"
    app = Path(_run([str(installed / "bin" / "python"), "-c", code], installed.parent).strip())
    assert app.is_relative_to(installed) and (app / "function_app.py").is_file() and (app / "host.json").is_file()
    assert {p.name for p in app.iterdir()} >= {"orchestrators", "activities", "triggers"}


def test_an_installed_durableml_runs_a_pipeline(installed: Path, azurite: AzuriteHandle, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "where.py").write_text(textwrap.dedent(WHERE))
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(AzureWebJobsStorage=azurite.connection_string, PATH=f"{installed / 'bin'}{os.pathsep}{env['PATH']}")
    durableml = str(installed / "bin" / "durableml")
    state = tmp_path / "state"
    _run([durableml, "up", "--detach", "--port", "0", "--state-dir", str(state), "--config", str(tmp_path)],
         tmp_path, env, timeout=180)  # fmt: skip
    try:
        out = _run([str(installed / "bin" / "python"), "pipeline.py", str(tmp_path)], tmp_path, env, timeout=300)
        result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        assert result["status"] == "Finished", result
        where = json.loads(next(line for line in result["log"].splitlines() if line.startswith("WHERE "))[6:])
        assert Path(where["durableml"]).resolve().is_relative_to(installed.resolve()), where
        assert str(ROOT) not in where["pythonpath"], where
        assert "Running" in _run([durableml, "status", "--state-dir", str(state)], tmp_path, env)
    finally:
        _run([durableml, "down", "--state-dir", str(state)], tmp_path, env, timeout=60)
