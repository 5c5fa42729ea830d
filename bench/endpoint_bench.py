"""Benchmark the REST endpoint of a published pipeline: runs started per second by concurrent webhook callers,
and the latency from POST to the first step starting.

Usage: .venv/bin/python bench/endpoint_bench.py [--callers 100] [--requests 300] [--latency-runs 20]

Starts a private Azurite and a real funchost on the repository's function_app.py (bench/pipeline_bench.py's
``Service``), publishes a one-step pipeline (bench/pipeline_projects/stamp/stamp.py prints the time it started,
on the built-in ``local`` compute, ``allow_reuse=False``) with the SDK, and then:

* **idle latency**: ``--latency-runs`` POSTs one after another, each waiting for its step to start before the
  next; for each, seconds from just before ``requests.post`` to (a) the step run's ``started`` (the service
  submitted it to compute) and (b) the script's own first line (``STARTED <epoch>``, same machine clock);
* **burst**: ``--callers`` threads, each with its own ``requests.Session`` and the function key, POST
  ``--requests`` run requests in all to the endpoint as fast as they get answers. Throughput = 200 answers /
  seconds from the first POST to the last answer (runs *started*: each answer means the run is recorded and
  its orchestration started). Then every run is awaited and the same two latencies are reported for the burst's
  runs (they include queueing behind each other on the compute's slots).

One unmeasured warm-up run starts the local-compute worker first. Prints JSON lines and a summary table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from durableml.core import Workspace  # noqa: E402
from durableml.pipeline.core import Pipeline  # noqa: E402
from durableml.pipeline.steps import PythonScriptStep  # noqa: E402
from pipeline_bench import Service  # noqa: E402

PROJECT = ROOT / "bench" / "pipeline_projects" / "stamp"
TERMINAL = {"Finished", "Failed", "Canceled"}


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


class Bench:
    def __init__(self, service: Service, endpoint: str) -> None:
        self.service, self.endpoint = service, endpoint
        self.key = service.host.function_key if service.host else ""
        self.local = threading.local()

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
            self.local.session.headers["x-functions-key"] = self.key
        return self.local.session

    def post(self, experiment: str) -> tuple[float, requests.Response]:
        sent = time.time()
        return sent, self.session().post(self.endpoint, json={"ExperimentName": experiment}, timeout=300)

    def api(self, path: str) -> Any:
        answer = self.session().get(self.service.base + path, timeout=60)
        answer.raise_for_status()
        return answer.json() if "json" in answer.headers.get("content-type", "") else answer.text

    def step_started(self, run_id: str, timeout: float = 600) -> tuple[float, float]:
        """(service-side step start, script start) in epoch seconds, once the script has printed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            steps = self.api(f"/api/runs/{run_id}/steps")
            if steps and steps[0].get("startTimeUtc"):
                log = self.api(f"/api/runs/{steps[0]['id']}/logs")
                found = re.search(r"STARTED (\d+\.\d+)", log)
                if found:
                    return epoch(steps[0]["startTimeUtc"]), float(found.group(1))
            run = self.api(f"/api/runs/{run_id}")
            if run["status"] in TERMINAL and run["status"] != "Finished":
                raise RuntimeError(f"run {run_id} ended {run['status']}: {run.get('error')}")
            time.sleep(0.02)
        raise TimeoutError(f"the step of run {run_id} did not start within {timeout} s")

    def wait_done(self, run_id: str, timeout: float = 900) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.api(f"/api/runs/{run_id}")["status"]
            if status in TERMINAL:
                return str(status)
            time.sleep(0.2)
        raise TimeoutError(f"run {run_id} did not end within {timeout} s")


def stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "min": ordered[0],
        "median": statistics.median(ordered),
        "p90": ordered[int(0.9 * (len(ordered) - 1))],
        "max": ordered[-1],
        "n": len(ordered),
    }


def latency(bench: Bench, runs: int) -> dict[str, Any]:
    service_side, script = [], []
    for _ in range(runs):
        sent, answer = bench.post("bench-latency")
        answer.raise_for_status()
        started, stamped = bench.step_started(answer.json()["Id"])
        service_side.append(started - sent)
        script.append(stamped - sent)
    return {"post_to_step_started_s": stats(service_side), "post_to_script_started_s": stats(script)}


def burst(bench: Bench, callers: int, total: int) -> dict[str, Any]:
    with ThreadPoolExecutor(callers) as pool:
        for _ in pool.map(lambda _: bench.session(), range(callers * 2)):  # connections and sessions warmed first
            pass
        t0 = time.perf_counter()
        answers = list(pool.map(lambda _: bench.post("bench-burst"), range(total)))
        elapsed = time.perf_counter() - t0
    ok = [(sent, a.json()["Id"]) for sent, a in answers if a.status_code == 200]
    codes: dict[int, int] = {}
    for _, a in answers:
        codes[a.status_code] = codes.get(a.status_code, 0) + 1
    result: dict[str, Any] = {
        "requests": total,
        "callers": callers,
        "seconds": elapsed,
        "runs_started_per_s": len(ok) / elapsed,
        "status_codes": codes,
    }
    service_side, script = [], []
    for sent, run_id in ok:
        started, stamped = bench.step_started(run_id)
        service_side.append(started - sent)
        script.append(stamped - sent)
    result["post_to_step_started_s"] = stats(service_side)
    result["post_to_script_started_s"] = stats(script)
    result["finished"] = sum(bench.wait_done(run_id) == "Finished" for _, run_id in ok)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=100)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--latency-runs", type=int, default=20)
    args = parser.parse_args()
    print(
        json.dumps(
            {
                "machine": platform.processor() or platform.machine(),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "load_before": os.getloadavg(),
            }
        )
    )
    with tempfile.TemporaryDirectory(prefix="endpoint-bench-") as tmp:
        service = Service(Path(tmp))
        try:
            service.start()
            ws = Workspace.from_config(path=str(service.write_config()))
            step = PythonScriptStep(
                script_name="stamp.py",
                name="stamp",
                source_directory=str(PROJECT),
                compute_target="local",
                allow_reuse=False,
            )
            published = Pipeline(workspace=ws, steps=[step]).publish(name="bench", description="", version="1")
            bench = Bench(service, published.endpoint)
            _, warm = bench.post("bench-warmup")
            bench.wait_done(warm.json()["Id"])
            idle = latency(bench, args.latency_runs)
            print(json.dumps({"idle": idle}))
            loaded = burst(bench, args.callers, args.requests)
            print(json.dumps({"burst": loaded}))
        except BaseException:
            print(service.log_tail(), file=sys.stderr)
            raise
        finally:
            service.stop()
    print(json.dumps({"load_after": os.getloadavg()}))
    print("\n| measurement | min | median | p90 | max | n |\n|---|---|---|---|---|---|")
    for label, block in (("idle", idle), ("burst", loaded)):
        for name in ("post_to_step_started_s", "post_to_script_started_s"):
            s = block[name]
            row = " | ".join(f"{s[k]:.3f}" for k in ("min", "median", "p90", "max"))
            print(f"| {label} {name} | {row} | {s['n']} |")
    print(
        f"\nburst: {loaded['runs_started_per_s']:.1f} runs started/s ({loaded['requests']} requests, "
        f"{loaded['callers']} callers, {loaded['seconds']:.2f} s; codes {loaded['status_codes']}; "
        f"{loaded['finished']} finished)"
    )


if __name__ == "__main__":
    main()
