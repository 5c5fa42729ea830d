"""DatabricksStep: run a notebook, Python script or JAR on a Databricks cluster."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from durableml.exceptions import ValidationError
from durableml.pipeline.core.pipeline_step import PipelineStep, ValueEncoder

__all__ = ["DatabricksStep"]


class DatabricksStep(PipelineStep):
    """A step run by Databricks ``runs/submit`` (v1 signature; every setting is recorded).

    Exactly one of ``notebook_path``, ``python_script_path``, ``python_script_name`` (with
    ``source_directory``) and ``main_class_name`` says what runs. Parameter values may be
    PipelineParameters; ``python_script_params`` and ``jar_params`` may be sets, which are sorted.
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
        self._target = _execution_target(
            name, notebook_path, python_script_path, python_script_name, main_class_name, source_directory
        )
        self._cluster = {
            "existingClusterId": existing_cluster_id,
            "sparkVersion": spark_version,
            "nodeType": node_type,
            "instancePoolId": instance_pool_id,
            "numWorkers": num_workers,
            "minWorkers": min_workers,
            "maxWorkers": max_workers,
            "sparkEnvVariables": _strings(spark_env_variables),
            "sparkConf": _strings(spark_conf),
            "initScripts": list(init_scripts or []),
            "clusterLogDbfsPath": cluster_log_dbfs_path,
            "permitClusterRestart": permit_cluster_restart,
        }
        self._notebook_params = dict(notebook_params or {})
        self._script_params = _ordered(python_script_params)
        self._jar_params = _ordered(jar_params)
        self._libraries = [
            lib.to_dict()
            for libs in (maven_libraries, pypi_libraries, egg_libraries, jar_libraries, rcran_libraries)
            for lib in libs or ()
        ]
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


def _execution_target(
    name: str,
    notebook_path: str | None,
    python_script_path: str | None,
    python_script_name: str | None,
    main_class_name: str | None,
    source_directory: str | None,
) -> dict[str, Any]:
    """Return ``{"kind", "value"}`` for what the step runs; exactly one may be given."""
    targets = {
        "notebook_path": notebook_path,
        "python_script_path": python_script_path,
        "python_script_name": python_script_name,
        "main_class_name": main_class_name,
    }
    given = [key for key, value in targets.items() if value]
    if len(given) != 1:
        raise ValidationError(
            f"DatabricksStep {name!r} needs exactly one of notebook_path, python_script_path, "
            f"python_script_name or main_class_name; got {given or 'none'}."
        )
    if python_script_name and not source_directory:
        raise ValidationError(
            f"DatabricksStep {name!r}: python_script_name needs source_directory= (the folder that holds it)."
        )
    return {"kind": given[0], "value": targets[given[0]]}


def _strings(mapping: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in sorted((mapping or {}).items())}


def _ordered(values: Iterable[Any] | None) -> list[Any]:
    if values is None:
        return []
    if isinstance(values, (set, frozenset)):
        return sorted(values, key=repr)  # sets have no stable order across processes
    return list(values)
