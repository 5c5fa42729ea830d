"""The studio's front-end libraries: copied from node_modules (npm, versions pinned in package-lock.json) into
``studio/vendor/``, which the app serves (``/api/studio/assets/vendor/...``) and the deployment artifact
includes. No CDN: the page works offline.

    python -m durableml.studio_assets [--root DIR] [--check]

scripts/setup.sh runs it after ``npm ci``; scripts/build_artifact.py checks the files are there. ``--check``
only says whether ``studio/vendor`` matches node_modules (exit 1 when not).
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = {  # file in studio/vendor <- file in node_modules
    "dagre.min.js": "@dagrejs/dagre/dist/dagre.min.js",
    "dagre.LICENSE.txt": "@dagrejs/dagre/LICENSE",
    "uPlot.iife.min.js": "uplot/dist/uPlot.iife.min.js",
    "uPlot.min.css": "uplot/dist/uPlot.min.css",
    "uPlot.LICENSE.txt": "uplot/LICENSE",
}


class StudioAssetsError(RuntimeError):
    """A library the studio needs is not in node_modules (run ``npm ci``, or scripts/setup.sh)."""


def stale(root: Path = ROOT) -> list[str]:
    """The vendor files missing from ``root/studio/vendor`` or different from node_modules."""
    vendor, modules = root / "studio" / "vendor", root / "node_modules"
    return [
        name
        for name, source in VENDOR.items()
        if not (vendor / name).is_file()
        or not (modules / source).is_file()
        or not filecmp.cmp(vendor / name, modules / source, shallow=False)
    ]


def build(root: Path = ROOT) -> list[str]:
    """Copy the studio's libraries from node_modules into studio/vendor; returns the files copied."""
    vendor, modules = root / "studio" / "vendor", root / "node_modules"
    missing = [source for source in VENDOR.values() if not (modules / source).is_file()]
    if missing:
        raise StudioAssetsError(
            f"node_modules lacks {', '.join(missing)}: run `npm ci` (scripts/setup.sh does) in {root}"
        )
    vendor.mkdir(parents=True, exist_ok=True)
    copied = stale(root)
    for name in copied:
        shutil.copyfile(modules / VENDOR[name], vendor / name)
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m durableml.studio_assets", description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout (default: this one)")
    parser.add_argument("--check", action="store_true", help="only check studio/vendor is up to date")
    args = parser.parse_args(argv)
    if args.check:
        left = stale(args.root)
        if left:
            print(f"studio/vendor is out of date: {', '.join(left)}", file=sys.stderr)
        return 1 if left else 0
    try:
        copied = build(args.root)
    except StudioAssetsError as exc:
        print(f"studio assets: error: {exc}", file=sys.stderr)
        return 1
    if copied:
        print(f"studio assets: copied {', '.join(copied)} into studio/vendor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
