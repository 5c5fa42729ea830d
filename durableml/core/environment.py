"""Environment and its python / docker / spark sections (I-labelled: recorded, not enforced).

Steps run in the current interpreter unless a compute backend decides otherwise; every setting is
kept and serialized into the pipeline document so that a backend, or a later version, can honour it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from durableml.core.conda_dependencies import CondaDependencies

if TYPE_CHECKING:
    from durableml.core.workspace import Workspace

__all__ = ["Environment", "PythonSection", "DockerSection", "SparkSection", "CondaDependencies"]


class PythonSection:
    """Python settings of an environment: conda dependencies and interpreter choice."""

    def __init__(self) -> None:
        self.conda_dependencies: CondaDependencies = CondaDependencies()
        self.user_managed_dependencies: bool = False
        self.interpreter_path: str = "python"
        self.conda_dependencies_file: str | None = None
        self.base_conda_environment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the section as a JSON-able dict."""
        return {
            "condaDependencies": self.conda_dependencies.to_dict() if self.conda_dependencies else None,
            "userManagedDependencies": bool(self.user_managed_dependencies),
            "interpreterPath": self.interpreter_path,
            "condaDependenciesFile": self.conda_dependencies_file,
        }


class DockerSection:
    """Docker settings of an environment; recorded, steps run without Docker."""

    def __init__(self) -> None:
        self.enabled: bool = False
        self.base_image: str | None = None
        self.base_dockerfile: str | None = None
        self.base_image_registry: Any = None
        self.shm_size: str | None = None
        self.arguments: list[str] = []
        self.gpu_support: bool = False
        self.shared_volumes: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Return the section as a JSON-able dict."""
        return {
            "enabled": bool(self.enabled),
            "baseImage": self.base_image,
            "baseDockerfile": self.base_dockerfile,
            "shmSize": self.shm_size,
            "arguments": [str(arg) for arg in self.arguments],
            "gpuSupport": bool(self.gpu_support),
        }


class SparkSection:
    """Spark settings of an environment (packages and repositories); recorded."""

    def __init__(self) -> None:
        self.repositories: list[str] = []
        self.packages: list[Any] = []
        self.precache_packages: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Return the section as a JSON-able dict."""
        return {
            "repositories": [str(r) for r in self.repositories],
            "packages": [str(p) for p in self.packages],
            "precachePackages": bool(self.precache_packages),
        }


class Environment:
    """A named, versionable set of python, docker and spark settings (v1 ``Environment``)."""

    def __init__(self, name: str, **kwargs: Any) -> None:
        self.name = name
        self.version: str | None = kwargs.get("version")
        self.python = PythonSection()
        self.docker = DockerSection()
        self.spark = SparkSection()
        self.environment_variables: dict[str, str] = {}
        self.inferencing_stack_version: str | None = None

    @staticmethod
    def get(workspace: Workspace | None = None, name: str = "", version: str | None = None) -> Environment:
        """Return an environment by name. Curated names (``AzureML-...``) are accepted as labels."""
        env = Environment(name)
        env.version = version
        return env

    @staticmethod
    def from_conda_specification(name: str, file_path: str | os.PathLike[str]) -> Environment:
        """Create an environment from a conda environment file."""
        env = Environment(name)
        env.python.conda_dependencies = CondaDependencies(file_path)
        env.python.conda_dependencies_file = os.fspath(file_path)
        return env

    @staticmethod
    def from_pip_requirements(
        name: str, file_path: str | os.PathLike[str], pip_version: str | None = None
    ) -> Environment:
        """Create an environment from a pip requirements file."""
        env = Environment(name)
        with open(file_path, encoding="utf-8") as handle:
            for line in handle:
                requirement = line.split("#", 1)[0].strip()
                if requirement:
                    env.python.conda_dependencies.add_pip_package(requirement)
        return env

    @staticmethod
    def from_dockerfile(
        name: str, dockerfile: str, conda_specification: str | None = None, pip_requirements: str | None = None
    ) -> Environment:
        """Create an environment whose docker section holds ``dockerfile`` (a path or its text)."""
        env = Environment(name)
        if os.path.isfile(dockerfile):
            with open(dockerfile, encoding="utf-8") as handle:
                dockerfile = handle.read()
        env.docker.enabled = True
        env.docker.base_dockerfile = dockerfile
        if conda_specification:
            env.python.conda_dependencies = CondaDependencies(conda_specification)
        return env

    @staticmethod
    def from_existing_conda_environment(name: str, conda_environment_name: str) -> Environment:
        """Create an environment that names an existing local conda environment."""
        env = Environment(name)
        env.python.user_managed_dependencies = True
        env.python.base_conda_environment = conda_environment_name
        return env

    def register(self, workspace: Workspace) -> Environment:
        """Accept a registration; environments are carried inside each pipeline document."""
        return self

    def clone(self, new_name: str) -> Environment:
        """Return a copy of this environment under ``new_name``."""
        import copy

        env = copy.deepcopy(self)
        env.name = new_name
        return env

    def to_dict(self) -> dict[str, Any]:
        """Return the environment as a JSON-able dict (used in the pipeline document)."""
        return {
            "name": self.name,
            "version": self.version,
            "python": self.python.to_dict(),
            "docker": self.docker.to_dict(),
            "spark": self.spark.to_dict(),
            "environmentVariables": {str(k): str(v) for k, v in _items(self.environment_variables)},
        }

    def __repr__(self) -> str:
        return f"Environment(name={self.name!r}, version={self.version!r})"


def _items(mapping: Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    return sorted((mapping or {}).items())
