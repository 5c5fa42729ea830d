"""The trivial step of bench/pipeline_bench.py: print one line; with ``--out DIR`` also write a file there."""

import os
import sys

print("step ran")
if "--out" in sys.argv:
    out = sys.argv[sys.argv.index("--out") + 1]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "done.txt"), "w") as f:
        f.write("ok\n")
