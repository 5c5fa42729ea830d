"""The DataTransferStep driver: copies the staged source (a file, or a folder's files) to the output path.

``python data_transfer.py SOURCE DESTINATION [WHERE]``: a file source becomes DESTINATION itself when the step
writes a file (``destination_reference_type="file"``: the destination does not exist yet, only its parent), else
it is copied into the DESTINATION folder under its own name; a folder source is copied into DESTINATION with its
tree. The step runner then uploads DESTINATION to the destination datastore path.

A source with no file in it fails the step (exit code 1) with ``DataTransferStep: no data to copy from WHERE``
(WHERE names the datastore path; the kind's job passes it). The runner mounts a DataReference path that has no
blobs as an empty folder, as Azure ML does for a script; but Azure ML v1's copy activity fails when its source
does not exist, and a copy that succeeds with nothing copied would hide a wrong path until a later step (or a
user) finds the destination empty.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Optional


class NoSourceData(Exception):
    """The source holds no file: there is nothing to copy."""


def copy(source: str, destination: str) -> int:
    """Copy ``source`` to ``destination``; returns how many files were copied. Raises :class:`NoSourceData` for a
    folder with no file in it (nothing is created at ``destination`` then)."""
    if os.path.isfile(source):
        target = os.path.join(destination, os.path.basename(source)) if os.path.isdir(destination) else destination
        shutil.copyfile(source, target)
        return 1
    if not os.path.isdir(source):
        raise FileNotFoundError(f"the source {source!r} is neither a file nor a folder")
    if not any(names for _root, _dirs, names in os.walk(source)):
        raise NoSourceData(source)
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
    if len(args) not in (2, 3):
        print("usage: data_transfer.py SOURCE DESTINATION [WHERE]", file=sys.stderr)
        return 2
    try:
        count = copy(args[0], args[1])
    except NoSourceData:
        where = args[2] if len(args) == 3 else repr(args[0])
        message = (
            f"DataTransferStep: no data to copy from {where}: it holds no file (upload the data first, or correct "
            "the source path); Azure ML fails a copy whose source does not exist"
        )
        print(message, file=sys.stderr, flush=True)
        return 1
    print(f"DataTransferStep: copied {count} file(s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
