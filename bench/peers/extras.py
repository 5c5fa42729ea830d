"""The durableml-only figures of issue 19 beside the side-by-side table: reuse, funchost throughput with its SDK
patch off and on, ``durableml up`` to ready, interpreter start-up and the local stack's memory."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import reuse_bench

from .bare import clean_python
from .durableml_engine import DurablemlEngine

ROOT = Path(__file__).resolve().parents[2]


def reuse(engine: DurablemlEngine, steps: int, repeat: int) -> dict[str, Any]:
    """bench/reuse_bench.py's reused step server side and fully reused chain, on the engine's stack."""
    os.environ["DURABLEML_STORAGE"] = engine.service.azurite.connection_string  # the in-process service part
    first: Any = engine.exp.submit(reuse_bench.reusable_chain(engine.ws, steps))  # the run later ones reuse
    if reuse_bench.wait(first) != "Finished":
        raise RuntimeError(f"the first reusable chain failed:\n{engine.service.log_tail()}")
    server = reuse_bench.bench_reused_steps(engine.ws, steps, max(1, repeat // 2))
    chains = reuse_bench.bench_reused_pipeline(engine.ws, "chain", steps, repeat)
    return {
        "reused_step_server_ms": [r["median_s"] * 1000 for r in server],
        "reused_chain_s": [r["seconds"] for r in chains],
    }


def funchost_throughput(repeat: int, chain: int = 100, fan: int = 1000) -> dict[str, list[dict[str, Any]]]:
    """bench/funchost_bench.py once per repetition with the SDK patch off and on, interleaved (off first)."""
    out: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    for _ in range(repeat):
        for mode in ("off", "on"):
            command = [sys.executable, str(ROOT / "bench" / "funchost_bench.py"), "--repeat", "1"]
            command += ["--chain", str(chain), "--fan", str(fan)] + (["--no-speedups"] if mode == "off" else [])
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
            if done.returncode:
                raise RuntimeError(f"funchost_bench failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
            rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
            out[mode].append({r["shape"]: r for r in rows})
    return out


def up_to_ready(repeat: int) -> list[float]:
    """``durableml up --detach --port 0`` (funchost starts its Azurite) until it returns ready; then ``down``."""
    cli = str(Path(sys.executable).parent / "durableml")
    samples = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="peers-up-") as tmp:
            state = Path(tmp) / "state"
            t0 = time.perf_counter()
            subprocess.run(
                [cli, "up", "--detach", "--port", "0", "--state-dir", str(state), "--config", tmp],
                check=True,
                capture_output=True,
                cwd=tmp,
            )
            samples.append(time.perf_counter() - t0)
            subprocess.run([cli, "down", "--state-dir", str(state)], check=True, capture_output=True, cwd=tmp)
    return samples


def interpreter_startup(runs: int) -> dict[str, list[float]]:
    """``python -c pass`` of the repository venv (plain, ``-S``, ``-I``) and of the clean base python, interleaved."""
    variants = {
        "venv": [sys.executable, "-c", "pass"],
        "venv -S": [sys.executable, "-S", "-c", "pass"],
        "venv -I": [sys.executable, "-I", "-c", "pass"],
        "clean": [clean_python(), "-c", "pass"],
    }
    out: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(runs):
        for key, command in variants.items():
            t0 = time.perf_counter()
            subprocess.run(command, check=True)
            out[key].append(time.perf_counter() - t0)
    return out


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
