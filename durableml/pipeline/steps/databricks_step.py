"""DatabricksStep: run a notebook, Python script or JAR on a Databricks cluster."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from durableml.exceptions import ValidationError
from durableml.pipeline.core.pipeline_step import PipelineStep, ValueEncoder

__all__ = ["DatabricksStep"]


class DatabricksStep(PipelineStep):
    """A step run by Databricks ``runs/submit`` on an attached DatabricksCompute (v1 signature, checks, messages).

    Exactly one of ``notebook_path``, ``python_script_path``, ``python_script_name`` (with
    ``source_directory``, uploaded to DBFS) and ``main_class_name`` (with ``jar_libraries``) says what runs.
    Parameter values may be PipelineParameters; ``python_script_params`` and ``jar_params`` may be sets, which are
    sorted. Inputs and outputs reach a notebook as widgets named after them (``dbutils.widgets.get("input1")``)
    and a script or JAR as parameters ``-input1 <path>``. Without ``existing_cluster_id`` a new cluster is
    described with v1's defaults (``4.0.x-scala2.11``, ``Standard_D3_v2``).
    """

    kind = "databricks"

    def __init__(
        self,
        name: str,
        inputs: Sequence[Any] | None = None,
        outputs: Sequence[Any] | None = None,
        existing_cluster_id: str | None = None,
        spark_version: str | None = None,
        node_type: str | None = None,
        instance_pool_id: str | None = None,
        num_workers: int | None = None,
        min_workers: int | None = None,
        max_workers: int | None = None,
        spark_env_variables: Mapping[str, str] | None = None,
        spark_conf: Mapping[str, str] | None = None,
        init_scripts: Sequence[str] | None = None,
        cluster_log_dbfs_path: str | None = None,
        notebook_path: str | None = None,
        notebook_params: Mapping[str, Any] | None = None,
        python_script_path: str | None = None,
        python_script_params: Iterable[Any] | None = None,
        main_class_name: str | None = None,
        jar_params: Iterable[Any] | None = None,
        python_script_name: str | None = None,
        source_directory: str | None = None,
        hash_paths: Sequence[str] | None = None,
        run_name: str | None = None,
        timeout_seconds: int | None = None,
        runconfig: Any = None,
        maven_libraries: Sequence[Any] | None = None,
        pypi_libraries: Sequence[Any] | None = None,
        egg_libraries: Sequence[Any] | None = None,
        jar_libraries: Sequence[Any] | None = None,
        rcran_libraries: Sequence[Any] | None = None,
        compute_target: Any = None,
        allow_reuse: bool = True,
        version: str | None = None,
        permit_cluster_restart: bool | None = None,
        reuse_policy: str | None = None,
    ) -> None:
        libraries = (maven_libraries, pypi_libraries, egg_libraries, jar_libraries, rcran_libraries)
        if runconfig is not None and any(lib is not None for lib in libraries):
            raise ValidationError("Either pass runconfig or each library type as a separate parameter")
        if name is None:
            raise ValidationError("name is required")
        if not isinstance(name, str):
            raise ValidationError("name must be a string")
        self._cluster = _cluster(
            existing_cluster_id, spark_version, node_type, instance_pool_id, num_workers, min_workers,
            max_workers, spark_env_variables, spark_conf, init_scripts, cluster_log_dbfs_path,
        )  # fmt: skip
        self._cluster["permitClusterRestart"] = permit_cluster_restart
        self._target = _execution_target(
            notebook_path, python_script_path, python_script_name, main_class_name, source_directory
        )
        if compute_target is None:
            raise ValidationError("compute_target is required")
        if timeout_seconds is not None and not isinstance(timeout_seconds, int):
            raise ValidationError("timeout_seconds must be an int")
        if run_name is not None and not isinstance(run_name, str):
            raise ValidationError("run_name must be a string")
        self._notebook_params = dict(notebook_params or {})
        self._script_params = _ordered(python_script_params)
        self._jar_params = _ordered(jar_params)
        self._libraries = [lib.to_dict() for libs in libraries for lib in libs or ()]
        self._run_name = run_name
        self._timeout = timeout_seconds
        super().__init__(
            name,
            inputs=inputs,
            outputs=outputs,
            allow_reuse=allow_reuse,
            reuse_policy=reuse_policy,
            compute_target=compute_target,
            source_directory=source_directory,
            hash_paths=hash_paths,
            version=version,
        )

    def _settings(self, encode: ValueEncoder) -> dict[str, Any]:
        return {
            "target": dict(self._target),
            "cluster": dict(self._cluster),
            "notebookParams": {str(k): encode(v) for k, v in sorted(self._notebook_params.items())},
            "pythonScriptParams": [encode(v) for v in self._script_params],
            "jarParams": [encode(v) for v in self._jar_params],
            "libraries": list(self._libraries),
            "runName": self._run_name,
            "timeoutSeconds": self._timeout,
        }

    def _snapshot(self, default_source_directory: str | None) -> dict[str, Any] | None:
        return super()._snapshot(default_source_directory) if self._target["kind"] == "python_script_name" else None


_ONE_TARGET = "Exactly one of notebook_path, python_script_path, python_script_name or main_class_name is required"


def _execution_target(
    notebook_path: str | None,
    python_script_path: str | None,
    python_script_name: str | None,
    main_class_name: str | None,
    source_directory: str | None,
) -> dict[str, Any]:
    """Return ``{"kind", "value"}`` for what the step runs; exactly one may be given (v1's checks and messages)."""
    targets = {
        "notebook_path": notebook_path,
        "python_script_path": python_script_path,
        "main_class_name": main_class_name,
        "python_script_name": python_script_name,
    }
    for key, value in targets.items():
        if value is not None and not isinstance(value, str):
            raise ValidationError(f"{key} must be a string")
    given = [key for key, value in targets.items() if value is not None]
    if len(given) != 1:
        raise ValidationError(_ONE_TARGET)
    if python_script_name is not None and source_directory is None:
        raise ValidationError("If python_script_name is specified then source_directory must be too")
    return {"kind": given[0], "value": targets[given[0]]}


def _cluster(
    existing_cluster_id: str | None,
    spark_version: str | None,
    node_type: str | None,
    instance_pool_id: str | None,
    num_workers: int | None,
    min_workers: int | None,
    max_workers: int | None,
    spark_env_variables: Mapping[str, str] | None,
    spark_conf: Mapping[str, str] | None,
    init_scripts: Sequence[str] | None,
    cluster_log_dbfs_path: str | None,
) -> dict[str, Any]:
    """The cluster settings, with v1's defaults and checks: an existing cluster, or a new one's size and setup."""
    if existing_cluster_id is not None:
        if not isinstance(existing_cluster_id, str):
            raise ValidationError("existing_cluster_id must be a string")
        return {"existingClusterId": existing_cluster_id}  # v1 ignores the new-cluster settings then
    spark_version = "4.0.x-scala2.11" if spark_version is None else spark_version
    if not isinstance(spark_version, str):
        raise ValidationError("spark_version must be a string")
    if node_type is None and instance_pool_id is None:
        node_type = "Standard_D3_v2"
    if node_type is not None and not isinstance(node_type, str):
        raise ValidationError("node_type must be a string")
    if node_type is not None and instance_pool_id is not None:
        raise ValidationError("Exactly one of node_type or instance_pool_id can be specified")
    if instance_pool_id is not None and not isinstance(instance_pool_id, str):
        raise ValidationError("instance_pool_id must be a string")
    if num_workers is None and (min_workers is None or max_workers is None):
        raise ValidationError("one of num_workers or min_workers and max_workers is required")
    if num_workers is not None and (min_workers is not None or max_workers is not None):
        raise ValidationError("exactly one of num_workers or min_workers and max_workers is required")
    for label, count in (("num_workers", num_workers), ("min_workers", min_workers), ("max_workers", max_workers)):
        if count is not None and (not isinstance(count, int) or isinstance(count, bool)):
            raise ValidationError(f"{label} must be an int")
    if init_scripts is not None and not isinstance(init_scripts, list):
        raise ValidationError("init_scripts should be a list of strings")
    if cluster_log_dbfs_path is not None and not isinstance(cluster_log_dbfs_path, str):
        raise ValidationError("cluster_log_dbfs_path should be a string")
    if spark_env_variables is None:
        spark_env_variables = {"PYSPARK_PYTHON": "/databricks/python3/bin/python3"}
    return {
        "sparkVersion": spark_version,
        "nodeType": node_type,
        "instancePoolId": instance_pool_id,
        "numWorkers": num_workers,
        "minWorkers": min_workers,
        "maxWorkers": max_workers,
        "sparkEnvVariables": _strings(spark_env_variables),
        "sparkConf": _strings(spark_conf),
        "initScripts": [str(script) for script in init_scripts or []],
        "clusterLogDbfsPath": cluster_log_dbfs_path,
    }


def _strings(mapping: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in sorted((mapping or {}).items())}


def _ordered(values: Iterable[Any] | None) -> list[Any]:
    if values is None:
        return []
    if isinstance(values, (set, frozenset)):
        return sorted(values, key=repr)  # sets have no stable order across processes
    return list(values)
