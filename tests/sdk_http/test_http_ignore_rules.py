"""The snapshot ignore rules: .gitignore syntax, checked case by case and against git itself."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from durableml.ignore_rules import IgnoreRules
from durableml.source_snapshot import snapshot_files

# (ignore-file lines, path, is a directory, ignored?)
CASES: list[tuple[list[str], str, bool, bool]] = [
    (["*.log"], "a.log", False, True),
    (["*.log"], "deep/er/a.log", False, True),
    (["*.log"], "a.logx", False, False),
    (["*.log"], "logs", True, False),
    (["/build"], "build", True, True),
    (["/build"], "src/build", True, False),
    (["build/"], "build", True, True),
    (["build/"], "build", False, False),  # a trailing slash matches directories only
    (["build/"], "src/build", True, True),  # ... at any depth, since the slash is trailing
    (["doc/frotz/"], "doc/frotz", True, True),
    (["doc/frotz/"], "a/doc/frotz", True, False),  # a middle slash anchors to the top
    (["a/b"], "x/a/b", False, False),
    (["doc/*.txt"], "doc/notes.txt", False, True),
    (["doc/*.txt"], "doc/sub/notes.txt", False, False),  # * does not cross directories
    (["**/foo"], "foo", False, True),
    (["**/foo"], "a/b/foo", True, True),
    (["**/foo/bar"], "x/y/foo/bar", False, True),
    (["**/foo/bar"], "foo/bar", False, True),
    (["abc/**"], "abc/x", False, True),
    (["abc/**"], "abc/x/y/z", False, True),
    (["abc/**"], "abc", True, False),  # everything inside, not the directory itself
    (["a/**/b"], "a/b", False, True),
    (["a/**/b"], "a/x/b", False, True),
    (["a/**/b"], "a/x/y/b", False, True),
    (["a/**/b"], "ab", False, False),
    (["**"], "any/thing", False, True),
    (["*.py[co]"], "m.pyc", False, True),
    (["*.py[co]"], "m.pyo", False, True),
    (["*.py[co]"], "m.py", False, False),
    (["[!a]*.txt"], "b.txt", False, True),
    (["[!a]*.txt"], "a.txt", False, False),
    (["[a-c].csv"], "b.csv", False, True),
    (["[a-c].csv"], "d.csv", False, False),
    (["?.md"], "a.md", False, True),
    (["?.md"], "ab.md", False, False),
    (["*.log", "!keep.log"], "keep.log", False, False),
    (["*.log", "!keep.log"], "drop.log", False, True),
    (["!keep.log", "*.log"], "keep.log", False, True),  # the last matching line wins
    (["logs/", "!logs/keep.txt"], "logs/keep.txt", False, True),  # no re-including inside an excluded dir
    (["logs/*", "!logs/keep.txt"], "logs/keep.txt", False, False),  # ... but inside an included one, yes
    (["/*", "!/src"], "src/app.py", False, False),
    (["/*", "!/src"], "docs/index.md", False, True),
    (["# a comment"], "# a comment", False, False),
    (["\\#hash"], "#hash", False, True),
    (["\\!bang"], "!bang", False, True),
    (["", "   ", "*.tmp"], "x.tmp", False, True),  # blank lines are nothing
    (["trailing   "], "trailing", False, True),  # unescaped trailing spaces are dropped
    (["space\\ "], "space ", False, True),
    (["space\\ "], "space", False, False),
    (["*.tmp\r"], "x.tmp", False, True),  # CRLF files
    (["data"], "data", True, True),
    (["data"], "data/big.csv", False, True),  # through the parent
    (["data"], "src/data", False, True),  # no slash: any depth, files too
    (["*.log"], "dir\\a.log", False, True),  # Windows separators in the query
    (["a[b"], "a[b", False, True),  # an unclosed [ is literal
    (["f+o.(x)"], "f+o.(x)", False, True),  # regex characters are literal
]


@pytest.mark.parametrize(("lines", "path", "is_dir", "expected"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_ignore_rule(lines: list[str], path: str, is_dir: bool, expected: bool) -> None:
    assert IgnoreRules(lines).is_ignored(path, is_dir) is expected


def _tree(root: Path, files: list[str]) -> None:
    for name in files:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"content of {name}\n", encoding="utf-8")


def test_amlignore_beats_gitignore(tmp_path: Path) -> None:
    _tree(tmp_path, ["train.py", "data/raw.csv", "notes.md", "model.pkl"])
    (tmp_path / ".gitignore").write_text("data/\nnotes.md\n", encoding="utf-8")
    (tmp_path / ".amlignore").write_text("*.pkl\n", encoding="utf-8")
    rules = IgnoreRules.for_directory(tmp_path)
    assert rules.source == os.path.join(str(tmp_path), ".amlignore")
    kept = [file.path for file in snapshot_files(tmp_path)]
    assert kept == [".amlignore", ".gitignore", "data/raw.csv", "notes.md", "train.py"]


def test_gitignore_is_used_without_amlignore(tmp_path: Path) -> None:
    _tree(tmp_path, ["train.py", "data/raw.csv", "notes.md"])
    (tmp_path / ".gitignore").write_text("data/\nnotes.md\n", encoding="utf-8")
    assert [file.path for file in snapshot_files(tmp_path)] == [".gitignore", "train.py"]


def test_no_ignore_file_keeps_everything(tmp_path: Path) -> None:
    _tree(tmp_path, ["a.py", ".hidden/x", "deep/er/y.txt"])
    assert [file.path for file in snapshot_files(tmp_path)] == [".hidden/x", "a.py", "deep/er/y.txt"]


GIT_TREE = [
    "train.py", "score.py", "README.md", "notes.txt", "debug.log", "keep.log", "m.pyc",
    "build/out.bin", "src/build/x.o", "src/app.py", "src/app.pyc", "src/tmp/cache.bin",
    "data/raw/a.csv", "data/raw/b.csv", "data/clean/c.csv", "data/keep.me",
    "docs/index.md", "docs/api/ref.md", "docs/api/private.md",
    "logs/run1/out.txt", "logs/keep.txt", "a/x/y/b", "a/b", "nested/deeper/foo/bar.txt",
    "weird name.txt", "[brackets].txt", "#hash.txt", "!bang.txt",
]  # fmt: skip
GIT_IGNORE = [
    "# build products", "*.py[co]", "/build", "*.log", "!keep.log", "data/raw/", "data/*", "!data/keep.me",
    "docs/**/private.md", "logs/", "!logs/keep.txt", "a/**/b", "**/foo/", "src/tmp", "weird\\ name.txt",
    "\\#hash.txt", "\\!bang.txt", "[[]brackets].txt",
]  # fmt: skip


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_snapshot_keeps_what_git_keeps(tmp_path: Path) -> None:
    """The same tree and .gitignore: the snapshot holds exactly the files git sees as not ignored."""
    work = tmp_path / "work"
    _tree(work, GIT_TREE)
    (work / ".gitignore").write_text("\n".join(GIT_IGNORE) + "\n", encoding="utf-8")
    git = ["git", f"--git-dir={tmp_path / 'repo.git'}", f"--work-tree={work}", "-c", "core.excludesFile=/dev/null"]
    subprocess.run([*git, "init", "-q"], check=True, capture_output=True)
    listed = subprocess.run(
        [*git, "ls-files", "--others", "--exclude-standard", "-z"], check=True, capture_output=True, cwd=work
    )  # fmt: skip
    expected = sorted(name for name in listed.stdout.decode().split("\0") if name)
    assert [file.path for file in snapshot_files(work)] == expected
    assert "keep.log" in expected and "data/keep.me" in expected and "logs/keep.txt" not in expected  # sanity
