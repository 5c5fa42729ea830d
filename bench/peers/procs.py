"""CPU and memory of process trees, from /proc (Linux): what a set of processes spent, including reaped children."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from the 3rd (state) on


def parents() -> dict[int, int]:
    """pid -> parent pid of every process."""
    out = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            out[int(entry.name)] = int(fields[1])
    return out


def descendants(roots: Iterable[int], exclude: Iterable[int] = ()) -> set[int]:
    """``roots`` and all their descendants, leaving out the subtrees of ``exclude``."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents().items():
        children.setdefault(ppid, []).append(pid)
    skip = set(exclude)
    found: set[int] = set()
    todo = [r for r in roots if r not in skip]
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        found.add(pid)
        todo.extend(c for c in children.get(pid, ()) if c not in skip)
    return found


def matching(marker: str) -> set[int]:
    """Processes whose command line contains ``marker`` (e.g. a state directory: detached workers)."""
    found = set()
    needle = marker.encode()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if needle in Path(f"/proc/{entry.name}/cmdline").read_bytes():
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def cpu_seconds(pids: Iterable[int]) -> dict[int, float]:
    """pid -> user + system CPU seconds of the process and of its children it has waited for."""
    out = {}
    for pid in pids:
        if (f := _stat(pid)) is not None:
            out[pid] = sum(int(x) for x in f[11:15]) / TICK  # utime stime cutime cstime
    return out


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two :func:`cpu_seconds` snapshots (a process born in between counts whole)."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def rss_bytes(pids: Iterable[int]) -> int:
    total = 0
    for pid in pids:
        if (f := _stat(pid)) is not None:
            total += int(f[21]) * PAGE
    return total
