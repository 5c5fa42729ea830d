"""Prefect 3: a flow that submits one task a step (the default thread-pool task runner, so independent steps run
concurrently), each waiting for the futures of the steps it follows; Prefect's own temporary local server records
every flow and task run (the engine's default when no API is configured); see _serve.py."""

from __future__ import annotations

from _serve import Steps, run_step, serve
from prefect import flow, task
from prefect.futures import wait


@task
def step(script: str, workdir: str, name: str, deps: list[str]) -> None:
    run_step(script, workdir, name, deps)


@flow
def pipeline(steps: Steps, workdir: str, script: str) -> None:
    futures = {}
    for name, deps in steps:
        futures[name] = step.with_options(name=name).submit(
            script, workdir, name, deps, wait_for=[futures[d] for d in deps]
        )
    wait(list(futures.values()))
    for future in futures.values():
        future.result()


def build(steps: Steps, workdir: str, script: str):  # noqa: ANN201
    return lambda: pipeline(steps, workdir, script)


if __name__ == "__main__":
    serve(build)
