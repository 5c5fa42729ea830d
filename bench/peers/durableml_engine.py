"""The durableml side: Azurite + funchost on the repository's app (bench/pipeline_bench.py's ``Service``), driven
through the v1 SDK like a user, each shape a Pipeline of PythonScriptSteps on the built-in ``local`` compute."""

from __future__ import annotations

import os
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from bench.pipeline_bench import Service, breakdown
from durableml.core import Experiment, Workspace
from durableml.core.run import RunStatus
from durableml.pipeline.core import Pipeline
from durableml.pipeline.steps import PythonScriptStep

from . import procs
from .shapes import STEP_PROJECT, STEP_SCRIPT, Shape


def pipeline(ws: Workspace, shape: Shape, workdir: Path, allow_reuse: bool = False) -> Pipeline:
    """One PythonScriptStep a step (``python step.py WORKDIR NAME DEPS...``), ``run_after`` the steps it follows."""
    made: dict[str, PythonScriptStep] = {}
    for name, deps in shape.steps:
        step = PythonScriptStep(
            name=name,
            script_name=STEP_SCRIPT.name,
            source_directory=str(STEP_PROJECT),
            arguments=[str(workdir), name, *deps],
            allow_reuse=allow_reuse,
        )
        for dep in deps:
            step.run_after(made[dep])
        made[name] = step
    return Pipeline(workspace=ws, steps=list(made.values()))


class DurablemlEngine:
    """A private local stack; :meth:`run` submits a shape and waits as a user does (``wait_for_completion``)."""

    label = "durableml"

    def __init__(self, work: Path, exclude_pids: set[int] | None = None) -> None:
        self.work = work
        self.exclude_pids = exclude_pids if exclude_pids is not None else set()  # the peers' processes
        self.service = Service(work / "durableml")
        self.service.work.mkdir(parents=True)
        self.ready_s = self.service.start()
        self.ws = Workspace.from_config(path=str(self.service.write_config()))
        self.exp = Experiment(self.ws, "peers-bench")
        self.run_ids: dict[str, list[str]] = {}

    def stack_pids(self, client: bool = True) -> set[int]:
        """Azurite, funchost, the local-compute workers and step processes (and this process, the SDK client)."""
        pids = procs.descendants([os.getpid()], exclude=self.exclude_pids) | procs.matching(str(self.service.work))
        if not client:
            pids.discard(os.getpid())
        return pids

    def run(self, shape: Shape, workdir: Path, allow_reuse: bool = False) -> dict[str, Any]:
        built = pipeline(self.ws, shape, workdir, allow_reuse)  # the user's own code: not timed
        metrics_before = self.service.idle_metrics()
        before = procs.cpu_seconds(self.stack_pids())
        t0 = time.perf_counter()
        run = self.exp.submit(built, regenerate_outputs=not allow_reuse)
        status = run.wait_for_completion(show_output=False, timeout_seconds=900, raise_on_error=False)
        seconds = time.perf_counter() - t0
        cpu = procs.cpu_spent(before, procs.cpu_seconds(self.stack_pids()))
        metrics_after = self.service.idle_metrics()
        if status not in (RunStatus.FINISHED, RunStatus.COMPLETED):
            raise RuntimeError(f"run {run.id} ended {status}\n{self.service.log_tail()}")
        self.run_ids.setdefault(shape.name, []).append(run.id)
        return {
            "seconds": seconds,
            "cpu_s": cpu,
            "episodes": metrics_after["episodes"] - metrics_before["episodes"],
            "replay_s": metrics_after["replaySeconds"] - metrics_before["replaySeconds"],
            "activities": metrics_after.get("activities", 0) - metrics_before.get("activities", 0),
            "run_id": run.id,
        }

    def peak_rss(self, shape: Shape, workdir: Path, every: float = 0.1) -> dict[str, Any]:
        """Run ``shape`` while summing the RSS of the local stack (not the SDK client) every ``every`` s."""
        samples: list[int] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                samples.append(procs.rss_bytes(self.stack_pids(client=False)))
                stop.wait(every)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            row = self.run(shape, workdir)
        finally:
            stop.set()
            sampler.join()
        return {
            **row,
            "peak_stack_rss_mib": max(samples) / 2**20,
            "median_stack_rss_mib": statistics.median(samples) / 2**20,
            "client_rss_mib": procs.rss_bytes([os.getpid()]) / 2**20,
            "samples": len(samples),
        }

    def phase_breakdown(self, shape_name: str) -> list[str]:
        """bench/pipeline_bench.py's per-step phases of the chains of ``shape_name`` (durable history timestamps)."""
        ids = self.run_ids.get(shape_name, [])
        return breakdown(self.service.work / "funchost" / "durable.sqlite3", ids) if ids else []

    def stop(self) -> None:
        self.service.stop()
