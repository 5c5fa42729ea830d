"""Build the Function App's deployment zip the way Azure's remote build does for Flex Consumption.

    python scripts/build_artifact.py [--source .] [--out dist/durableml-app.zip] [--python python3.11]

1. The app's files: everything under ``--source`` except what ``.funcignore`` excludes (gitignore rules, as
   Core Tools and azd read it), so tests, tools, infra and local state stay out. The studio's libraries
   (``studio/vendor``) are copied from node_modules first (durableml.studio_assets), so the page works offline.
2. ``pip install -r requirements.txt --target .python_packages/lib/site-packages``, what the remote build
   (Oryx) runs for a Python app: the Functions Python worker puts that folder on ``PYTHONPATH``, the app's
   own folder on ``sys.path``. Run with a Linux x86-64 CPython of the app's version (3.11), as Azure's build
   is, so the same wheels are chosen.
3. A zip of both, with stable ordering and timestamps.

``azd deploy`` uploads the source and lets Azure build; this script makes the same artifact here, so a test can
start it (tests/infra/test_artifact.py) and ``func``/``az functionapp deployment source config-zip`` can
upload a pre-built one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import pathspec

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = Path(".python_packages") / "lib" / "site-packages"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def funcignore(source: Path) -> "pathspec.PathSpec[Any]":
    """``.funcignore`` of ``source`` (gitignore syntax); nothing excluded when there is none."""
    path = source / ".funcignore"
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    return pathspec.PathSpec.from_lines("gitwildmatch", lines)


def app_files(source: Path) -> Iterator[Path]:
    """The files of ``source`` that go into the artifact, relative to it, sorted; ``.funcignore`` decides.

    A folder that is excluded is not entered (like git), so ``.venv`` or ``node_modules`` cost nothing."""
    spec = funcignore(source)
    for folder, dirs, files in os.walk(source):
        here = Path(folder).relative_to(source)
        dirs[:] = sorted(d for d in dirs if not spec.match_file(f"{(here / d).as_posix()}/"))
        for name in sorted(files):
            relative = here / name
            if not spec.match_file(relative.as_posix()) and not (source / relative).is_symlink():
                yield relative


def install_requirements(source: Path, target: Path, python: str) -> None:
    """``pip install -r requirements.txt --target <target>`` with ``python``, as the remote build does."""
    command = [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet"]
    command += ["--target", str(target), "--upgrade", "-r", str(source / "requirements.txt")]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"build_artifact: pip install -r requirements.txt failed:\n{result.stdout}{result.stderr}")
    for cache in target.rglob("__pycache__"):  # the remote build ships none; the worker compiles on import
        shutil.rmtree(cache, ignore_errors=True)


def studio_assets(source: Path) -> None:
    """Bring ``studio/vendor`` up to date from ``source``'s node_modules (kept as it is when there is none, as in a
    copy of a set-up checkout); SystemExit when the studio would lack its libraries."""
    from durableml import studio_assets as assets

    if (source / "node_modules").is_dir():
        try:
            assets.build(source)
        except assets.StudioAssetsError as exc:
            raise SystemExit(f"build_artifact: {exc}") from exc
    missing = [name for name in assets.VENDOR if not (source / "studio" / "vendor" / name).is_file()]
    if (source / "studio").is_dir() and missing:
        raise SystemExit(
            f"build_artifact: studio/vendor lacks {', '.join(missing)}; run scripts/setup.sh (npm ci) in {source}"
        )


def build(source: Path, out: Path, python: str = sys.executable) -> Path:
    """Write the artifact zip to ``out`` and return it."""
    source = source.resolve()
    if not (source / "function_app.py").is_file() or not (source / "requirements.txt").is_file():
        raise SystemExit(f"build_artifact: {source} has no function_app.py and requirements.txt")
    studio_assets(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="durableml-artifact-") as work:
        packages = Path(work) / PACKAGES
        install_requirements(source, packages, python)
        entries = [(source / f, f) for f in app_files(source)]
        entries += [(p, PACKAGES / p.relative_to(packages)) for p in sorted(packages.rglob("*")) if p.is_file()]
        partial = out.with_name(out.name + ".partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for path, name in entries:
                info = zipfile.ZipInfo(name.as_posix(), date_time=ZIP_TIME)
                info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with path.open("rb") as data, archive.open(info, "w") as member:
                    shutil.copyfileobj(data, member, 1 << 20)
        partial.replace(out)
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--source", type=Path, default=ROOT, help="the Function App folder (default: this repo)")
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "durableml-app.zip", help="the zip to write")
    parser.add_argument("--python", default=sys.executable, help="the interpreter whose pip installs requirements")
    args = parser.parse_args(argv)
    out = build(args.source, args.out, args.python)
    print(f"build_artifact: wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
