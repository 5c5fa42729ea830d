"""Build hook: a wheel of durableml carries the Function App itself (function_app.py, app_decorators.py,
host.json, the orchestrators, activities and triggers blueprints and the studio's page) under
``durableml/_functionapp/``, so that an installed durableml can run the app with funchost (``durableml up``)
without a checkout of this repository.

Everything else is declared in pyproject.toml. The app stays at the top of the repository, where the Azure
Functions host and ``infra/`` deploy it from; editable installs use it there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
APP_FILES = ("function_app.py", "app_decorators.py", "host.json", "requirements.txt")
APP_PACKAGES = ("orchestrators", "activities", "triggers", "studio")  # studio: the web page (and studio/vendor)


class BuildWithFunctionApp(build_py):  # type: ignore[misc]
    """``build_py`` that also copies the Function App into ``durableml/_functionapp`` of the build."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "durableml" / "_functionapp"
        target.mkdir(parents=True, exist_ok=True)
        for name in APP_FILES:
            shutil.copy2(ROOT / name, target / name)
        for package in APP_PACKAGES:
            shutil.copytree(
                ROOT / package,
                target / package,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )


setup(cmdclass={"build_py": BuildWithFunctionApp})
