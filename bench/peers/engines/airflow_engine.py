"""Airflow 3 ``dag.test()`` (optional): one task a step, on the SQLite metadata database of ``AIRFLOW_HOME``
(the driver sets it to a directory of its own and runs ``airflow db migrate`` first); see _serve.py."""

from __future__ import annotations

import itertools

from _serve import Steps, run_step, serve
from airflow.sdk import DAG, task

_runs = itertools.count()


def build(steps: Steps, workdir: str, script: str):  # noqa: ANN201
    with DAG(dag_id=f"bench_{next(_runs)}", schedule=None, catchup=False) as dag:
        made = {}
        for name, deps in steps:

            @task(task_id=name)
            def one(name: str = name, deps: list[str] = deps) -> None:
                run_step(script, workdir, name, deps)

            made[name] = one()
            for d in deps:
                made[d] >> made[name]

    def go() -> None:
        run = dag.test()
        if str(getattr(run, "state", "success")) not in ("success", "DagRunState.SUCCESS"):
            raise RuntimeError(f"dag run ended {run.state}")

    return go


if __name__ == "__main__":
    serve(build)
