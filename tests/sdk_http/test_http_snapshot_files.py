"""What a source snapshot holds: hashes, symlinks in and out of the directory, v1's size limits."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from durableml import source_snapshot
from durableml.exceptions import SnapshotException
from durableml.source_snapshot import file_sha256, hash_path_files, snapshot_files


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


def test_an_unreadable_file_is_named_even_when_tests_run_as_root(tmp_path_factory: pytest.TempPathFactory) -> None:
    """As root, chmod cannot make a file unreadable: the snapshot is taken by an unprivileged child process
    (with the system Python: the virtual environment's interpreter may live under root's home)."""
    import shutil
    import subprocess
    import tempfile

    if os.geteuid() != 0:
        pytest.skip("covered by test_an_unreadable_file_is_named")
    python = shutil.which("python3", path="/usr/local/bin:/usr/bin")
    if python is None:
        pytest.skip("no system python3 that an unprivileged user can run")
    top = Path(tempfile.mkdtemp(prefix="snapshot-unreadable-"))
    try:
        top.chmod(0o755)
        (top / "train.py").write_text("print(1)\n", encoding="utf-8")
        (top / "locked.txt").write_text("x", encoding="utf-8")
        (top / "locked.txt").chmod(0)
        code = (
            "import sys\nfrom durableml.exceptions import SnapshotException\nfrom durableml.source_snapshot import "
            "snapshot_files\ntry:\n    snapshot_files(sys.argv[1])\nexcept SnapshotException as exc:\n"
            "    print(exc)\n    sys.exit(3)\n"
        )
        repo = Path(__file__).resolve().parents[2]
        done = subprocess.run(
            [python, "-c", code, str(top)],
            user="nobody",
            group="nogroup",
            capture_output=True,
            text=True,
            cwd=top,
            env={"PYTHONPATH": str(repo), "PATH": os.environ.get("PATH", "")},
            timeout=60,
        )
        assert done.returncode == 3, done.stderr
        assert "cannot read" in done.stdout and "locked.txt" in done.stdout and ".amlignore" in done.stdout
    finally:
        shutil.rmtree(top)


def test_over_the_default_file_limit(tmp_path: Path) -> None:
    for index in range(source_snapshot.SNAPSHOT_MAX_FILES + 1):
        (tmp_path / f"f{index:04}.txt").write_bytes(b"")
    with pytest.raises(SnapshotException, match=r"holds 2001 files.*\(2000 files, 315 MB\).*\.amlignore") as caught:
        snapshot_files(tmp_path)
    assert caught.value.details == {"files": 2001, "bytes": 0}


def test_over_the_size_limit_names_the_biggest_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source_snapshot, "SNAPSHOT_MAX_BYTES", 1000)
    (tmp_path / "model.bin").write_bytes(b"x" * 900)
    (tmp_path / "data.csv").write_bytes(b"x" * 200)
    (tmp_path / "train.py").write_bytes(b"x")
    with pytest.raises(SnapshotException, match=r"3 files, 0\.0 MB.*Largest: model\.bin.*data\.csv.*train\.py"):
        snapshot_files(tmp_path)


def test_hash_paths_add_ignored_files_without_uploading_them(tmp_path: Path) -> None:
    (tmp_path / ".amlignore").write_text("data/\nconfig.yml\n", encoding="utf-8")
    (tmp_path / "train.py").write_text("print(1)\n", encoding="utf-8")
    (tmp_path / "config.yml").write_text("lr: 0.1\n", encoding="utf-8")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("1\n", encoding="utf-8")
    kept = snapshot_files(tmp_path)
    assert [f.path for f in kept] == [".amlignore", "train.py"]
    hashed = hash_path_files(tmp_path, ["config.yml", "data", "train.py"], kept)
    assert [(f.path, f.sha256) for f in hashed] == [
        ("config.yml", file_sha256(tmp_path / "config.yml")),
        ("data/a.csv", file_sha256(tmp_path / "data" / "a.csv")),
    ]  # train.py is in the snapshot already


@pytest.mark.parametrize("entry", ["missing.txt", "../outside.txt", "/etc/hostname"])
def test_hash_paths_must_name_something_inside_the_directory(tmp_path: Path, entry: str) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (tmp_path / "outside.txt").write_text("x", encoding="utf-8")
    with pytest.raises(SnapshotException, match=f"hash_paths entry {entry!r} is not a file or folder inside"):
        hash_path_files(source, [entry], [])
