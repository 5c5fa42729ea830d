"""RunConfiguration and its sections: how and where a step runs (recorded as given).

``RunConfiguration.target`` matters: a PythonScriptStep without ``compute_target`` takes its
compute from ``runconfig.target`` (a name or a ComputeTarget). Everything else (environment,
docker, spark, MPI, node count) is recorded in the pipeline document for the compute backend.
"""

from __future__ import annotations

from typing import Any

from durableml.core.conda_dependencies import CondaDependencies
from durableml.core.environment import Environment

__all__ = [
    "RunConfiguration",
    "DEFAULT_CPU_IMAGE",
    "DEFAULT_GPU_IMAGE",
    "CondaDependencies",
    "DockerConfiguration",
    "MpiConfiguration",
    "PyTorchConfiguration",
    "TensorflowConfiguration",
    "SparkConfiguration",
    "AmlComputeConfiguration",
    "JarLibrary",
    "MavenLibrary",
    "PyPiLibrary",
    "EggLibrary",
    "RCranLibrary",
    "compute_target_name",
]

DEFAULT_CPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"
DEFAULT_GPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04"


class DockerConfiguration:
    """Whether to use Docker for a run (recorded; steps run without Docker)."""

    def __init__(
        self,
        use_docker: bool = False,
        shm_size: str | None = None,
        shared_volumes: bool = True,
        arguments: list[str] | None = None,
    ) -> None:
        self.use_docker = use_docker
        self.shm_size = shm_size
        self.shared_volumes = shared_volumes
        self.arguments = list(arguments or [])

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as a JSON-able dict."""
        return {
            "useDocker": bool(self.use_docker),
            "shmSize": self.shm_size,
            "arguments": [str(a) for a in self.arguments],
        }


class MpiConfiguration:
    """MPI distribution settings (recorded)."""

    def __init__(self, process_count_per_node: int = 1, node_count: int = 1) -> None:
        self.process_count_per_node = process_count_per_node
        self.node_count = node_count

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as a JSON-able dict."""
        return {"kind": "mpi", "processCountPerNode": self.process_count_per_node, "nodeCount": self.node_count}


class PyTorchConfiguration(MpiConfiguration):
    """PyTorch distribution settings (recorded)."""


class TensorflowConfiguration:
    """TensorFlow parameter-server settings (recorded)."""

    def __init__(self, worker_count: int = 1, parameter_server_count: int = 1) -> None:
        self.worker_count = worker_count
        self.parameter_server_count = parameter_server_count


class SparkConfiguration:
    """Spark settings of a run: a free-form ``configuration`` dict (recorded)."""

    def __init__(self) -> None:
        self.configuration: dict[str, str] = {}

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as a JSON-able dict."""
        return {"configuration": {str(k): str(v) for k, v in sorted(self.configuration.items())}}


class AmlComputeConfiguration:
    """Run-based compute settings (``run_config.amlcompute.vm_size``...), recorded."""

    def __init__(self) -> None:
        self.vm_size: str | None = None
        self.vm_priority: str | None = None
        self.cluster_max_node_count: int = 1

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as a JSON-able dict."""
        return {
            "vmSize": self.vm_size,
            "vmPriority": self.vm_priority,
            "clusterMaxNodeCount": self.cluster_max_node_count,
        }


class _Library:
    """A library to install on a Databricks cluster."""

    kind = "library"

    def __init__(self, library: str | None = None, **kwargs: Any) -> None:
        self.library = library
        self.options = {k: v for k, v in kwargs.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        """Return the library as a JSON-able dict."""
        return {"kind": self.kind, "library": self.library, **{k: str(v) for k, v in sorted(self.options.items())}}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.library!r})"


class JarLibrary(_Library):
    """A JAR library for DatabricksStep."""

    kind = "jar"


class EggLibrary(_Library):
    """An egg library for DatabricksStep."""

    kind = "egg"


class MavenLibrary(_Library):
    """A Maven coordinate for DatabricksStep."""

    kind = "maven"

    def __init__(self, coordinates: str, repo: str = "", exclusions: list[str] | None = None) -> None:
        super().__init__(coordinates, repo=repo or None, exclusions=",".join(exclusions or []) or None)


class PyPiLibrary(_Library):
    """A PyPI package for DatabricksStep."""

    kind = "pypi"

    def __init__(self, package: str, repo: str = "") -> None:
        super().__init__(package, repo=repo or None)


class RCranLibrary(_Library):
    """A CRAN package for DatabricksStep."""

    kind = "cran"

    def __init__(self, package: str, repo: str = "") -> None:
        super().__init__(package, repo=repo or None)


class RunConfiguration:
    """How a script runs: target compute, environment, framework, distribution (v1 names)."""

    def __init__(
        self,
        script: str | None = None,
        arguments: list[Any] | None = None,
        framework: str | None = None,
        communicator: str | None = None,
        conda_dependencies: CondaDependencies | None = None,
        _history_enabled: bool | None = None,
        _path: str | None = None,
        _name: str | None = None,
        command: str | list[str] | None = None,
    ) -> None:
        self.script = script
        self.arguments = list(arguments or [])
        self.command = command
        self.framework = framework or "Python"
        self.communicator = communicator or "None"
        self.target: Any = "local"
        self.node_count = 1
        self.max_run_duration_seconds: int | None = None
        self.environment = Environment("default-environment")
        if conda_dependencies is not None:
            self.environment.python.conda_dependencies = conda_dependencies
        self.docker = DockerConfiguration()
        self.spark = SparkConfiguration()
        self.amlcompute = AmlComputeConfiguration()
        self.mpi = MpiConfiguration()
        self.distributed_job_config: Any = None
        self.history_enabled = True if _history_enabled is None else _history_enabled
        self.environment_variables: dict[str, str] = {}
        self.data_references: dict[str, Any] = {}

    def to_dict(self) -> dict[str, Any]:
        """Return everything recorded, as a JSON-able dict (``target`` excluded: the step has it)."""
        distributed = self.distributed_job_config
        return {
            "framework": self.framework,
            "communicator": self.communicator,
            "nodeCount": self.node_count if isinstance(self.node_count, int) else None,
            "maxRunDurationSeconds": self.max_run_duration_seconds,
            "environment": self.environment.to_dict(),
            "docker": self.docker.to_dict(),
            "spark": self.spark.to_dict(),
            "amlCompute": self.amlcompute.to_dict(),
            "distributedJobConfig": distributed.to_dict() if hasattr(distributed, "to_dict") else None,
            "environmentVariables": {str(k): str(v) for k, v in sorted(self.environment_variables.items())},
        }

    def __repr__(self) -> str:
        return f"RunConfiguration(target={compute_target_name(self.target)!r}, framework={self.framework!r})"


def compute_target_name(target: Any) -> str | None:
    """Return the name of ``target``: a string as is, a ComputeTarget's ``name``, or None."""
    if target is None or isinstance(target, str):
        return target
    name = getattr(target, "name", None)
    if isinstance(name, str):
        return name
    from durableml.exceptions import ValidationError

    raise ValidationError(
        f"compute_target must be a compute target name or a ComputeTarget, got {type(target).__name__} "
        f"{target!r}. Pass e.g. compute_target='cpu-cluster' or a ComputeTarget object."
    )
