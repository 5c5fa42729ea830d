"""Batch scoring with a ParallelRunStep, offline: one command.

    python examples/parallel_scoring/run.py [--files 60] [--keep-running] [--state-dir DIR]

Starts durableml locally (funchost + Azurite), writes ``project/incoming/`` (the day's transaction files, made
up here with a fixed seed: as the upstream system would have delivered them), then runs ``project/pipeline.py``,
v1 code run with the ``azureml`` alias: it registers the model, uploads the files and runs a ParallelRunStep
over 2 nodes x 2 processes and a summary step. The summary lands in ``project/results/``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

from durableml.launcher import LauncherError, LocalDurableml  # noqa: E402


def write_transactions(folder: Path, files: int, rows: int = 20, seed: int = 7) -> None:
    """``files`` CSV files of ``rows`` transactions each: txn_id, amount, merchant_risk, hour."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = random.Random(seed)
    for f in range(files):
        lines = ["txn_id,amount,merchant_risk,hour"]
        for r in range(rows):
            amount = round(rng.lognormvariate(4, 1.2), 2)
            lines.append(f"t{f:03d}-{r:02d},{amount},{rng.random():.3f},{rng.randrange(24)}")
        (folder / f"batch-{f:03d}.csv").write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=60, help="how many transaction files to score")
    parser.add_argument("--keep-running", action="store_true", help="leave durableml running afterwards")
    parser.add_argument("--state-dir", type=Path, default=REPO / ".funchost" / "parallel_scoring",
                        help="durableml's state (storage, runs); kept between runs")  # fmt: skip
    args = parser.parse_args()
    project = HERE / "project"
    service = LocalDurableml(args.state_dir)
    try:
        service.check()
        print(f"starting durableml (funchost + Azurite); log: {service.log_path}")
        started = time.monotonic()
        service.start()
    except LauncherError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"durableml is ready at {service.base_url} ({time.monotonic() - started:.1f} s)\n", flush=True)
    try:
        service.note_config(service.write_config(project))
        write_transactions(project / "incoming", args.files)
        shutil.rmtree(project / "results", ignore_errors=True)  # this run's summary only
        command = [sys.executable, "-m", "durableml.compat", "pipeline.py"]
        return subprocess.run(command, cwd=project).returncode
    finally:
        if args.keep_running:
            print(
                f"\ndurableml keeps running at {service.base_url}; stop it with: .venv/bin/durableml down "
                f"--state-dir {service.state_dir}"
            )
        else:
            service.stop()


if __name__ == "__main__":
    raise SystemExit(main())
