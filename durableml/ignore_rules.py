"""Which paths of a source directory a snapshot leaves out: ``.amlignore``/``.gitignore`` rules, git's syntax.

:meth:`IgnoreRules.for_directory` reads the first of :data:`IGNORE_FILES` at the top of a source
directory; :mod:`durableml.source_snapshot` asks it about each path while walking the directory.

Each line is translated by ``pathspec`` (its ``GitIgnoreSpecPattern``, git's wildmatch: escapes, trailing
spaces, ``*``/``?``/classes, ``**``, anchoring). What stays here is git's rule for applying the lines, a few
lines long: the last line that matches a path *itself* decides, and the caller (the snapshot walk,
:meth:`IgnoreRules.is_ignored`) looks at each parent directory first. ``pathspec.GitIgnoreSpec.match_file``
is not used for that: it matches whole file paths and lets a line matching a parent compete with lines
matching the file, which differs from ``git ls-files --others --exclude-standard`` (git 2.39) in about 1 of
40 random trees and ignore files (measured with tests/sdk_http/test_ignore_rules_vs_git.py's generator), e.g.
``a/**/`` leaves out ``a/f`` and ``logs/`` + ``!logs/keep.txt`` re-includes ``logs/keep.txt``; applied
line by line as below it agreed with git on all of 4,800. Kept from the hand-written matcher this replaces:
an unclosed ``[`` is a literal character (git and pathspec drop such a line).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["IgnoreRules", "IGNORE_FILES"]

IGNORE_FILES = (".amlignore", ".gitignore")
"""The ignore files of a source directory, in order of precedence: the first one present is used."""

_UNESCAPED_BRACKET = re.compile(r"(?<!\\)\[")


@dataclass(frozen=True)
class _Regex:
    """A line's regex from pathspec, and the number of its directory-mark group (None if it has none)."""

    pattern: re.Pattern[str]
    dir_mark: int | None

    def matches_itself(self, path: str) -> bool:
        found = self.pattern.search(path)
        return found is not None and (self.dir_mark is None or found.group(self.dir_mark) is None)


@dataclass(frozen=True)
class _Rule:
    """One line of an ignore file, compiled twice by pathspec: for files, and for directories.

    ``files`` is the line as written (a trailing ``/`` makes it match directories only, which pathspec
    expresses by matching the paths below them); ``dirs`` is the line without its trailing ``/``, so a
    directory is asked about as itself (``build``, not ``build/``) and ``abc/**`` does not match ``abc``.
    A match through pathspec's directory-mark group matched a parent of the path, not the path itself.
    """

    files: _Regex | None
    dirs: _Regex | None
    negate: bool

    def matches(self, path: str, is_dir: bool) -> bool:
        regex = self.dirs if is_dir else self.files
        return regex is not None and regex.matches_itself(path)


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
            if rule.matches(path, is_dir):
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
    line = line.rstrip("\r\n")
    files, include = _compile(line)
    if include is None:
        return None  # a blank line, a comment, or a line that can match nothing
    stripped = line.rstrip(" ")
    dirs = _compile(stripped.rstrip("/"))[0] if stripped.endswith("/") else files
    return _Rule(files, dirs, negate=not include)


def _compile(line: str) -> tuple[_Regex | None, bool | None]:
    """pathspec's regex for one line and whether it excludes (True), re-includes (False) or is a no-op (None).

    pathspec is imported here, when the first line is read, so that a snapshot of a directory without an
    ignore file needs nothing beyond the standard library (a test runs one as an unprivileged user with the
    system Python).
    """
    from pathspec.patterns.gitignore import GitIgnorePatternError
    from pathspec.patterns.gitignore.spec import _DIR_MARK, GitIgnoreSpecPattern

    try:
        regex, include = GitIgnoreSpecPattern.pattern_to_regex(line)
        if include is None and "[" in line and not line.startswith("#"):
            regex, include = GitIgnoreSpecPattern.pattern_to_regex(_UNESCAPED_BRACKET.sub(r"\\[", line))
        if regex is None or include is None:
            return None, None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # "[[:alpha:]]": a set that looks nested to re
            compiled = re.compile(regex)
        return _Regex(compiled, compiled.groupindex.get(_DIR_MARK)), include
    except (GitIgnorePatternError, re.error, ValueError):
        return None, None  # like git, a line that cannot be read matches nothing (a lone "!", "[z-a]", "a\\")
