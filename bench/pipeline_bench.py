"""Benchmark pipelines end to end: submit-to-done of trivial-step pipelines through the SDK, and the per-step overhead.

Usage: .venv/bin/python bench/pipeline_bench.py [--repeat 5] [--long-repeat 3] [--chains 10,50,100,200] [--fan 50]

Starts a private Azurite and a real funchost on the repository's function_app.py (its output goes to a log file in
the temp directory, printed only on failure), writes a config.json naming it, and drives it with the SDK like a
user: ``PythonScriptStep``s of bench/pipeline_projects/trivial/step.py (prints one line) on the built-in ``local``
compute, each with ``allow_reuse=False``, submitted with ``Experiment.submit(pipeline, regenerate_outputs=True)``;
then ``run.wait_for_completion(show_output=False)``, as a user waits (the SDK long-polls the service, which answers
as soon as the run changes); with ``--poll S``, ``run.get_status()`` every S seconds (or 1% of the time so far, at
most 0.25 s) until the status is terminal instead. One unmeasured warm-up run starts the local-compute worker
first. Each shape is timed from ``Experiment.submit`` to the terminal status; best and median of ``--repeat`` runs
(``--long-repeat`` for chains of more than 51 steps). A shape whose submit or run fails is reported as FAILED and
the bench goes on.

* ``chain-N``: N steps in a line, each ``run_after`` the previous (no data: pure orchestration cost);
* ``datachain-10``: 10 steps in a line linked by PipelineData (each step writes a file the next one mounts);
* ``fan-50+join``: 50 independent steps and one join step ``run_after`` all of them (51 steps).

``bare`` is ``subprocess.run([sys.executable, "step.py"])`` of the same script, measured in the same run (before
and after the pipelines). Per-step overhead = chain seconds / N - bare. The local compute worker hands steps to
interpreters it started ahead of time (durableml/runner/warm.py), so a step's script no longer waits for Python
to start; run with ``DURABLEML_WARM_INTERPRETERS=0`` in the environment to measure without them. For each shape
the engine counters of ``GET /admin/funchost/metrics`` (episodes, replaySeconds, activities) are reported as the
difference over the run (read once the engine is idle again). Prints one JSON line per measurement and a summary table.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from durableml.core import Experiment, Workspace  # noqa: E402
from durableml.core.run import RunStatus  # noqa: E402
from durableml.launcher import LocalDurableml  # noqa: E402
from durableml.pipeline.core import Pipeline, PipelineData  # noqa: E402
from durableml.pipeline.steps import PythonScriptStep  # noqa: E402
from funchost.azurite import start_azurite  # noqa: E402
from funchost.process import FunchostProcess  # noqa: E402

PROJECT = ROOT / "bench" / "pipeline_projects" / "trivial"
SCRIPT = "step.py"


class Service:
    """Azurite + durableml (:class:`durableml.launcher.LocalDurableml`, funchost on the repository's app) on it."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.dml_state = work / "durableml"
        self.azurite: Any = None
        self.launched: LocalDurableml | None = None

    @property
    def host(self) -> FunchostProcess | None:
        return self.launched.host if self.launched is not None else None

    @property
    def base(self) -> str:
        assert self.launched is not None
        return self.launched.base_url

    def start(self) -> float:
        """Start Azurite, then funchost; return funchost's start-to-ready seconds."""
        self.azurite = start_azurite(self.work / "azurite")
        self.launched = LocalDurableml(
            self.work, storage=self.azurite.connection_string, step_key=False, ready_timeout=60
        )
        self.dml_state = self.launched.durableml_state
        t0 = time.perf_counter()
        self.launched.start()
        return time.perf_counter() - t0

    def metrics(self) -> dict[str, Any]:
        assert self.host is not None
        answer = requests.get(f"{self.base}/admin/funchost/metrics", params={"code": self.host.master_key}, timeout=10)
        return dict(answer.json())

    def idle_metrics(self, timeout: float = 10.0) -> dict[str, Any]:
        """The engine counters once no activity or episode runs and the episode count is stable."""
        deadline = time.monotonic() + timeout
        last = self.metrics()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            now = self.metrics()
            if (
                now["episodes"] == last["episodes"]
                and not now.get("runningActivities")
                and not now.get("busyInstances")
            ):
                return now
            last = now
        return last

    def write_config(self) -> Path:
        assert self.launched is not None
        return self.launched.write_config(self.work / "config.json", workspace_name="bench", resource_group="bench")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.host.output().splitlines()[-lines:]) if self.host else ""

    def last_error_code(self) -> str:
        """The last storage ``ErrorCode:`` line of the host log (why a request failed with HTTP 500), or ''."""
        lines = [line for line in self.log_tail(400).splitlines() if line.startswith("ErrorCode:")]
        return lines[-1] if lines else ""

    def stop(self) -> None:
        try:
            if self.launched is not None:
                self.launched.stop()  # funchost, then the detached local-compute workers
        finally:
            if self.azurite is not None:
                self.azurite.stop()


# ------------------------------------------------------------------------------------------------ shapes
def _step(name: str, allow_reuse: bool = False, **kwargs: Any) -> PythonScriptStep:
    return PythonScriptStep(
        name=name, script_name=SCRIPT, source_directory=str(PROJECT), allow_reuse=allow_reuse, **kwargs
    )


def chain(ws: Workspace, n: int) -> Pipeline:
    steps = [_step(f"s{i:03d}") for i in range(n)]
    for before, after in zip(steps, steps[1:], strict=False):
        after.run_after(before)
    return Pipeline(workspace=ws, steps=steps)


def datachain(ws: Workspace, n: int, allow_reuse: bool = False) -> Pipeline:
    """``n`` steps in a line, each reading the previous one's PipelineData."""
    store = ws.get_default_datastore()
    steps: list[PythonScriptStep] = []
    previous: PipelineData | None = None
    for i in range(n):
        out = PipelineData(f"d{i:03d}", datastore=store)
        inputs = [previous] if previous is not None else []
        steps.append(_step(f"s{i:03d}", allow_reuse, arguments=["--out", out], inputs=inputs, outputs=[out]))
        previous = out
    return Pipeline(workspace=ws, steps=steps)


def fan(ws: Workspace, n: int) -> Pipeline:
    branches = [_step(f"b{i:03d}") for i in range(n)]
    join = _step("join")
    for b in branches:
        join.run_after(b)
    return Pipeline(workspace=ws, steps=[*branches, join])


# ------------------------------------------------------------------------------------------------ measuring
def submit_to_done(
    service: Service, exp: Experiment, build: Callable[[], Pipeline], steps: int, poll: float
) -> dict[str, Any]:
    pipeline = build()  # built outside the timing: the user's own code
    before = service.idle_metrics()
    t0 = time.perf_counter()
    run = exp.submit(pipeline, regenerate_outputs=True)
    submitted = time.perf_counter() - t0
    polls = 0
    while poll:
        status = run.get_status()
        polls += 1
        if status in RunStatus.TERMINAL:
            break
        if time.perf_counter() - t0 > 600:
            raise TimeoutError(f"run {run.id} not done after 600 s (status {status})")
        # every ``poll`` s, or 1% of the time so far (an error of at most ~1%): each poll makes funchost read
        # the run record with the whole pipeline document, which would slow down long runs it measures
        time.sleep(min(max(poll, (time.perf_counter() - t0) / 100), 0.25))
    else:  # as users wait: the SDK's long poll answers when the run changes
        status = run.wait_for_completion(show_output=False, timeout_seconds=600, raise_on_error=False)
    elapsed = time.perf_counter() - t0
    after = service.idle_metrics()
    if status not in (RunStatus.FINISHED, RunStatus.COMPLETED):
        raise RuntimeError(f"run {run.id} ended {status}: {run._record.get('error')}\n{service.log_tail()}")
    return {
        "seconds": round(elapsed, 3),
        "s_per_step": round(elapsed / steps, 4),
        "submit_call_s": round(submitted, 3),
        "polls": polls,
        "episodes": after["episodes"] - before["episodes"],
        "replay_s": round(after["replaySeconds"] - before["replaySeconds"], 3),
        "activities": after.get("activities", 0) - before.get("activities", 0),
        "run_id": run.id,
    }


def breakdown(store: Path, run_ids: list[str]) -> list[str]:
    """Median per-step phases of chains, from the timestamps in funchost's durable history (its SQLite store).

    A step's critical path runs from its ``step_run`` sub-orchestration being created to the next step's
    being created; event timestamps are those the engine wrote (an episode's events carry its start time).
    Only for chains that did not continue as new (the store keeps the current generation's history).
    A ``step_run`` that hands its result to the next step ends at the event; one that records it
    itself ends after ``step_complete``.
    """
    from funchost.durable.history import EventType as E

    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)

    def events(instance_id: str) -> list[tuple[int, float, str]]:
        rows = db.execute("SELECT event FROM history WHERE instance_id=? ORDER BY seq", (instance_id,)).fetchall()
        out = []
        for (text,) in rows:
            ev = json.loads(text)
            stamp = datetime.fromisoformat(ev["Timestamp"].replace("Z", "+00:00")).timestamp()
            out.append((int(ev["EventType"]), stamp, str(ev.get("InstanceId") or ev.get("Name") or "")))
        return out

    phases: dict[str, list[float]] = {}
    fixed: dict[str, list[float]] = {}
    for run_id in run_ids:
        parent = events(run_id)
        created = [(name, t) for kind, t, name in parent if kind == E.SubOrchestrationInstanceCreated]
        fixed.setdefault("pipeline start -> first step_run created", []).append(created[0][1] - parent[0][1])
        for i, (instance, t_created) in enumerate(created):
            ev = events(instance)
            scheduled = [t for kind, t, _ in ev if kind == E.TaskScheduled]
            completed = [t for kind, t, _ in ev if kind == E.TaskCompleted]
            raised = [t for kind, t, _ in ev if kind == E.EventRaised]
            done = [t for kind, t, _ in ev if kind == E.ExecutionCompleted]
            if not scheduled or not completed or not raised or not done:
                continue  # reused or finished through a poll, not the event: leave it out
            part = {
                "pipeline_run episode -> step_start scheduled": scheduled[0] - t_created,
                "step_start activity (records + submit)": completed[0] - scheduled[0],
                "step_start done -> step_done event (compute)": raised[0] - completed[0],
                "step_done event -> step_run done": done[-1] - raised[0],
            }
            if i + 1 < len(created):
                part["step_run done -> next step_run created"] = created[i + 1][1] - done[-1]
                part["= per step (created -> next created)"] = created[i + 1][1] - t_created
            else:
                fixed.setdefault("last step_run done -> pipeline completed", []).append(parent[-1][1] - done[-1])
            for key, value in part.items():
                phases.setdefault(key, []).append(value)
    db.close()
    lines = [f"{k:<48} median {statistics.median(v) * 1000:6.1f} ms  (n={len(v)})" for k, v in phases.items()]
    lines += [f"{k:<48} median {statistics.median(v) * 1000:6.1f} ms  (n={len(v)})" for k, v in fixed.items()]
    return lines


def conditions() -> str:
    """Load average and how many other pytest / funchost / Azurite processes run (they share the 2 cores)."""
    counts = {"pytest": 0, "funchost": 0, "azurite": 0}
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        for name in counts:
            counts[name] += name in cmd and proc.name != str(os.getpid())
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"load average {load}; processes with pytest/funchost/azurite in their command line: {counts}"


def bare(runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, SCRIPT], cwd=PROJECT, stdout=subprocess.PIPE, check=True)
        samples.append(time.perf_counter() - t0)
    return samples


def run_shapes(
    service: Service,
    exp: Experiment,
    shapes: list[tuple[str, int, Callable[[], Pipeline]]],
    repeat: int,
    long_repeat: int,
    poll: float,
) -> list[dict[str, Any]]:
    """Each shape ``repeat`` times (``long_repeat`` past 51 steps); a failing shape is recorded and not repeated."""
    results: list[dict[str, Any]] = []
    for name, steps, build in shapes:
        for _ in range(repeat if steps <= 51 else long_repeat):
            try:
                row = {"shape": name, "steps": steps, **submit_to_done(service, exp, build, steps, poll)}
            except Exception as exc:  # noqa: BLE001 - report it and go on with the other shapes
                cause = service.last_error_code()
                error = f"{type(exc).__name__}: {str(exc)[:300]}" + (f" [host log: {cause}]" if cause else "")
                row = {"shape": name, "steps": steps, "error": error}
            results.append(row)
            print(json.dumps(row), flush=True)
            if "error" in row:
                break
    return results


def summary(results: list[dict[str, Any]], shapes: list[tuple[str, int, Any]], bare_samples: list[float]) -> None:
    bare_best, bare_median = min(bare_samples), statistics.median(bare_samples)
    print(
        f"bare python {SCRIPT}: best {bare_best * 1000:.1f} ms, median {bare_median * 1000:.1f} ms "
        f"({len(bare_samples)} runs)"
    )
    print(
        f"{'shape':<15}{'steps':>6}{'runs':>5}{'best s':>8}{'median s':>9}{'best s/step':>12}{'med s/step':>11}"
        f"{'overhead ms/step best/med':>27}{'episodes':>9}{'replay s':>9}{'activities':>11}"
    )
    medians: dict[str, float] = {}
    for name, steps, _ in shapes:
        rows = [r for r in results if r["shape"] == name and "error" not in r]
        failed = [r for r in results if r["shape"] == name and "error" in r]
        if not rows:
            print(f"{name:<15}{steps:>6}  FAILED: {failed[0]['error'] if failed else 'not run'}")
            continue
        secs = [r["seconds"] for r in rows]
        best, median = min(secs), statistics.median(secs)
        medians[name] = median
        over = f"{(best / steps - bare_best) * 1000:.1f} / {(median / steps - bare_median) * 1000:.1f}"
        mid = sorted(rows, key=lambda r: r["seconds"])[len(rows) // 2]
        print(
            f"{name:<15}{steps:>6}{len(rows):>5}{best:>8.3f}{median:>9.3f}{best / steps:>12.4f}{median / steps:>11.4f}"
            f"{over:>27}{mid['episodes']:>9}{mid['replay_s']:>9.3f}{mid['activities']:>11}"
            + (f"  (then FAILED: {failed[0]['error']})" if failed else "")
        )
    lengths = [n for name, n, _ in shapes if name == f"chain-{n}" and name in medians]
    for a, b in zip(lengths, lengths[1:], strict=False):
        marginal = (medians[f"chain-{b}"] - medians[f"chain-{a}"]) / (b - a)
        print(f"growth chain-{a} -> chain-{b}: {marginal * 1000:.1f} ms per added step (medians)")
    if "chain-10" in medians:
        m = medians["chain-10"]
        print(f"goal chain-10 < 0.6 s: median {m:.3f} s -> {'met' if m < 0.6 else 'MISSED'}")
        per_step = (m / 10 - bare_median) * 1000
        print(
            f"goal per-step overhead < 40 ms (chain-10, medians): {per_step:.1f} ms -> "
            f"{'met' if per_step < 40 else 'MISSED'}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="runs per shape (best and median are reported)")
    ap.add_argument("--long-repeat", type=int, help="runs per chain of more than 51 steps (default: min(3, repeat))")
    ap.add_argument("--chains", default="10,50,100,200", help="chain lengths for the growth curve")
    ap.add_argument("--fan", type=int, default=50, help="width of the fan-out (plus one join step; 0: skip)")
    ap.add_argument("--datachain", type=int, default=10, help="length of the PipelineData chain (0: skip)")
    ap.add_argument("--bare-runs", type=int, default=10, help="bare runs before and after the pipelines each")
    ap.add_argument(
        "--poll",
        type=float,
        default=0.0,
        help="seconds between get_status() polls; 0 (default): wait with run.wait_for_completion(show_output=False)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the temp directory (funchost.log, state)")
    args = ap.parse_args()
    if args.long_repeat is None:
        args.long_repeat = min(3, args.repeat)
    chains = [int(c) for c in args.chains.split(",") if c]

    work = Path(tempfile.mkdtemp(prefix="pipeline-bench-"))
    service = Service(work)
    before = conditions()
    results: list[dict[str, Any]] = []
    try:
        ready = service.start()
        ws = Workspace.from_config(path=str(service.write_config()))
        exp = Experiment(ws, "pipeline-bench")
        shapes: list[tuple[str, int, Callable[[], Pipeline]]] = [
            (f"chain-{n}", n, functools.partial(chain, ws, n)) for n in chains
        ]
        if args.datachain:
            d = args.datachain
            shapes.insert(1, (f"datachain-{d}", d, functools.partial(datachain, ws, d)))
        if args.fan:
            shapes.insert(2, (f"fan-{args.fan}+join", args.fan + 1, functools.partial(fan, ws, args.fan)))
        warm = submit_to_done(service, exp, functools.partial(chain, ws, 1), 1, args.poll)
        print(json.dumps({"shape": "warm-up chain-1 (not counted)", **warm}), flush=True)
        bare_samples = bare(args.bare_runs)
        results = run_shapes(service, exp, shapes, args.repeat, args.long_repeat, args.poll)
        bare_samples += bare(args.bare_runs)
    except BaseException:
        print(f"--- funchost log tail ({work / 'funchost.log'}):\n{service.log_tail()}", file=sys.stderr)
        raise
    finally:
        service.stop()
        chains10 = [r["run_id"] for r in results if r["shape"] == "chain-10" and "run_id" in r]
        try:
            where = breakdown(work / "funchost" / "durable.sqlite3", chains10) if chains10 else []
        except Exception as exc:  # noqa: BLE001 - a diagnostic only
            where = [f"(breakdown unavailable: {type(exc).__name__}: {exc})"]
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(
        f"\nmachine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}; funchost "
        f"start-to-ready {ready:.2f} s; "
        + (
            f"status poll every max({args.poll * 1000:.0f} ms, 1% of elapsed); "
            if args.poll
            else "waited with wait_for_completion (long poll); "
        )
        + f"best/median of {args.repeat} ({args.long_repeat} past 51 steps)"
    )
    print(f"conditions at start: {before}\nconditions at end:   {conditions()} (the bench's own included)")
    summary(results, shapes, bare_samples)
    if where:
        print(f"where a chain-10 step's time goes (durable history timestamps, {len(chains10)} runs):")
        print("\n".join("  " + line for line in where))


if __name__ == "__main__":
    main()
