"""The Ray backend against the local one: per-step overhead (chain-10) and a 100-step fan-out.

    .venv/bin/python bench/ray_bench.py [--chain 10] [--fan 100] [--repeat 1]

Starts a private Azurite and a two-node Ray cluster on 127.0.0.1 (``tests/ray_cluster.py``: a head with 2 CPUs and
a node with 1), then, on each backend (``LocalCompute`` and ``RayCompute``, both on a fresh state directory):

* ``chain``: ``--chain`` trivial steps one after another (submit, poll every 20 ms until Finished, next); the
  per-step overhead is the mean step time minus a bare ``python step.py``;
* ``fan``: ``--fan`` trivial steps submitted at once, ``max_nodes`` = 3 on both (the cluster's 3 CPUs), until the
  last one Finished.

For Ray it also says where a step's time goes, from Ray's job info (submission and end times), the node's
result document (the runner's start and end) and this process's clock: ``submit`` (the Jobs API call, including
uploading the spec), ``ray start`` (submission → the runner starts: Ray's supervisor actor and runtime env, the
entrypoint process, importing durableml, reading the spec), ``runner`` (staging, the script, uploads), ``ray end``
(the runner's end → Ray's end time: result.json, the completion POST, the entrypoint's exit) and ``seen`` (Ray's
end → this process's poll saw it). Medians over the chain's steps.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from durableml.compute import JobSpec, JobState  # noqa: E402
from durableml.compute.local import LocalCompute  # noqa: E402
from durableml.compute.ray.backend import RayCompute  # noqa: E402
from funchost.azurite import start_azurite  # noqa: E402
from tests.ray_cluster import start_ray_cluster  # noqa: E402

SCRIPT = 'print("step ran")\n'


def _ts(iso: str) -> float:
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def _wait(backend: Any, job_id: str, timeout: float = 300.0) -> float:
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = backend.poll(job_id)
        if status.is_terminal:
            if status.state is not JobState.FINISHED:
                raise RuntimeError(f"{job_id}: {status.state.value}: {status.error}\n{backend.logs(job_id)}")
            return time.time()
        time.sleep(0.02)
    raise TimeoutError(job_id)


def _bare(source: Path, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "main.py"], cwd=source, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


class Bench:
    def __init__(self, work: Path, connection: str, source: Path) -> None:
        self.work, self.connection, self.source = work, connection, source
        self.count = 0

    def spec(self, tag: str) -> JobSpec:
        self.count += 1
        return JobSpec(
            job_id=f"{tag}-{self.count}-{os.getpid()}",
            run_id="bench-run",
            step_name="main",
            snapshot=str(self.source),
            script_name="main.py",
            connection_string=self.connection,
        )

    def chain(self, backend: Any, tag: str, n: int) -> tuple[float, list[dict[str, float]]]:
        parts = []
        started = time.time()
        for _ in range(n):
            spec = self.spec(tag)
            t0 = time.time()
            backend.submit(spec)
            t1 = time.time()
            seen = _wait(backend, spec.job_id)
            parts.append(self.breakdown(backend, spec.job_id, t0, t1, seen))
        return time.time() - started, parts

    def fan(self, backend: Any, tag: str, n: int) -> float:
        specs = [self.spec(tag) for _ in range(n)]
        started = time.time()
        for spec in specs:
            backend.submit(spec)
        for spec in specs:
            _wait(backend, spec.job_id, timeout=900)
        return time.time() - started

    def breakdown(self, backend: Any, job_id: str, t0: float, t1: float, seen: float) -> dict[str, float]:
        out = {"submit": t1 - t0, "total": seen - t0}
        if isinstance(backend, RayCompute):
            info = backend.client().get_job_info(backend.submission(job_id))
            result = backend.result(job_id) or {}
            ray_start, ray_end = info.start_time / 1000, info.end_time / 1000
            runner_start, runner_end = _ts(result["started"]), _ts(result["ended"])
            out.update(
                ray_start=runner_start - ray_start,
                runner=runner_end - runner_start,
                ray_end=ray_end - runner_end,
                seen=seen - ray_end,
            )
        return out


def _median(parts: list[dict[str, float]], key: str) -> float:
    return statistics.median(p[key] for p in parts if key in p)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chain", type=int, default=10, help="steps in the chain (0: skip)")
    ap.add_argument("--fan", type=int, default=100, help="steps in the fan-out (0: skip)")
    ap.add_argument("--max-nodes", type=int, default=3, help="max_nodes of both targets in the fan-out")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ray-bench-"))
    source = work / "src"
    source.mkdir()
    (source / "main.py").write_text(SCRIPT, encoding="utf-8")
    azurite = start_azurite(work / "azurite")
    started = time.time()
    cluster = start_ray_cluster()
    print(f"ray cluster up in {time.time() - started:.1f} s at {cluster.address}")
    try:
        bench = Bench(work, azurite.connection_string, source)
        bare = _bare(source)
        print(f"bare python step.py: {bare * 1000:.1f} ms (median of 5)")
        local = LocalCompute(work / "local", max_nodes=args.max_nodes)
        ray = RayCompute(cluster.address, work / "ray", max_nodes=args.max_nodes)
        bench.chain(local, "warm-local", 1)  # the worker starts and warms up
        bench.chain(ray, "warm-ray", 1)  # Ray's first job starts its runtime env agent's caches
        if args.chain:
            for name, backend in (("local", local), ("ray", ray)):
                total, parts = bench.chain(backend, f"chain-{name}", args.chain)
                per_step = total / args.chain
                print(
                    f"chain-{args.chain} {name:<5}: {total:7.2f} s, {per_step * 1000:7.1f} ms/step, "
                    f"overhead {(per_step - bare) * 1000:7.1f} ms/step over bare python"
                )
                if name == "ray":
                    where = ", ".join(
                        f"{k} {_median(parts, k) * 1000:.0f} ms"
                        for k in ("submit", "ray_start", "runner", "ray_end", "seen")
                    )
                    print(f"  ray, where a step's time goes (median of {args.chain}): {where}")
        if args.fan:
            for name, backend in (("local", local), ("ray", ray)):
                wall = bench.fan(backend, f"fan-{name}", args.fan)
                print(
                    f"fan-{args.fan} {name:<5} (max_nodes {args.max_nodes}): {wall:7.2f} s, "
                    f"{wall / args.fan * 1000:.0f} ms/step"
                )
        local.shutdown()
    finally:
        cluster.stop()
        azurite.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
