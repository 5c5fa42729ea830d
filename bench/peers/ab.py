"""A/B of a lever, interleaved: the same measurement on two source trees (e.g. ``git archive`` of the commit
before and of the change), alternating A and B (and which goes first) so that the shared machine's load falls
on both alike.

Usage: .venv/bin/python -m bench.peers.ab up|funchost --a DIR --b DIR [--repeat 10]
       .venv/bin/python -m bench.peers.ab shapes --a DIR --b DIR [--repeat 5] [--shapes chain-10,chain-50,fan-50+join]

* ``up``: ``durableml up --detach --port 0`` until it returns ready (funchost starts its own Azurite), then
  ``durableml down``; the tree's packages come first on PYTHONPATH (funchost inherits it).
* ``funchost``: bench/funchost_bench.py of each tree, once per repetition (activities/s of its shapes).
* ``shapes``: a child ``python -m bench.peers --engines durableml`` per tree and shape (one round, no extras,
  each on a fresh stack with a warm-up), its median seconds and CPU per step.
Prints one JSON line per sample and the medians, spreads and load averages.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree)}


def up_once(tree: Path) -> float:
    cli = [sys.executable, "-c", "import sys; from durableml.cli import main; sys.exit(main())"]
    with tempfile.TemporaryDirectory(prefix="ab-up-") as tmp:
        state = Path(tmp) / "state"
        t0 = time.perf_counter()
        subprocess.run(
            [*cli, "up", "--detach", "--port", "0", "--state-dir", str(state), "--config", tmp],
            check=True,
            capture_output=True,
            cwd=tmp,
            env=_env(tree),
        )
        seconds = time.perf_counter() - t0
        subprocess.run(
            [*cli, "down", "--state-dir", str(state)], check=True, capture_output=True, cwd=tmp, env=_env(tree)
        )
    return seconds


def shape_once(tree: Path, shape: str) -> dict[str, Any]:
    """One round of ``shape`` on durableml in a child bench run from ``tree`` (seconds and CPU of that run)."""
    command = [sys.executable, "-m", "bench.peers", "--engines", "durableml", "--shapes", shape, "--repeat", "1"]
    done = subprocess.run(
        [*command, "--no-extras"], cwd=tree, env=_env(tree), capture_output=True, text=True, timeout=900
    )
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    measured = [r for r in rows if not r.get("warm_up") and "seconds" in r]
    if done.returncode or not measured:
        raise RuntimeError(f"bench failed in {tree}:\n{done.stdout[-1500:]}{done.stderr[-1500:]}")
    return {"seconds": measured[0]["seconds"], "cpu_s": measured[0]["cpu_s"], "steps": measured[0]["steps"]}


def funchost_once(tree: Path) -> dict[str, float]:
    """bench/funchost_bench.py of ``tree`` once (its SDK patch as the tree sets it): activities/s of its shapes."""
    done = subprocess.run(
        [sys.executable, str(tree / "bench" / "funchost_bench.py"), "--repeat", "1"],
        cwd=tree,
        env=_env(tree),
        capture_output=True,
        text=True,
        timeout=900,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not rows:
        raise RuntimeError(f"funchost_bench failed in {tree}:\n{done.stdout[-1500:]}{done.stderr[-1500:]}")
    return {f"{r['shape']} activities/s": r["activities_per_s"] for r in rows if "activities_per_s" in r}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["up", "shapes", "funchost"])
    ap.add_argument("--a", type=Path, required=True, help="source tree A (before)")
    ap.add_argument("--b", type=Path, required=True, help="source tree B (with the lever)")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--shapes", default="chain-10,chain-50,fan-50+join")
    args = ap.parse_args()
    trees = {"A": args.a.resolve(), "B": args.b.resolve()}
    load_before = os.getloadavg()
    samples: dict[str, dict[str, list[float]]] = {}
    for i in range(args.repeat):
        order = ["A", "B"] if i % 2 == 0 else ["B", "A"]
        for key in order:
            if args.what == "funchost":
                for what, value in funchost_once(trees[key]).items():
                    samples.setdefault(what, {}).setdefault(key, []).append(value)
                    print(json.dumps({"what": what, "tree": key, "value": value}), flush=True)
                continue
            if args.what == "up":
                seconds = up_once(trees[key])
                samples.setdefault("up", {}).setdefault(key, []).append(seconds)
                print(json.dumps({"what": "up", "tree": key, "seconds": seconds}), flush=True)
                continue
            for shape in args.shapes.split(","):
                row = shape_once(trees[key], shape)
                samples.setdefault(shape, {}).setdefault(key, []).append(row["seconds"])
                samples.setdefault(f"{shape} CPU ms/step", {}).setdefault(key, []).append(
                    row["cpu_s"] / row["steps"] * 1000
                )
                print(json.dumps({"what": shape, "tree": key, **row}), flush=True)
    print(f"load average before {load_before}, after {os.getloadavg()}")
    for what, by_tree in samples.items():
        a, b = by_tree.get("A", []), by_tree.get("B", [])
        ma, mb = statistics.median(a), statistics.median(b)
        print(
            f"{what}: A median {ma:.3f} ({min(a):.3f}–{max(a):.3f}), B median {mb:.3f} ({min(b):.3f}–{max(b):.3f}); "
            f"B/A {mb / ma:.2f} (n={len(a)}+{len(b)})"
        )


if __name__ == "__main__":
    main()
