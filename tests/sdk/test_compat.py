"""The azureml compatibility alias, in fresh interpreters (it changes global import state)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key != "DURABLEML_AZUREML_ALIAS"}
    environment.update({"PYTHONPATH": str(REPO_ROOT), **env})
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_enable_makes_azureml_imports_resolve_to_durableml(tmp_path: Path) -> None:
    result = run_python(
        """
        import durableml.compat
        assert durableml.compat.enable() is True
        from azureml.core import Run
        import azureml.core
        import durableml.core
        from azureml.pipeline.steps import PythonScriptStep
        from azureml.data.data_reference import DataReference
        assert Run is durableml.core.Run
        assert azureml.core is durableml.core
        assert azureml.core.runconfig.DEFAULT_CPU_IMAGE == durableml.core.runconfig.DEFAULT_CPU_IMAGE
        assert durableml.core.__spec__.name == "durableml.core"
        print(type(Run.get_context()).__name__)
    """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "_OfflineRun"


def test_environment_variable_turns_the_alias_on_at_import(tmp_path: Path) -> None:
    result = run_python(
        """
        import durableml
        from azureml.core import Run
        from azureml.exceptions import ComputeTargetException
        print(Run.__module__)
    """,
        tmp_path,
        DURABLEML_AZUREML_ALIAS="1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "durableml.core.run"


def test_without_the_alias_azureml_is_not_importable(tmp_path: Path) -> None:
    result = run_python("import durableml\nimport azureml.core\n", tmp_path)
    assert result.returncode != 0 and "No module named 'azureml'" in result.stderr


def test_unknown_azureml_modules_still_fail_normally(tmp_path: Path) -> None:
    result = run_python("import durableml.compat\ndurableml.compat.enable()\nimport azureml.nonexistent\n", tmp_path)
    assert "No module named 'azureml.nonexistent'" in result.stderr


def test_out_of_scope_names_fail_clearly_through_the_alias(tmp_path: Path) -> None:
    result = run_python(
        """
        import durableml.compat
        durableml.compat.enable()
        from azureml.train.hyperdrive import HyperDriveConfig
        HyperDriveConfig()
    """,
        tmp_path,
    )
    assert "NotSupportedError: HyperDriveConfig is not supported by durableml yet" in result.stderr


def test_alias_steps_aside_when_the_real_sdk_is_installed(tmp_path: Path) -> None:
    fake = tmp_path / "site" / "azureml" / "core"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("REAL = True\n", encoding="utf-8")
    result = run_python(
        """
        import durableml.compat
        assert durableml.compat.real_sdk_installed()
        assert durableml.compat.enable() is False
        import azureml.core
        print(azureml.core.REAL)
    """,
        tmp_path,
        PYTHONPATH=f"{REPO_ROOT}{os.pathsep}{tmp_path / 'site'}",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_module_entry_point_runs_a_step_script_unchanged(tmp_path: Path) -> None:
    script = tmp_path / "step.py"
    script.write_text(
        "import sys\nfrom azureml.core import Run\nprint(type(Run.get_context()).__name__, sys.argv[1:])\n",
        encoding="utf-8",
    )
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "durableml.compat", str(script), "--epochs", "3"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "_OfflineRun ['--epochs', '3']"


def test_module_entry_point_with_the_environment_variable_warns_nothing(tmp_path: Path) -> None:
    script = tmp_path / "step.py"
    script.write_text("from azureml.core import Run\nprint('ok')\n", encoding="utf-8")
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "DURABLEML_AZUREML_ALIAS": "1"}
    result = subprocess.run([sys.executable, "-W", "error", "-m", "durableml.compat", str(script)], cwd=tmp_path,
                            env=environment, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok" and result.stderr == ""
