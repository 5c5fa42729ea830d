"""The seed articles' ```python blocks, for the tests that run them (SDK double and real service)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

SEEDS_DIR = Path(__file__).resolve().parents[2] / "shared" / "seeds"
SEEDS = sorted(SEEDS_DIR.glob("*.txt")) if SEEDS_DIR.is_dir() else []


def python_blocks(seed: Path) -> list[str]:
    """Return the ```python blocks of a seed article, dedented."""
    return [
        textwrap.dedent(block)
        for block in re.findall(r"```[Pp]ython\n(.*?)```", seed.read_text(encoding="utf-8"), re.S)
    ]


def durableml(code: str) -> str:
    """Change the import prefix, and nothing else."""
    return re.sub(r"\bazureml\b", "durableml", code)
