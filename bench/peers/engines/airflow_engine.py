"""Airflow 3 ``dag.test()`` (optional): one ``@task`` a step, on the SQLite metadata database of ``AIRFLOW_HOME``
(the driver sets it to a directory of its own and runs ``airflow db migrate`` first); see _serve.py.

``dag.test`` finds the DAG through the DAG bundle (it serialises the bundle's files to the database), so each
shape is written as a DAG file into ``$AIRFLOW_HOME/dags``, imported from there and removed after its run.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
from pathlib import Path

from _serve import Steps, serve

_runs = itertools.count()

DAG_FILE = """
import subprocess
import sys

from airflow.sdk import DAG, task

STEPS = {steps}
with DAG(dag_id="{dag_id}", schedule=None, catchup=False) as dag:
    made = {{}}
    for name, deps in STEPS:

        @task(task_id=name)
        def one(name=name, deps=deps):
            subprocess.run([sys.executable, {script!r}, {workdir!r}, name, *deps], check=True)

        made[name] = one()
        for d in deps:
            made[d] >> made[name]
"""


def build(steps: Steps, workdir: str, script: str):  # noqa: ANN201
    dags = Path(os.environ["AIRFLOW_HOME"]) / "dags"
    dags.mkdir(parents=True, exist_ok=True)
    for old in dags.glob("bench_*.py"):
        old.unlink()
    dag_id = f"bench_{next(_runs)}"
    path = dags / f"{dag_id}.py"
    path.write_text(DAG_FILE.format(steps=json.dumps(steps), dag_id=dag_id, script=script, workdir=workdir))
    spec = importlib.util.spec_from_file_location(dag_id, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def go() -> None:
        run = module.dag.test()
        state = str(getattr(run, "state", ""))
        if "success" not in state.lower():
            raise RuntimeError(f"dag run ended {state}")

    return go


if __name__ == "__main__":
    serve(build)
