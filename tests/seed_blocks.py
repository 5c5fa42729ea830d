"""The seed articles' ```python blocks, for the tests that run them (SDK double and real service).

The two articles (Azure ML documentation in Chinese, public) are kept in ``tests/seeds``. Both are
listed by name, so a missing article fails the tests that read it instead of skipping them.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

SEEDS_DIR = Path(__file__).resolve().parent / "seeds"
SEEDS = [SEEDS_DIR / "000_847b35bec7979d0d.txt", SEEDS_DIR / "001_09d511d285e8eb6d.txt"]


def python_blocks(seed: Path) -> list[str]:
    """Return the ```python blocks of a seed article, dedented."""
    return [
        textwrap.dedent(block)
        for block in re.findall(r"```[Pp]ython\n(.*?)```", seed.read_text(encoding="utf-8"), re.S)
    ]


def durableml(code: str) -> str:
    """Change the import prefix, and nothing else."""
    return re.sub(r"\bazureml\b", "durableml", code)
