"""Luigi (local scheduler, one worker: steps one after the other) in its own venv; see _serve.py."""

from __future__ import annotations

import itertools

import luigi
from _serve import Steps, run_step, serve

_runs = itertools.count()


class Step(luigi.Task):
    run_id = luigi.IntParameter()
    name = luigi.Parameter()
    workdir = luigi.Parameter()
    script = luigi.Parameter()
    after = luigi.ListParameter()

    def requires(self):  # noqa: ANN201
        return [self.graph[d] for d in self.after]  # type: ignore[attr-defined]

    def output(self):  # noqa: ANN201
        return luigi.LocalTarget(f"{self.workdir}/{self.name}.txt")

    def run(self) -> None:
        run_step(self.script, self.workdir, self.name, list(self.after))


def build(steps: Steps, workdir: str, script: str):  # noqa: ANN201
    run_id = next(_runs)
    graph: dict[str, Step] = {}
    for name, deps in steps:
        task = Step(run_id=run_id, name=name, workdir=workdir, script=script, after=tuple(deps))
        task.graph = graph
        graph[name] = task
    last = graph[steps[-1][0]]

    def go() -> None:
        ok = luigi.build([last], local_scheduler=True, workers=1, log_level="WARNING", no_lock=True)
        if not ok:
            raise RuntimeError("luigi.build reported a failure")

    return go


if __name__ == "__main__":
    serve(build)
