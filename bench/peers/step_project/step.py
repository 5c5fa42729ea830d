"""One step of the side-by-side benchmark (bench/peers), the same file for every engine.

``python step.py WORKDIR NAME [DEP ...]``: reads ``WORKDIR/DEP.txt`` of each step it follows (or
``WORKDIR/input.txt`` when it follows none) and writes ``WORKDIR/NAME.txt`` (a few bytes).
"""

import sys
from pathlib import Path

workdir = Path(sys.argv[1])
name = sys.argv[2]
sources = [workdir / f"{dep}.txt" for dep in sys.argv[3:]] or [workdir / "input.txt"]
size = sum(len(path.read_bytes()) for path in sources)
(workdir / f"{name}.txt").write_text(f"{name} read {size} bytes\n", encoding="utf-8")
