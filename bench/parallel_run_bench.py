"""ParallelRunStep driver benchmark: a 10,000-file FileDataset, a trivial entry script, 2 nodes x 2 processes,
mini_batch_size 10 (issue 13's measurement), run by durableml's driver as a step's job runs it.

    .venv/bin/python bench/parallel_run_bench.py [--files 10000] [--mini-batch-size 10] [--nodes 2]
        [--processes-per-node 2] [--repeat 3]

Measures the driver alone on files already on local disk (what a step sees after its inputs are staged):
wall time, the time per mini-batch, and peak resident memory of the driver and of the largest worker
(``ru_maxrss`` of the processes, from ``getrusage``). Staging the files from storage is not included.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DRIVER = ROOT / "durableml" / "runner" / "parallel_run.py"
ENTRY = """
import os


def init():
    pass


def run(mini_batch):
    return [os.path.basename(path) for path in mini_batch]
"""
MEASURE = """
import resource, runpy, sys, time
sys.argv = sys.argv[1:]
started = time.perf_counter()
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
took = time.perf_counter() - started
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"BENCH {code} {took:.4f} {own} {kids}", file=sys.stderr)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--mini-batch-size", type=int, default=10)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--processes-per-node", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        data, project = Path(work, "data"), Path(work, "project")
        data.mkdir()
        project.mkdir()
        for i in range(args.files):
            (data / f"f{i:06d}.txt").write_text(str(i))
        (project / "entry.py").write_text(ENTRY)
        config = {"entry_script": "entry.py", "mini_batch_size": args.mini_batch_size, "node_count": args.nodes,
                  "process_count_per_node": args.processes_per_node, "error_threshold": 0,
                  "inputs": [{"name": "data", "type": "file"}]}  # fmt: skip
        results = []
        for attempt in range(args.repeat):
            out = Path(work, f"out{attempt}")
            command = [sys.executable, "-c", MEASURE, str(DRIVER), "--durableml-config", json.dumps(config),
                       "--durableml-input", "data", str(data), "--durableml-output", str(out)]  # fmt: skip
            done = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=1800)
            line = next(x for x in done.stderr.splitlines() if x.startswith("BENCH "))
            code, took, own, kids = line.split()[1:]
            lines = (out / "parallel_run_step.txt").read_text().count("\n")
            if code != "0" or lines != args.files:
                print(done.stdout[-2000:], done.stderr[-2000:])
                return 1
            results.append((float(took), int(own), int(kids)))
            print(f"run {attempt + 1}: {float(took):.2f} s, driver peak {int(own) / 1024:.0f} MiB, "
                  f"largest worker peak {int(kids) / 1024:.0f} MiB", flush=True)  # fmt: skip
    batches = -(-args.files // args.mini_batch_size)
    times = sorted(r[0] for r in results)
    median = statistics.median(times)
    driver_peak, worker_peak = max(r[1] for r in results) / 1024, max(r[2] for r in results) / 1024
    print(f"files {args.files}, mini-batches {batches}, workers {args.nodes * args.processes_per_node}: "
          f"best {times[0]:.2f} s, median {median:.2f} s, per mini-batch {median / batches * 1000:.2f} ms (median), "
          f"driver peak {driver_peak:.0f} MiB, worker peak {worker_peak:.0f} MiB; "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
