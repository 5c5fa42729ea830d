"""The shapes every engine runs: steps named in topological order, each with the steps it follows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

STEP_PROJECT = Path(__file__).resolve().parent / "step_project"
STEP_SCRIPT = STEP_PROJECT / "step.py"
DEFAULT_SHAPES = ("chain-10", "chain-50", "fan-50+join", "chain-200")


@dataclass(frozen=True)
class Shape:
    name: str
    steps: tuple[tuple[str, tuple[str, ...]], ...]  # (step name, names of the steps it runs after), in order

    @property
    def size(self) -> int:
        return len(self.steps)

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "steps": [[name, list(deps)] for name, deps in self.steps]}


def chain(n: int) -> Shape:
    names = [f"s{i:03d}" for i in range(n)]
    return Shape(f"chain-{n}", tuple((name, (names[i - 1],) if i else ()) for i, name in enumerate(names)))


def fan(n: int) -> Shape:
    """``n`` independent steps and a join step that runs after all of them."""
    branches = tuple((f"b{i:03d}", ()) for i in range(n))
    return Shape(f"fan-{n}+join", (*branches, ("join", tuple(name for name, _ in branches))))


def parse(name: str) -> Shape:
    """``chain-N`` or ``fan-N+join`` (``fan-N`` too)."""
    if m := re.fullmatch(r"chain-(\d+)", name):
        return chain(int(m.group(1)))
    if m := re.fullmatch(r"fan-(\d+)(\+join)?", name):
        return fan(int(m.group(1)))
    raise ValueError(f"unknown shape {name!r}: chain-N or fan-N+join")


def prepare_workdir(workdir: Path) -> None:
    """A fresh directory with the seed file the first steps read."""
    workdir.mkdir(parents=True, exist_ok=False)
    (workdir / "input.txt").write_text("seed\n", encoding="utf-8")


def missing_outputs(shape: Shape, workdir: Path) -> list[str]:
    """The steps whose file is not in ``workdir`` after a run (an engine that skipped steps did not finish)."""
    return [name for name, _ in shape.steps if not (workdir / f"{name}.txt").is_file()]
