"""The step of bench/endpoint_bench.py: print the wall-clock time it started (epoch seconds)."""

import time

print(f"STARTED {time.time():.6f}")
