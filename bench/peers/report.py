"""The side-by-side table (markdown) and issue 19's goals marked met or missed, from one run's rows."""

from __future__ import annotations

import math
import statistics
from typing import Any

ORDER = ["durableml", "luigi", "dagster", "dagster-sqlite", "prefect", "airflow", "bare"]
TITLES = {
    "durableml": "durableml",
    "luigi": "Luigi",
    "dagster": "Dagster in-process",
    "dagster-sqlite": "Dagster + SQLite",
    "prefect": "Prefect 3",
    "airflow": "Airflow dag.test",
    "bare": "bare python floor (empty venv)",
}


def seconds(rows: list[dict[str, Any]], engine: str, shape: str, key: str = "seconds") -> list[float]:
    return [r[key] for r in rows if r["engine"] == engine and r["shape"] == shape and "error" not in r]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def table(rows: list[dict[str, Any]], shapes: list[str]) -> list[str]:
    engines = [e for e in ORDER if any(r["engine"] == e for r in rows)]
    lines = [
        "| shape | " + " | ".join(TITLES[e] for e in engines) + " |",
        "|---|" + "---|" * len(engines),
    ]
    for shape in shapes:
        base = median(seconds(rows, "durableml", shape))
        cells = []
        for engine in engines:
            values = seconds(rows, engine, shape)
            failed = [r for r in rows if r["engine"] == engine and r["shape"] == shape and "error" in r]
            if not values:
                cells.append("FAILED" if failed else "—")
                continue
            m = median(values)
            cell = f"{m:.3f} s ({min(values):.2f}–{max(values):.2f})"
            if engine != "durableml" and base == base:
                cell += f" {m / base:.2f}x"
            cells.append(cell + (f" ({len(failed)} failed)" if failed else ""))
        lines.append(f"| {shape} | " + " | ".join(cells) + " |")
    chains = [s for s in shapes if s.startswith("chain-")]
    if chains:
        longest = max(chains, key=lambda s: int(s.split("-")[1]))
        n = int(longest.split("-")[1])
        cpu = {e: median(seconds(rows, e, longest, "cpu_s")) for e in engines}
        cells = [f"{cpu[e] / n * 1000:.1f} ms" if cpu[e] == cpu[e] else "—" for e in engines]
        lines.append(f"| CPU per step, all processes ({longest}) | " + " | ".join(cells) + " |")
    if "chain-50" in shapes and "fan-50+join" in shapes:
        cells = []
        for e in engines:
            ratio = median(seconds(rows, e, "chain-50")) / median(seconds(rows, e, "fan-50+join"))
            cells.append(f"{ratio:.2f}x" if ratio == ratio else "—")
        lines.append("| speed-up fan-50+join vs chain-50 | " + " | ".join(cells) + " |")
    return lines


def verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("met" if ok else "MISSED")


def goals(rows: list[dict[str, Any]], extras: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(goal, measured, met/MISSED/not measured) for each goal of issue 19."""
    out: list[tuple[str, str, str]] = []
    limits = {"chain-10": 0.25, "chain-50": 1.0, "fan-50+join": 0.9, "chain-200": 4.0}
    for shape, limit in limits.items():
        m = median(seconds(rows, "durableml", shape))
        out.append((f"{shape} <= {limit} s", f"{m:.3f} s", verdict(None if m != m else m <= limit)))
    for peer, rule in (("dagster", "faster than"), ("prefect", "faster than"), ("luigi", "within 1.5x of")):
        worst = None
        for shape in limits:
            d, p = median(seconds(rows, "durableml", shape)), median(seconds(rows, peer, shape))
            if d == d and p == p:
                ratio = d / p
                worst = ratio if worst is None else max(worst, ratio)
        limit = 1.5 if peer == "luigi" else 1.0
        text = "not run" if worst is None else f"durableml / {TITLES[peer]} at worst {worst:.2f}x"
        out.append((f"{rule} {TITLES[peer]} on every shape", text, verdict(None if worst is None else worst < limit)))
    cpu = median(seconds(rows, "durableml", "chain-50", "cpu_s")) / 50 * 1000
    cpu_ok = None if cpu != cpu else cpu <= 25
    out.append(("<= 25 ms CPU (all processes) per chain step", f"{cpu:.1f} ms (chain-50)", verdict(cpu_ok)))
    c50, f50 = median(seconds(rows, "durableml", "chain-50")), median(seconds(rows, "durableml", "fan-50+join"))
    speed = c50 / f50
    speed_ok = None if speed != speed else speed >= 1.6
    out.append(("fan-50 >= 1.6x faster than chain-50", f"{speed:.2f}x", verdict(speed_ok)))
    reuse = extras.get("reuse") or {}
    if reuse:
        m = median(reuse["reused_chain_s"])
        out.append(("fully reused 50-step chain <= 0.3 s", f"{m:.3f} s", verdict(m <= 0.3)))
        m = median(reuse["reused_step_server_ms"])
        out.append(("reused step <= 3 ms server side", f"{m:.1f} ms", verdict(m <= 3)))
    throughput = extras.get("funchost") or {}
    for mode in ("off", "on"):
        runs = throughput.get(mode) or []
        for shape, limit, label in (("chain-100", 300, "sequential"), ("fan-1000", 1000, "1,000-wide fan-out/fan-in")):
            values = [r[shape]["activities_per_s"] for r in runs if shape in r]
            m = median(values)
            out.append(
                (
                    f"funchost >= {limit} activities/s {label}, SDK patch {mode}",
                    f"{m:.0f}/s" + (f" ({min(values):.0f}–{max(values):.0f})" if values else ""),
                    verdict(None if not values else m >= limit),
                )
            )
    if extras.get("up"):
        m = median(extras["up"])
        out.append(("`durableml up` to ready <= 1.0 s", f"{m:.2f} s", verdict(m <= 1.0)))
    if extras.get("rss"):
        peak = extras["rss"]["peak_stack_rss_mib"]
        megabytes = peak * 2**20 / 1e6
        out.append(("local stack <= 200 MB RSS during a chain-50", f"{megabytes:.0f} MB", verdict(megabytes <= 200)))
    return [(goal, "—" if "nan" in value else value, mark) for goal, value, mark in out]
