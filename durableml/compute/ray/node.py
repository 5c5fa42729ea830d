"""The entrypoint of a step's Ray job: ``python -m durableml.compute.ray.node``. It is the shared node entrypoint,
:mod:`durableml.compute.node` (this name stays for Ray jobs submitted by earlier versions)."""

from __future__ import annotations

import sys

from durableml.compute.node import main, node_dir, run

__all__ = ["main", "node_dir", "run"]

if __name__ == "__main__":
    sys.exit(main())
