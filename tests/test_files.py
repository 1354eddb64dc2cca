"""atomic_write: the one helper every file imgsync changes goes through."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.files import atomic_write

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_creates_a_new_file(tmp_path: Path) -> None:
    target = tmp_path / "new.md"
    atomic_write(target, b"hello\r\n")
    assert target.read_bytes() == b"hello\r\n"
    assert os.listdir(tmp_path) == ["new.md"]


def test_replaces_the_content_of_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "a.md"
    target.write_bytes(b"old content that is longer than the new one")
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["a.md"]


def test_writes_empty_bytes(tmp_path: Path) -> None:
    target = tmp_path / "a.md"
    target.write_bytes(b"x")
    atomic_write(target, b"")
    assert target.read_bytes() == b""


@posix_only
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o664, 0o755])
def test_keeps_the_mode_of_an_existing_file(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "a.md"
    target.write_bytes(b"old")
    target.chmod(mode)
    atomic_write(target, b"new")
    assert mode_of(target) == mode


@posix_only
@pytest.mark.usefixtures("umask_022")
def test_a_new_file_gets_the_mode_the_umask_allows(tmp_path: Path) -> None:
    target = tmp_path / "new.md"
    atomic_write(target, b"x")
    # What open() would have given it, not mkstemp's private 0o600.
    assert mode_of(target) == 0o644


@posix_only
def test_writes_through_a_symlink_and_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.md"
    real.write_bytes(b"old")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    atomic_write(link, b"new")
    assert link.is_symlink()
    assert real.read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path)) == ["link.md", "real.md"]


def test_a_failed_rename_leaves_the_original_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "a.md"
    target.write_bytes(b"original")

    def failing_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, b"replacement")
    assert target.read_bytes() == b"original"
    assert os.listdir(tmp_path) == ["a.md"]


def test_a_missing_folder_is_an_error_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "missing" / "a.md", b"x")
    assert os.listdir(tmp_path) == []
