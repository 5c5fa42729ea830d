"""Which paths of a source directory a snapshot leaves out: ``.amlignore``/``.gitignore`` rules, git's syntax.

:meth:`IgnoreRules.for_directory` reads the first of :data:`IGNORE_FILES` at the top of a source
directory; :mod:`durableml.source_snapshot` asks it about each path while walking the directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["IgnoreRules", "IGNORE_FILES"]

IGNORE_FILES = (".amlignore", ".gitignore")
"""The ignore files of a source directory, in order of precedence: the first one present is used."""


@dataclass(frozen=True)
class _Rule:
    """One line of an ignore file, compiled."""

    pattern: re.Pattern[str]
    negate: bool
    directory_only: bool


class IgnoreRules:
    """The paths of a source directory left out of its snapshot, written with ``.gitignore`` syntax.

    Supported: comments (``#``), blank lines, ``\\`` escapes (``\\#``, ``\\!``, a trailing ``\\ ``),
    ``*``, ``?``, ``[a-z]``/``[!a-z]``, ``**`` (leading, trailing, in the middle), a leading or middle ``/``
    anchoring the pattern to the top of the directory, a trailing ``/`` matching directories only,
    ``!`` re-including what an earlier line excluded, and the last matching line winning. As in git,
    nothing inside an excluded directory can be re-included. Paths are relative and ``/``-separated.
    """

    def __init__(self, lines: Iterable[str] = (), source: str | None = None) -> None:
        self.source = source
        self._rules = [rule for rule in map(_parse_rule, lines) if rule is not None]

    @classmethod
    def for_directory(cls, directory: str | os.PathLike[str]) -> IgnoreRules:
        """The rules of ``directory``'s ``.amlignore``, else its ``.gitignore``, else none."""
        for name in IGNORE_FILES:
            path = os.path.join(os.fspath(directory), name)
            if os.path.isfile(path):
                with open(path, encoding="utf-8", errors="replace") as handle:
                    return cls(handle.read().splitlines(), source=path)
        return cls()

    def matches(self, path: str, is_dir: bool) -> bool:
        """Whether the last line that matches ``path`` itself excludes it (parents are not looked at)."""
        ignored = False
        for rule in self._rules:
            if (is_dir or not rule.directory_only) and rule.pattern.fullmatch(path):
                ignored = not rule.negate
        return ignored

    def is_ignored(self, path: str, is_dir: bool = False) -> bool:
        """Whether ``path`` is left out, by its own rule or because a parent directory is."""
        parts = [part for part in path.replace("\\", "/").split("/") if part]
        if any(self.matches("/".join(parts[:depth]), True) for depth in range(1, len(parts))):
            return True
        return self.matches("/".join(parts), is_dir)

    def __repr__(self) -> str:
        return f"IgnoreRules(source={self.source!r}, rules={len(self._rules)})"


def _parse_rule(line: str) -> _Rule | None:
    line = _strip_trailing_spaces(line.rstrip("\r\n"))
    if not line or line.startswith("#"):
        return None
    negate = line.startswith("!")
    body = line[1:] if negate else line
    directory_only = body.endswith("/")
    body = body.rstrip("/")
    if not body:
        return None
    anchored = "/" in body  # a leading or middle slash: relative to the top, not at any depth
    regex = _translate(body.lstrip("/"))
    return _Rule(re.compile(regex if anchored else f"(?:.*/)?{regex}"), negate, directory_only)


def _strip_trailing_spaces(line: str) -> str:
    stripped = line.rstrip(" ")
    if stripped.endswith("\\") and len(stripped) < len(line):
        return stripped + " "  # "\ " keeps one escaped space
    return stripped


def _translate(pattern: str) -> str:
    """A glob of ``/``-separated segments as a regex; ``**`` segments span directories."""
    segments = [segment for segment in pattern.split("/") if segment]
    out = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            out.append(".*" if last else "(?:.*/)?")
        else:
            out.append(_translate_segment(segment) + ("" if last else "/"))
    return "".join(out)


def _translate_segment(segment: str) -> str:
    out, index = [], 0
    while index < len(segment):
        char = segment[index]
        end = _class_end(segment, index) if char == "[" else -1
        if char == "\\" and index + 1 < len(segment):
            out.append(re.escape(segment[index + 1]))
            index += 1
        elif char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif end > 0:
            out.append(_translate_class(segment[index + 1 : end]))
            index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


def _class_end(segment: str, start: int) -> int:
    """The index of the ``]`` closing the character class opened at ``start``, or -1."""
    index = start + 1
    if index < len(segment) and segment[index] in "!^":
        index += 1
    if index < len(segment) and segment[index] == "]":
        index += 1  # a leading ] is a literal member
    while index < len(segment) and segment[index] != "]":
        index += 2 if segment[index] == "\\" else 1
    return index if index < len(segment) else -1


def _translate_class(body: str) -> str:
    negate = body[:1] in ("!", "^")
    body = body[1:] if negate else body
    members = "".join("-" if char == "-" else re.escape(char) for char in body.replace("\\", ""))
    return f"[^/{members}]" if negate else f"[{members}]"
