"""Writes one file under a path too long for a blob name (Azure Storage allows 1024 characters)."""

import os
import sys

out = sys.argv[1]
deep = os.path.join(out, *(["d" * 50] * 25))
os.makedirs(deep, exist_ok=True)
with open(os.path.join(deep, "result.txt"), "w", encoding="utf-8") as handle:
    handle.write("written\n")
print("wrote a file under a 1,275-character path", flush=True)
