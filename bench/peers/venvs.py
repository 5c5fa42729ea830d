"""The peers' own virtual environments: pinned, created under a cache directory outside the repository on first use.

Only ``bench/peers/run.py`` calls :func:`ensure` (when the side-by-side benchmark runs with peers); nothing in CI or
the set-up script does. Each engine gets its own venv so that no peer's dependencies meet durableml's or another
peer's. The cache is ``$DURABLEML_PEERS_CACHE`` or ``~/.cache/durableml-bench-peers``; a venv whose requirements
changed gets a new directory (its name carries a hash of the pins), and one whose install finished holds a
``.complete`` marker, so an interrupted install is redone.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

# Pinned: the versions the recorded figures were taken with. Airflow is optional (large; its dag.test runs a full
# scheduler loop in-process), asked for with ``--engines ...,airflow``.
PINS: dict[str, list[str]] = {
    "luigi": ["luigi==3.8.1"],
    "dagster": ["dagster==1.13.28"],
    "prefect": ["prefect==3.9.1"],
    "airflow": ["apache-airflow==3.3.2"],
}


def cache_root() -> Path:
    return Path(os.environ.get("DURABLEML_PEERS_CACHE") or Path.home() / ".cache" / "durableml-bench-peers")


def venv_dir(package: str) -> Path:
    digest = hashlib.sha256("\n".join([sys.version, *PINS[package]]).encode()).hexdigest()[:10]
    return cache_root() / f"{package}-{digest}"


def python_of(package: str) -> Path:
    return venv_dir(package) / "bin" / "python"


def ensure(package: str, log=print) -> Path:
    """The venv's python for ``package``, created and installed from PyPI with the pinned versions if missing."""
    where = venv_dir(package)
    python = python_of(package)
    if (where / ".complete").exists():
        return python
    log(f"creating {where} ({' '.join(PINS[package])}); this takes a few minutes once")
    where.parent.mkdir(parents=True, exist_ok=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--clear", str(where)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PINS[package]], check=True)
    (where / ".complete").write_text("\n".join(PINS[package]) + "\n")
    return python


def floor_python() -> Path:
    """The python of an empty venv (no packages, so no ``.pth`` file runs at start-up): the floor's and the
    "clean python" start-up figure's interpreter. Made from the interpreter running the bench, without pip
    (nothing is downloaded), on first use."""
    where = cache_root() / f"floor-{hashlib.sha256(sys.version.encode()).hexdigest()[:10]}"
    python = where / "bin" / "python"
    if not (where / ".complete").exists():
        where.parent.mkdir(parents=True, exist_ok=True)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", "--clear", "--without-pip", str(where)], check=True)
        (where / ".complete").write_text("empty venv\n")
    return python


if __name__ == "__main__":  # python bench/peers/venvs.py luigi dagster ...: create them ahead of a run
    for name in sys.argv[1:] or ["luigi", "dagster", "prefect"]:
        print(ensure(name))
