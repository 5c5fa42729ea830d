"""What a source snapshot holds: hashes, symlinks in and out of the directory, v1's size limits."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from durableml import source_snapshot
from durableml.exceptions import SnapshotException
from durableml.source_snapshot import file_sha256, snapshot_files


def test_files_are_hashed_with_sha256(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_bytes(b"print('hi')\n")
    (tmp_path / "empty.txt").write_bytes(b"")
    big = os.urandom(3 * 1024 * 1024 + 17)  # more than one read chunk
    (tmp_path / "big.bin").write_bytes(big)
    files = {file.path: file for file in snapshot_files(tmp_path)}
    assert files["train.py"].sha256 == hashlib.sha256(b"print('hi')\n").hexdigest()
    assert files["empty.txt"].sha256 == hashlib.sha256(b"").hexdigest()
    assert files["big.bin"].sha256 == hashlib.sha256(big).hexdigest() == file_sha256(tmp_path / "big.bin")
    assert files["big.bin"].size == len(big)


def test_symlinks_out_of_the_directory_are_skipped(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not for the snapshot", encoding="utf-8")
    source = tmp_path / "source"
    source.mkdir()
    (source / "train.py").write_text("print(1)\n", encoding="utf-8")
    (source / "secret_link.txt").symlink_to(outside / "secret.txt")
    (source / "outside_dir").symlink_to(outside, target_is_directory=True)
    (source / "dangling").symlink_to(tmp_path / "does-not-exist")
    (source / "relative_escape").symlink_to("../outside/secret.txt")
    assert [file.path for file in snapshot_files(source)] == ["train.py"]


def test_symlinks_inside_the_directory_are_followed(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "util.py").write_text("X = 1\n", encoding="utf-8")
    (tmp_path / "util_link.py").symlink_to(tmp_path / "lib" / "util.py")
    (tmp_path / "lib_link").symlink_to("lib", target_is_directory=True)
    (tmp_path / "lib" / "loop").symlink_to("..", target_is_directory=True)  # back to the top: not followed
    files = {file.path: file.sha256 for file in snapshot_files(tmp_path)}
    assert sorted(files) == ["lib/util.py", "lib_link/util.py", "util_link.py"]
    assert len(set(files.values())) == 1  # the same content, stored once by the service


def test_a_snapshot_of_a_symlinked_directory_uses_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.py").write_text("a\n", encoding="utf-8")
    (tmp_path / "alias").symlink_to(real, target_is_directory=True)
    assert [file.path for file in snapshot_files(tmp_path / "alias")] == ["a.py"]


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(SnapshotException, match="is not a directory"):
        snapshot_files(tmp_path / "missing")


def test_over_the_limits_names_the_largest_files_and_amlignore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for index in range(4):
        (tmp_path / f"f{index}.bin").write_bytes(b"x" * (index + 1))
    monkeypatch.setattr(source_snapshot, "SNAPSHOT_MAX_FILES", 3)
    with pytest.raises(SnapshotException, match=r"holds 4 files.*f3\.bin.*\.amlignore"):
        snapshot_files(tmp_path)
    (tmp_path / ".amlignore").write_text("f0.bin\nf1.bin\n", encoding="utf-8")
    assert len(snapshot_files(tmp_path)) == 3  # .amlignore, f2, f3


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads unreadable files")
def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    locked = tmp_path / "locked.txt"
    locked.write_text("x", encoding="utf-8")
    locked.chmod(0)
    try:
        with pytest.raises(SnapshotException, match="locked.txt.*amlignore"):
            snapshot_files(tmp_path)
    finally:
        locked.chmod(0o644)
