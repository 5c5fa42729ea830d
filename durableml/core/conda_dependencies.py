"""CondaDependencies: the conda/pip package list of a v1 environment, recorded as given.

durableml runs steps in the current interpreter by default, so packages are recorded (and travel
in the pipeline document) but not installed: pinned versions from old notebooks (tensorflow-gpu 2.6,
scikit-learn 0.22) must not be installed blindly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["CondaDependencies"]


class CondaDependencies:
    """Conda channels, conda packages, pip packages and a Python version (I-labelled: recorded).

    ``conda_dependencies_file_path`` loads a conda environment file (``name``, ``channels``,
    ``dependencies`` with an optional ``pip:`` sub-list), parsed without a YAML library.
    """

    DEFAULT_CHANNEL = "conda-forge"

    def __init__(
        self, conda_dependencies_file_path: str | os.PathLike[str] | None = None, _underlying_structure: Any = None
    ) -> None:
        self._name = "project_environment"
        self._channels: list[str] = []
        self._conda_packages: list[str] = []
        self._pip_packages: list[str] = []
        self._pip_options: list[str] = []
        self._python_version: str | None = None
        if conda_dependencies_file_path is not None:
            with open(conda_dependencies_file_path, encoding="utf-8") as handle:
                self._load_text(handle.read())

    @staticmethod
    def create(
        pip_indexurl: str | None = None,
        pip_packages: Iterable[str] | None = None,
        conda_packages: Iterable[str] | None = None,
        python_version: str | None = None,
        pin_sdk_version: bool = True,
    ) -> CondaDependencies:
        """Return a CondaDependencies with the given packages (``pin_sdk_version`` is recorded only)."""
        deps = CondaDependencies()
        deps._python_version = python_version
        for package in conda_packages or ():
            deps.add_conda_package(package)
        for package in pip_packages or ():
            deps.add_pip_package(package)
        if pip_indexurl:
            deps.set_pip_option(f"--index-url {pip_indexurl}")
        return deps

    @property
    def conda_packages(self) -> list[str]:
        """The conda package specs, in the order added."""
        return list(self._conda_packages)

    @property
    def pip_packages(self) -> list[str]:
        """The pip package specs, in the order added."""
        return list(self._pip_packages)

    @property
    def conda_channels(self) -> list[str]:
        """The conda channels, in the order added."""
        return list(self._channels)

    @property
    def pip_options(self) -> list[str]:
        """Extra pip options such as ``--index-url``."""
        return list(self._pip_options)

    def get_python_version(self) -> str | None:
        """Return the requested Python version, or None."""
        return self._python_version

    def set_python_version(self, version: str) -> None:
        """Record the requested Python version."""
        self._python_version = version

    def add_conda_package(self, conda_package: str) -> None:
        """Add a conda package spec unless it is already listed."""
        if conda_package not in self._conda_packages:
            self._conda_packages.append(conda_package)

    def add_pip_package(self, pip_package: str) -> None:
        """Add a pip package spec unless it is already listed."""
        if pip_package not in self._pip_packages:
            self._pip_packages.append(pip_package)

    def add_channel(self, channel: str) -> None:
        """Add a conda channel unless it is already listed."""
        if channel not in self._channels:
            self._channels.append(channel)

    def set_pip_option(self, pip_option: str) -> None:
        """Add a pip option such as ``--extra-index-url URL``."""
        if pip_option not in self._pip_options:
            self._pip_options.append(pip_option)

    def remove_conda_package(self, conda_package: str) -> None:
        """Remove a conda package spec if present."""
        self._conda_packages = [p for p in self._conda_packages if p != conda_package]

    def remove_pip_package(self, pip_package: str) -> None:
        """Remove a pip package spec if present."""
        self._pip_packages = [p for p in self._pip_packages if p != pip_package]

    def remove_channel(self, channel: str) -> None:
        """Remove a conda channel if present."""
        self._channels = [c for c in self._channels if c != channel]

    def serialize_to_string(self) -> str:
        """Return the dependencies as a conda environment file."""
        lines = [f"name: {self._name}"]
        if self._channels:
            lines.append("channels:")
            lines.extend(f"- {channel}" for channel in self._channels)
        lines.append("dependencies:")
        if self._python_version:
            lines.append(f"- python={self._python_version}")
        lines.extend(f"- {package}" for package in self._conda_packages)
        if self._pip_packages or self._pip_options:
            lines.append("- pip:")
            lines.extend(f"  - {item}" for item in [*self._pip_options, *self._pip_packages])
        return "\n".join(lines) + "\n"

    def save(self, path: str | os.PathLike[str] | None = None) -> str:
        """Write the environment file to ``path`` (default ``conda_dependencies.yml``); return it."""
        target = os.fspath(path) if path is not None else "conda_dependencies.yml"
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(self.serialize_to_string())
        return target

    save_to_file = save

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able description (used in the pipeline document)."""
        return {
            "channels": list(self._channels),
            "condaPackages": list(self._conda_packages),
            "pipPackages": list(self._pip_packages),
            "pipOptions": list(self._pip_options),
            "pythonVersion": self._python_version,
        }

    def _load_text(self, text: str) -> None:
        section = ""
        pip_indent: int | None = None
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].rstrip()
            if not line.strip():
                continue
            indent = _indent(line)
            if indent == 0 and not line.startswith("-") and ":" in line:
                key, _, value = line.partition(":")
                section, pip_indent = key.strip(), None
                if section == "name" and value.strip():
                    self._name = value.strip()
                continue
            item = line.strip().lstrip("-").strip()
            if pip_indent is not None and indent > pip_indent:
                (self.set_pip_option if item.startswith("--") else self.add_pip_package)(item)
                continue
            pip_indent = indent if item == "pip:" else None
            if pip_indent is None:
                self._load_item(section, item)

    def _load_item(self, section: str, item: str) -> None:
        if section == "channels":
            self.add_channel(item)
        elif section == "dependencies" and re.match(r"^python\s*[=<>~]", item):
            self._python_version = re.sub(r"^python\s*[=<>~]+", "", item)
        elif section == "dependencies":
            self.add_conda_package(item)

    def __repr__(self) -> str:
        return f"CondaDependencies(conda_packages={self._conda_packages!r}, pip_packages={self._pip_packages!r})"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())
