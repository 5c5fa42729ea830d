"""A DatabricksStep's settings as the arguments of databricks-sdk's ``jobs.submit`` (one task, key ``durableml``).

* what runs: ``notebook_path`` -> ``notebook_task`` (``base_parameters``: the step's ``notebook_params``, then
  one widget per input and output); ``python_script_path`` -> ``spark_python_task`` on that DBFS file;
  ``python_script_name`` -> ``spark_python_task`` on the script in the uploaded source directory;
  ``main_class_name`` -> ``spark_jar_task`` (its jars are the ``jar_libraries``). A script or a JAR gets the
  step's params, then ``-<name> <path>`` for each input and each output (v1's convention);
* the cluster: ``existing_cluster_id``, or a ``new_cluster`` (``spark_version``, ``node_type_id`` or
  ``instance_pool_id``, ``num_workers`` or ``autoscale``, ``spark_conf``, ``spark_env_vars``, DBFS
  ``init_scripts``, ``cluster_log_conf``);
* ``libraries`` (jar, egg, pypi, maven, cran), ``run_name`` (default: the step's name), ``timeout_seconds``.

Imported by the driver (:mod:`durableml.runner.databricks_driver`) only; needs databricks-sdk.
"""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["TASK_KEY", "submit_arguments"]

TASK_KEY = "durableml"


def submit_arguments(
    task: Mapping[str, Any], base: str, inputs: Mapping[str, str], outputs: Mapping[str, str]
) -> dict[str, Any]:
    """``jobs.submit`` keyword arguments (``run_name``, ``tasks``, ``timeout_seconds``) for ``task`` (the step's
    settings plus ``stepName``), with inputs and outputs at the given DBFS paths and the source under ``base``."""
    from databricks.sdk.service import jobs

    timeout = task.get("timeoutSeconds")
    submit = jobs.SubmitTask(
        task_key=TASK_KEY,
        libraries=_libraries(task.get("libraries") or []) or None,
        timeout_seconds=int(timeout) if timeout else None,
        **_what(task, base, inputs, outputs),
        **_cluster(task.get("cluster") or {}),
    )
    return {
        "run_name": str(task.get("runName") or task.get("stepName") or "durableml"),
        "tasks": [submit],
        **({"timeout_seconds": int(timeout)} if timeout else {}),
    }


def _data_params(inputs: Mapping[str, str], outputs: Mapping[str, str]) -> list[str]:
    return [item for name, path in {**inputs, **outputs}.items() for item in (f"-{name}", path)]


def _what(task: Mapping[str, Any], base: str, inputs: Mapping[str, str], outputs: Mapping[str, str]) -> dict[str, Any]:
    from databricks.sdk.service import jobs

    kind, value = task["target"]["kind"], str(task["target"]["value"])
    if kind == "notebook_path":
        widgets = {str(k): _text(v) for k, v in (task.get("notebookParams") or {}).items()}
        widgets.update({**inputs, **outputs})
        return {"notebook_task": jobs.NotebookTask(notebook_path=value, base_parameters=widgets or None)}
    if kind == "main_class_name":
        params = [_text(v) for v in task.get("jarParams") or []] + _data_params(inputs, outputs)
        return {"spark_jar_task": jobs.SparkJarTask(main_class_name=value, parameters=params or None)}
    script = value if kind == "python_script_path" else f"{base}/source/{value.lstrip('/')}"
    params = [_text(v) for v in task.get("pythonScriptParams") or []] + _data_params(inputs, outputs)
    return {"spark_python_task": jobs.SparkPythonTask(python_file=script, parameters=params or None)}


def _cluster(cluster: Mapping[str, Any]) -> dict[str, Any]:
    from databricks.sdk.service import compute

    if cluster.get("existingClusterId"):
        return {"existing_cluster_id": str(cluster["existingClusterId"])}
    workers: dict[str, Any] = {"num_workers": cluster.get("numWorkers")}
    if cluster.get("numWorkers") is None:
        workers = {
            "autoscale": compute.AutoScale(min_workers=cluster.get("minWorkers"), max_workers=cluster.get("maxWorkers"))
        }
    log_path = cluster.get("clusterLogDbfsPath")
    spec = compute.ClusterSpec(
        spark_version=cluster.get("sparkVersion"),
        node_type_id=cluster.get("nodeType"),
        instance_pool_id=cluster.get("instancePoolId"),
        spark_conf=dict(cluster.get("sparkConf") or {}) or None,
        spark_env_vars=dict(cluster.get("sparkEnvVariables") or {}) or None,
        init_scripts=[
            compute.InitScriptInfo(dbfs=compute.DbfsStorageInfo(destination=str(path)))
            for path in cluster.get("initScripts") or []
        ]
        or None,
        cluster_log_conf=compute.ClusterLogConf(dbfs=compute.DbfsStorageInfo(destination=str(log_path)))
        if log_path
        else None,
        **workers,
    )
    return {"new_cluster": spec}


def _libraries(libraries: list[Mapping[str, Any]]) -> list[Any]:
    from databricks.sdk.service import compute

    made = []
    for library in libraries:
        kind, name, repo = library.get("kind"), str(library.get("library")), library.get("repo") or None
        if kind == "jar":
            made.append(compute.Library(jar=name))
        elif kind == "egg":
            made.append(compute.Library(egg=name))
        elif kind == "pypi":
            made.append(compute.Library(pypi=compute.PythonPyPiLibrary(package=name, repo=repo)))
        elif kind == "cran":
            made.append(compute.Library(cran=compute.RCranLibrary(package=name, repo=repo)))
        elif kind == "maven":
            exclusions = [e for e in str(library.get("exclusions") or "").split(",") if e]
            made.append(
                compute.Library(maven=compute.MavenLibrary(coordinates=name, repo=repo, exclusions=exclusions or None))
            )
        else:
            raise ValueError(
                f"library {dict(library)!r} is of no kind Databricks installs (jar, egg, pypi, maven, cran)"
            )
    return made


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
