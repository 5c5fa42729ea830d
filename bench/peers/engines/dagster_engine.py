"""Dagster in-process (``execute_in_process``), with its ephemeral instance or, with ``--sqlite DIR``, a persistent
instance on SQLite storage in DIR (every run, step event and log then written to it); see _serve.py."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from _serve import Steps, serve
from dagster import (
    DagsterInstance,
    DependencyDefinition,
    GraphDefinition,
    In,
    Nothing,
    Out,
    in_process_executor,
    op,
)


def make_op(name: str, deps: list[str], workdir: str, script: str):  # noqa: ANN201
    @op(name=name, ins={f"after_{d}": In(Nothing) for d in deps}, out=Out(Nothing))
    def step() -> None:
        subprocess.run([sys.executable, script, workdir, name, *deps], check=True)

    return step


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sqlite", help="directory of a persistent SQLite-backed DagsterInstance")
    args = ap.parse_args()
    if args.sqlite:
        os.makedirs(args.sqlite, exist_ok=True)
    instance = DagsterInstance.local_temp(args.sqlite) if args.sqlite else None

    def build(steps: Steps, workdir: str, script: str):  # noqa: ANN202
        graph = GraphDefinition(
            name="bench",
            node_defs=[make_op(name, deps, workdir, script) for name, deps in steps],
            dependencies={name: {f"after_{d}": DependencyDefinition(d) for d in deps} for name, deps in steps},
        )
        job = graph.to_job(executor_def=in_process_executor)

        def go() -> None:
            result = job.execute_in_process(instance=instance)
            if not result.success:
                raise RuntimeError("dagster run failed")

        return go

    serve(build)


if __name__ == "__main__":
    main()
