"""Benchmark step reuse (issue 4): resolving a reused step server side, a fully reused 50-step pipeline from submit
to done, and snapshotting an unchanged 1,000-file source directory.

Usage: .venv/bin/python bench/reuse_bench.py [--steps 50] [--repeat 5] [--files 1000]

Starts a private Azurite and a real funchost on the repository's function_app.py (as bench/pipeline_bench.py does),
then:

* ``reused-step``: a chain of ``--steps`` PythonScriptSteps linked by PipelineData (bench/pipeline_projects/trivial,
  allow_reuse=True) runs once for real (unmeasured); a new run of the same document is then recorded with
  ``durableml.service.runs.create_run`` in this process, and ``durableml.service.runtime.step_start`` (the
  ``step_start`` activity's body: resolve arguments and inputs, compute the key, find the earlier result, save the
  step run as reused) is timed for each step in order against the same Azurite. The first step pays the process's
  cold caches (run document, datastore records); it is reported apart.
* ``reused-chain`` / ``reused-parallel``: ``Experiment.submit(pipeline)`` of that chain, or of ``--steps``
  independent steps, built afresh, until the run's status is terminal (``run.get_status()`` every 20 ms); every
  step is reused. Includes compiling, the unchanged snapshot and the submit request. A chain reuses its steps
  one after the other (each waits for its producer's data key), so it pays the orchestration of each step in turn.
* ``unchanged-snapshot``: ``HttpServiceClient.upload_snapshot`` of a directory of ``--files`` files of 1-4 KB,
  already uploaded once (hash every file, ask which hashes are missing, record the manifest); ``hash-only`` is
  ``durableml.source_snapshot.snapshot_files`` alone.

Prints one JSON line per measurement and a summary table with best and median (``--repeat`` runs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from durableml.core import Experiment, Workspace  # noqa: E402
from durableml.core.run import RunStatus  # noqa: E402
from durableml.pipeline.core import Pipeline, PipelineData  # noqa: E402
from pipeline_bench import Service, _step, datachain  # noqa: E402

GOALS = {"reused-step": 0.010, "reused-pipeline": 1.0, "unchanged-snapshot": 0.3}


def reusable_chain(ws: Workspace, n: int) -> Pipeline:
    """``n`` steps in a line, each reading the previous one's PipelineData (reuse allowed)."""
    return datachain(ws, n, allow_reuse=True)


def reusable_parallel(ws: Workspace, n: int) -> Pipeline:
    """``n`` independent steps, each writing its own PipelineData (reuse allowed)."""
    store = ws.get_default_datastore()
    outputs = [PipelineData(f"p{i:03d}", datastore=store) for i in range(n)]
    return Pipeline(workspace=ws, steps=[_step(o.name, True, arguments=["--out", o], outputs=[o]) for o in outputs])


SHAPES = {"chain": reusable_chain, "parallel": reusable_parallel}


def wait(run: Any, timeout: float = 600.0) -> str:
    deadline = time.perf_counter() + timeout
    while True:
        status = str(run.get_status())
        if status in RunStatus.TERMINAL:
            return status
        if time.perf_counter() > deadline:
            raise TimeoutError(f"run {run.id} not done after {timeout} s (status {status})")
        time.sleep(0.02)


def bench_reused_steps(ws: Workspace, steps: int, repeat: int) -> list[dict[str, Any]]:
    """Server-side step_start of every step of new, fully reusable runs, in this process."""
    from durableml.pipeline.submission import attach_snapshots
    from durableml.service import runs, runtime

    document = reusable_chain(ws, steps).to_document()
    attach_snapshots(document, ws._client)
    results = []
    for attempt in range(repeat):
        record, plan = runs.create_run("bench-reuse-server", document, {})
        times = []
        for plan_step in plan["steps"]:
            t0 = time.perf_counter()
            answer = runtime.step_start(record["id"], plan_step, None)
            times.append(time.perf_counter() - t0)
            if not (answer.get("result") or {}).get("reused_from"):
                raise RuntimeError(f"step {plan_step['name']} was not reused: {answer}")
        results.append(
            {
                "what": "reused-step",
                "attempt": attempt,
                "first_s": times[0],
                "median_s": statistics.median(times[1:]),
                "p90_s": sorted(times[1:])[int(0.9 * (len(times) - 1))],
                "max_s": max(times[1:]),
                "steps": len(times),
            }
        )
        print(json.dumps(results[-1]), flush=True)
    return results


def bench_reused_pipeline(ws: Workspace, shape: str, steps: int, repeat: int) -> list[dict[str, Any]]:
    exp = Experiment(ws, "bench-reuse")
    results = []
    for attempt in range(repeat):
        pipeline = SHAPES[shape](ws, steps)  # the user's own code: outside the timing
        t0 = time.perf_counter()
        run: Any = exp.submit(pipeline)
        submitted = time.perf_counter() - t0
        status = wait(run)
        elapsed = time.perf_counter() - t0
        reused = sum(1 for s in run.get_steps() if s.get_details().get("reusedFrom"))
        if status != "Finished" or reused != steps:
            raise RuntimeError(f"run {run.id}: {status}, {reused} of {steps} steps reused")
        results.append(
            {"what": f"reused-{shape}", "attempt": attempt, "seconds": elapsed, "submit_s": submitted, "steps": steps}
        )
        print(json.dumps(results[-1]), flush=True)
    return results


def make_source(folder: Path, files: int) -> None:
    for i in range(files):
        sub = folder / f"pkg{i // 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"module_{i:04d}.py").write_text(f"VALUE = {i}\n" + "# padding\n" * (100 + (i % 300)))


def bench_snapshot(ws: Workspace, folder: Path, repeat: int) -> list[dict[str, Any]]:
    from durableml.source_snapshot import snapshot_files

    client = ws._client
    first = client.upload_snapshot(str(folder))  # uploads every file once: unmeasured
    results = []
    for attempt in range(repeat):
        t0 = time.perf_counter()
        snapshot_files(folder)
        hashed = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = client.upload_snapshot(str(folder))
        total = time.perf_counter() - t0
        if again != first:
            raise RuntimeError("an unchanged directory gave another snapshot id")
        results.append({"what": "unchanged-snapshot", "attempt": attempt, "seconds": total, "hash_only_s": hashed})
        print(json.dumps(results[-1]), flush=True)
    return results


def summary(rows: dict[str, list[dict[str, Any]]], steps: int, files: int) -> None:
    print("\n| measurement | best | median | goal |\n|---|---|---|---|")
    step_medians = [r["median_s"] for r in rows["reused-step"]]
    print(
        f"| reused step, server side (median over steps 2..N) | {min(step_medians) * 1000:.1f} ms | "
        f"{statistics.median(step_medians) * 1000:.1f} ms | < 10 ms |"
    )
    firsts = [r["first_s"] for r in rows["reused-step"]]
    print(
        f"| reused step, first of a run (cold caches) | {min(firsts) * 1000:.1f} ms | "
        f"{statistics.median(firsts) * 1000:.1f} ms | |"
    )
    for key, label, goal in (
        ("reused-chain", f"fully reused {steps}-step chain, submit to done", "< 1 s (50 steps)"),
        ("reused-parallel", f"fully reused {steps} parallel steps, submit to done", "< 1 s (50 steps)"),
        ("unchanged-snapshot", f"unchanged snapshot, {files:,} files", "< 0.3 s (1,000 files)"),
    ):
        values = [r["seconds"] for r in rows[key]]
        print(f"| {label} | {min(values):.3f} s | {statistics.median(values):.3f} s | {goal} |")
    hashed = [r["hash_only_s"] for r in rows["unchanged-snapshot"]]
    print(f"| of which hashing the files | {min(hashed):.3f} s | {statistics.median(hashed):.3f} s | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    print(
        json.dumps(
            {
                "when": datetime.now().isoformat(timespec="seconds"),
                "machine": platform.platform(),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "loadavg_before": os.getloadavg(),
            }
        ),
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="reuse-bench-") as tmp:
        work = Path(tmp)
        service = Service(work)
        try:
            service.start()
            os.environ["DURABLEML_STORAGE"] = service.azurite.connection_string  # the in-process service part
            ws = Workspace.from_config(path=str(service.write_config()))
            for shape in SHAPES:  # the runs whose results the measured runs reuse: unmeasured
                first: Any = Experiment(ws, "bench-reuse").submit(SHAPES[shape](ws, args.steps))
                if wait(first) != "Finished":
                    raise RuntimeError(f"the first {shape} run failed:\n{service.log_tail()}")
            rows = {"reused-step": bench_reused_steps(ws, args.steps, args.repeat)}
            for shape in SHAPES:
                rows[f"reused-{shape}"] = bench_reused_pipeline(ws, shape, args.steps, args.repeat)
            make_source(work / "source", args.files)
            rows["unchanged-snapshot"] = bench_snapshot(ws, work / "source", args.repeat)
        except Exception:
            print(service.log_tail(), file=sys.stderr)
            raise
        finally:
            service.stop()
    print(json.dumps({"loadavg_after": os.getloadavg()}), flush=True)
    summary(rows, args.steps, args.files)


if __name__ == "__main__":
    main()
