"""Benchmark funchost: start-to-ready, a 100-activity chain and a 1,000-wide fan-out/fan-in.

Usage: .venv/bin/python bench/funchost_bench.py [--chain 100] [--fan 1000] [--repeat 3]

Starts a private Azurite, then a real funchost process on bench/apps/durable_bench, drives it over HTTP
like a user would, and reads the engine's counters (episodes, replay seconds) from the admin metrics API.
Prints one JSON line per measurement and a summary table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from funchost.azurite import start_azurite  # noqa: E402
from funchost.process import FunchostProcess  # noqa: E402

APP = ROOT / "bench" / "apps" / "durable_bench"


class Funchost(FunchostProcess):
    """funchost on the bench app, plus the two calls the bench makes."""

    def __init__(self, conn: str, state: Path, env: dict[str, str]) -> None:
        super().__init__(
            APP, state, state.parent / f"{state.name}.log", {**os.environ, "AzureWebJobsStorage": conn, **env}, cwd=ROOT
        )

    def timed_start(self) -> float:
        t0 = time.perf_counter()
        self.start()
        return time.perf_counter() - t0

    def metrics(self) -> dict:
        return requests.get(f"{self.base_url}/admin/funchost/metrics", params={"code": self.master_key}).json()

    def run(self, name: str, n: int) -> tuple[float, object]:
        t0 = time.perf_counter()
        r = requests.post(f"{self.base_url}/api/start/{name}", params={"code": self.function_key}, json=n)
        status_url = r.json()["statusQueryGetUri"]
        while True:
            body = requests.get(status_url).json()
            if body["runtimeStatus"] in ("Completed", "Failed", "Terminated"):
                elapsed = time.perf_counter() - t0
                assert body["runtimeStatus"] == "Completed", body
                return elapsed, body["output"]
            time.sleep(0.005)


def measure(host: Funchost, name: str, n: int, expected: object) -> dict:
    before = host.metrics()
    elapsed, output = host.run(name, n)
    after = host.metrics()
    assert output == expected, (output, expected)
    return {
        "shape": f"{name}-{n}",
        "seconds": round(elapsed, 3),
        "activities_per_s": round(n / elapsed, 1),
        "episodes": after["episodes"] - before["episodes"],
        "replay_s": round(after["replaySeconds"] - before["replaySeconds"], 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chain", type=int, default=100)
    ap.add_argument("--fan", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-speedups", action="store_true", help="measure without the SDK timestamp fast path")
    args = ap.parse_args()
    env = {"FUNCHOST_SDK_SPEEDUPS": "0"} if args.no_speedups else {}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        azurite = start_azurite(Path(tmp) / "azurite")
        azurite_s = time.perf_counter() - t0
        try:
            for i in range(args.repeat):
                host = Funchost(azurite.connection_string, Path(tmp) / f"state{i}", env)
                ready = host.timed_start()
                try:
                    results.append({"shape": "start-to-ready", "seconds": round(ready, 3)})
                    results.append(measure(host, "chain", args.chain, args.chain))
                    results.append(measure(host, "fan", args.fan, args.fan * (args.fan + 1) // 2))
                finally:
                    host.stop()
        finally:
            azurite.stop()
    for r in results:
        print(json.dumps(r))
    print(
        f"\nmachine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"Azurite start {azurite_s:.2f}s; speedups {'off' if args.no_speedups else 'on'}"
    )
    for shape in dict.fromkeys(r["shape"] for r in results):
        rows = [r for r in results if r["shape"] == shape]
        best = min(rows, key=lambda r: r["seconds"])
        print(f"{shape:16} best of {len(rows)}: {json.dumps(best)}")


if __name__ == "__main__":
    main()
