"""Where a dataset's files land when it is mounted or downloaded: v1's layout rule, in one place.

Each path of a dataset selects files and contributes a folder: a glob the folder before its first
wildcard, a single file its parent folder, a folder itself. The files are placed relative to the
deepest folder that every path's folder lies in: v1 "removes a common prefix" from the paths, so
``[(ds, "d/train/*.csv"), (ds, "d/test"), (ds, "d/notes.txt")]`` gives ``train/a.csv``, ``test/a.csv``
and ``notes.txt``. The step runner (``durableml/runner/staging.py``) stages inputs with it; this module
imports only the standard library.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = ["has_wildcard", "path_folder", "common_folder", "relative_to"]

_WILDCARD = re.compile(r"[*?\[]")


def has_wildcard(path: str) -> bool:
    """Whether ``path`` is a glob (``*``, ``?`` or ``[``)."""
    return bool(_WILDCARD.search(path))


def path_folder(path: str, selected: Sequence[str]) -> str:
    """The folder one dataset path contributes, given the blob names it selected (no slashes at the ends)."""
    path = path.strip("/")
    found = _WILDCARD.search(path)
    if found:
        return path[: found.start()].rpartition("/")[0]
    if list(selected) == [path]:
        return path.rpartition("/")[0]
    return path


def common_folder(folders: Iterable[str]) -> str:
    """The deepest folder that every one of ``folders`` lies in (``""`` for the container's root)."""
    common: list[str] | None = None
    for folder in folders:
        parts = folder.strip("/").split("/") if folder.strip("/") else []
        if common is None:
            common = parts
            continue
        same = 0
        while same < min(len(common), len(parts)) and common[same] == parts[same]:
            same += 1
        common = common[:same]
    return "/".join(common or [])


def relative_to(name: str, folder: str) -> str:
    """Where the blob ``name`` lands below the dataset's folder ``folder``."""
    return name[len(folder) + 1 :] if folder else name
