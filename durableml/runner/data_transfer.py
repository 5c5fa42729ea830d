"""The DataTransferStep driver: copies the staged source (a file, or a folder's files) to the output path.

``python data_transfer.py SOURCE DESTINATION``: a file source becomes DESTINATION itself when the step writes a
file (``destination_reference_type="file"``: the destination does not exist yet, only its parent), else it is
copied into the DESTINATION folder under its own name; a folder source is copied into DESTINATION with its
tree. The step runner then uploads DESTINATION to the destination datastore path.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Optional


def copy(source: str, destination: str) -> int:
    """Copy ``source`` to ``destination``; returns how many files were copied."""
    if os.path.isfile(source):
        target = os.path.join(destination, os.path.basename(source)) if os.path.isdir(destination) else destination
        shutil.copyfile(source, target)
        return 1
    if not os.path.isdir(source):
        raise FileNotFoundError(f"the source {source!r} is neither a file nor a folder")
    count = 0
    for root, _dirs, names in os.walk(source):
        relative = os.path.relpath(root, source)
        os.makedirs(os.path.join(destination, relative), exist_ok=True)
        for name in names:
            shutil.copyfile(os.path.join(root, name), os.path.join(destination, relative, name))
            count += 1
    return count


def main(argv: Optional[list[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: data_transfer.py SOURCE DESTINATION", file=sys.stderr)
        return 2
    count = copy(args[0], args[1])
    print(f"DataTransferStep: copied {count} file(s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
