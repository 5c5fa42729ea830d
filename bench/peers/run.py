"""Side-by-side benchmark (issue 19): durableml against Luigi, Dagster (in-process, and on a SQLite instance),
Prefect 3 and optionally Airflow's ``dag.test``, plus a bare-python floor, on the same shapes.

Usage: .venv/bin/python -m bench.peers [--repeat 5] [--engines ...] [--shapes chain-10,chain-50,fan-50+join,chain-200]
       [--no-extras] [--markdown FILE]

Every step of every engine runs ``python bench/peers/step_project/step.py WORKDIR NAME DEPS...``, which reads the
files of the steps it follows and writes its own. durableml runs them as PythonScriptSteps on the built-in ``local``
compute (2 nodes on 2 cores) of a private Azurite + funchost, submitted through the v1 SDK and waited for with
``wait_for_completion`` (bench/pipeline_bench.py's ``Service``); each peer runs in a long-lived process of its own
venv (bench/peers/venvs.py, pinned, created from PyPI on first use under ``~/.cache/durableml-bench-peers``, never
in CI) that times the engine's run alone; the floor runs the steps one after the other with the python of an empty
venv (no .pth file at start-up). Each engine is warmed up first (a chain-3 and a fan-3+join); then ``--repeat``
rounds, each running every shape on every engine, engines in a rotated order per round. Reported: the median (and
min–max) of the rounds, the ratio to durableml, the CPU all of an engine's processes spent per step of the longest
chain (from /proc: the processes of the engine's tree plus, for durableml, the detached workers; reaped children
included), and the speed-up of fan-50+join over chain-50. With extras (default): durableml's per-step phases of
chain-10 (bench/pipeline_bench.py's breakdown), replay seconds of each shape, a fully reused 50-step chain and a
reused step server side (bench/reuse_bench.py), the local stack's peak RSS during a chain-50, ``durableml up`` to
ready, ``python -c pass`` start-up, and bench/funchost_bench.py with funchost's SDK patch off and on. Prints one
JSON line per measurement, then the table and issue 19's goals marked met or missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Protocol

from bench.pipeline_bench import conditions

from . import extras, report, venvs
from .bare import BareEngine
from .shapes import DEFAULT_SHAPES, Shape, missing_outputs, parse, prepare_workdir

ROOT = Path(__file__).resolve().parents[2]
PEER_LABELS = ("luigi", "dagster", "dagster-sqlite", "prefect", "airflow")
DEFAULT_ENGINES = ("durableml", "bare", "luigi", "dagster", "dagster-sqlite", "prefect")
WARMUP = ("chain-3", "fan-3+join")
AIRFLOW_MAX_STEPS = 60  # dag.test of chain-200 takes minutes; left out as in the table


class Engine(Protocol):
    label: str

    def run(self, shape: Shape, workdir: Path) -> dict[str, Any]: ...

    def stop(self) -> None: ...


def start_engines(labels: list[str], work: Path, log: Callable[[str], None] = print) -> dict[str, Engine]:
    """The engines, peers first (so that durableml's process accounting can leave their trees out)."""
    from .peer import PEERS, PeerEngine

    engines: dict[str, Engine] = {}
    try:
        for label in labels:
            if label in PEER_LABELS:
                engines[label] = PeerEngine(label, venvs.ensure(PEERS[label][0], log), work)
        if "bare" in labels:
            engines["bare"] = BareEngine()
        if "durableml" in labels:
            from .durableml_engine import DurablemlEngine

            peers = {e.process.pid for e in engines.values() if hasattr(e, "process")}  # type: ignore[attr-defined]
            engines["durableml"] = DurablemlEngine(work, exclude_pids=peers)
    except BaseException:
        for engine in engines.values():
            engine.stop()
        raise
    return {label: engines[label] for label in labels}


def applies(label: str, shape: Shape) -> bool:
    return not (label == "airflow" and shape.size > AIRFLOW_MAX_STEPS)


def run_once(engine: Engine, shape: Shape, work: Path, tag: str) -> dict[str, Any]:
    workdir = work / "runs" / f"{engine.label}-{shape.name}-{tag}"
    prepare_workdir(workdir)
    row: dict[str, Any] = {"engine": engine.label, "shape": shape.name, "steps": shape.size, "round": tag}
    try:
        row.update(engine.run(shape, workdir))
        missing = missing_outputs(shape, workdir)
        if missing:
            row = {**row, "error": f"{len(missing)} step outputs missing, e.g. {missing[:3]}"}
    except Exception as exc:  # noqa: BLE001 - recorded as a failed run; the bench goes on
        row["error"] = f"{type(exc).__name__}: {str(exc)[:400]}"
    shutil.rmtree(workdir, ignore_errors=True)
    return row


def side_by_side(
    engines: dict[str, Engine],
    shapes: list[Shape],
    repeat: int,
    work: Path,
    warmup: list[Shape] | None = None,
    emit: Callable[[dict[str, Any]], None] = lambda row: print(json.dumps(row), flush=True),
) -> list[dict[str, Any]]:
    """Warm every engine up, then ``repeat`` rounds of every shape on every engine (rotated order); the rows."""
    order = list(engines)
    for shape in warmup if warmup is not None else [parse(s) for s in WARMUP]:
        for label in order:
            emit({**run_once(engines[label], shape, work, "warm-up"), "warm_up": True})
    rows: list[dict[str, Any]] = []
    for r in range(repeat):
        turn = order[r % len(order) :] + order[: r % len(order)]
        for shape in shapes:
            for label in turn:
                if applies(label, shape):
                    rows.append(run_once(engines[label], shape, work, str(r)))
                    emit(rows[-1])
    return rows


def run_extras(engines: dict[str, Engine], work: Path, repeat: int, log: Callable[[str], None]) -> dict[str, Any]:
    from .durableml_engine import DurablemlEngine

    out: dict[str, Any] = {}
    engine = engines.get("durableml")
    if isinstance(engine, DurablemlEngine):
        chain10 = engine.phase_breakdown("chain-10")
        out["breakdown_chain10"] = chain10
        workdir = work / "runs" / "rss-chain-50"
        prepare_workdir(workdir)
        out["rss"] = engine.peak_rss(parse("chain-50"), workdir)
        log(json.dumps({"extra": "rss during chain-50", **out["rss"]}))
        out["reuse"] = extras.reuse(engine, 50, repeat)
        log(json.dumps({"extra": "reuse", **out["reuse"]}))
        out["funchost_ready_s"] = engine.ready_s
    for engine_ in engines.values():
        engine_.stop()  # the rest start stacks of their own: measured with the side-by-side stacks gone
    out["startup"] = extras.interpreter_startup(20)
    log(json.dumps({"extra": "python -c pass", **out["startup"]}))
    out["up"] = extras.up_to_ready(repeat)
    log(json.dumps({"extra": "durableml up to ready", "seconds": out["up"]}))
    out["funchost"] = extras.funchost_throughput(max(1, repeat // 2 + 1))
    log(json.dumps({"extra": "funchost_bench", **out["funchost"]}))
    return out


def describe_extras(out: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    med = extras.med
    lines = []
    if "funchost_ready_s" in out:
        lines.append(f"- funchost start-to-ready (Azurite already up): {out['funchost_ready_s']:.2f} s")
    for shape in sorted({r["shape"] for r in rows if r["engine"] == "durableml"}):
        replay = report.seconds(rows, "durableml", shape, "replay_s")
        seconds_ = report.seconds(rows, "durableml", shape)
        acts = report.seconds(rows, "durableml", shape, "activities")
        if replay:
            lines.append(
                f"- durableml {shape}: replay {med(replay):.2f} s of {med(seconds_):.2f} s, "
                f"{med(acts):.0f} activities (medians)"
            )
    if out.get("rss"):
        rss = out["rss"]
        lines.append(
            f"- local stack RSS during a chain-50 (Azurite + funchost + workers + steps, summed every 0.1 s): peak "
            f"{rss['peak_stack_rss_mib']:.0f} MiB, median {rss['median_stack_rss_mib']:.0f} MiB; the SDK client "
            f"{rss['client_rss_mib']:.0f} MiB"
        )
    if out.get("reuse"):
        reuse = out["reuse"]
        lines.append(
            f"- fully reused 50-step chain (PipelineData chain, get_status every 20 ms): median "
            f"{med(reuse['reused_chain_s']):.3f} s ({min(reuse['reused_chain_s']):.3f}–"
            f"{max(reuse['reused_chain_s']):.3f}); reused step server side {med(reuse['reused_step_server_ms']):.1f} ms"
        )
    if out.get("startup"):
        parts = [f"{k} {med(v) * 1000:.1f} ms" for k, v in out["startup"].items()]
        lines.append("- `python -c pass` (medians of 20, interleaved): " + ", ".join(parts))
    if out.get("up"):
        lines.append(
            f"- `durableml up --detach` to ready: median {med(out['up']):.2f} s ({min(out['up']):.2f}–"
            f"{max(out['up']):.2f})"
        )
    for mode, runs in (out.get("funchost") or {}).items():
        for shape in ("start-to-ready", "chain-100", "fan-1000"):
            key = "seconds" if shape == "start-to-ready" else "activities_per_s"
            values = [r[shape][key] for r in runs if shape in r]
            if values:
                unit = " s" if key == "seconds" else "/s"
                lines.append(
                    f"- funchost_bench, SDK patch {mode}, {shape}: median {med(values):.2f}{unit} "
                    f"({min(values):.2f}–{max(values):.2f}, {len(values)} runs)"
                )
    return lines


def commit() -> str:
    """The checkout's commit, or ``$DURABLEML_BENCH_COMMIT`` (a copy made with ``git archive`` has no .git)."""
    if os.environ.get("DURABLEML_BENCH_COMMIT"):
        return os.environ["DURABLEML_BENCH_COMMIT"]
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True)
    return head.strip() + (" (dirty)" if dirty.stdout.strip() else "")


def _stop_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="rounds (medians of this many runs)")
    ap.add_argument("--engines", default=",".join(DEFAULT_ENGINES), help=f"of durableml,bare,{','.join(PEER_LABELS)}")
    ap.add_argument("--shapes", default=",".join(DEFAULT_SHAPES))
    ap.add_argument("--no-extras", action="store_true", help="the side-by-side table only")
    ap.add_argument("--markdown", type=Path, help="also write the report to this file")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (engine logs, stores)")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_signal)  # so that the engines are stopped when the bench is
    labels = [e for e in args.engines.split(",") if e]
    shapes = [parse(s) for s in args.shapes.split(",") if s]
    started = datetime.now(timezone.utc)
    load_before = conditions()
    work = Path(tempfile.mkdtemp(prefix="peers-bench-"))
    engines: dict[str, Engine] = {}
    try:
        engines = start_engines(labels, work)
        rows = side_by_side(engines, shapes, args.repeat, work)
        load_after_table = conditions()
        more = {} if args.no_extras else run_extras(engines, work, args.repeat, print)
    finally:
        for engine in engines.values():
            engine.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    lines = [
        f"- Command: `.venv/bin/python -m bench.peers {' '.join(argv if argv is not None else sys.argv[1:])}`",
        f"- Commit: `{commit()}`; started {started:%Y-%m-%d %H:%M} UTC",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}, Python "
        f"{platform.python_version()}; peers: {', '.join(p for ps in venvs.PINS.values() for p in ps)}",
        f"- Conditions (shared machine): at start {load_before}; after the table {load_after_table}; "
        f"at the end {conditions()}",
        "",
        *report.table(rows, [s.name for s in shapes]),
        "",
        *describe_extras(more, rows),
        "",
        "| goal | measured | |",
        "|---|---|---|",
        *[f"| {goal} | {value} | {mark} |" for goal, value, mark in report.goals(rows, more)],
    ]
    if more.get("breakdown_chain10"):
        lines += ["", "durableml chain-10, per step (durable history timestamps):", "```"]
        lines += [*more["breakdown_chain10"], "```"]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n", encoding="utf-8")
