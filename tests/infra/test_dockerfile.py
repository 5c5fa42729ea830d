"""The step-runner image without Docker (none on these machines; Azure builds it with ``az acr build``).

What can be checked here is checked: the build context (this folder less ``.dockerignore``) holds every file
the Dockerfile copies, the wheel the builder stage makes from exactly that context carries the step runner's
entrypoint module and the Function App, and the entrypoint runs a step only from the spec its environment
names: without one it exits 2 and says so. checkov checks the Dockerfile itself (test_bicep.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _docker_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """``.dockerignore`` as Docker reads it: each line a path pattern from the context root (``*`` and ``?``
    within one path element, ``**`` across them), ``!`` re-including; the last pattern that matches decides."""
    patterns = []
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        path = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        regex = ""
        i = 0
        while i < len(path):
            if path.startswith("**", i):
                regex += ".*"
                i += 2
            elif path[i] == "*":
                regex += "[^/]*"
                i += 1
            elif path[i] == "?":
                regex += "[^/]"
                i += 1
            else:
                regex += re.escape(path[i])
                i += 1
        patterns.append((negated, re.compile(regex)))
    return patterns


def _excluded(relative: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    parts = relative.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]  # a pattern matching a parent folder counts
    excluded = False
    for negated, pattern in patterns:
        if any(pattern.fullmatch(prefix) for prefix in prefixes):
            excluded = not negated
    return excluded


def _context(destination: Path) -> Path:
    """Copy what ``.dockerignore`` lets into the build context, as ``az acr build`` uploads it."""
    patterns = _docker_patterns()
    for folder, dirs, files in os.walk(ROOT):
        here = Path(folder).relative_to(ROOT)
        dirs[:] = [d for d in dirs if d not in (".git", ".venv", "node_modules")]
        for name in files:
            relative = (here / name).as_posix()
            if not _excluded(relative, patterns):
                (destination / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / relative, destination / relative)
    return destination


def _copied_sources() -> list[str]:
    sources = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        match = re.match(r"COPY (?!--from)(.+)", line.strip())
        if match:
            sources += match.group(1).split()[:-1]
    return sources


def test_the_build_context_holds_what_the_dockerfile_copies_and_not_the_rest(tmp_path: Path) -> None:
    context = _context(tmp_path / "context")
    sources = _copied_sources()
    assert "durableml" in sources and "pyproject.toml" in sources
    for source in sources:
        assert (context / source).exists(), f"the Dockerfile copies {source}, which .dockerignore leaves out"
    top = {p.name for p in context.iterdir()}
    for left_out in ("tests", "bench", "docs", "infra", "examples", ".funchost"):
        assert left_out not in top, f"{left_out} would be uploaded to the registry build"


def test_the_builder_stage_wheel_carries_the_step_runner_entrypoint(tmp_path: Path) -> None:
    context = _context(tmp_path / "context")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(tmp_path / "dist")]
    result = subprocess.run([*command, str(context)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    (wheel,) = (tmp_path / "dist").glob("durableml-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    entrypoint = re.search(r'ENTRYPOINT \["python", "-m", "([\w.]+)"\]', (ROOT / "Dockerfile").read_text())
    assert entrypoint is not None
    assert entrypoint.group(1).replace(".", "/") + ".py" in names
    assert "durableml/_functionapp/function_app.py" in names


def test_the_entrypoint_needs_the_spec_from_its_environment(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "DURABLEML_RAY_NODE_DIR": str(tmp_path / "node")}
    result = subprocess.run(
        [sys.executable, "-m", "durableml.compute.ray.node"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "DURABLEML_RAY_SPEC_URL" in result.stdout
