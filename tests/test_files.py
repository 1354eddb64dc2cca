"""atomic_write and the project's bounds: the helpers every file imgsync reads or changes goes
through."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.errors import OutsideProject
from imgsync.files import (
    atomic_write,
    confined,
    folders_kept,
    is_inside,
    open_inside,
    private_folder,
    read_inside,
    real_path,
)

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


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with a sibling `outside/secret.txt` that links in it may name."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_bytes(b"secret")
    (tmp_path / "repo").mkdir()
    return tmp_path / "repo"


@posix_only
def test_is_inside_resolves_links_before_it_answers(project: Path) -> None:
    (project / "sub").mkdir()
    (project / "in.txt").symlink_to("sub/x.txt")  # dangling, but inside
    (project / "out.txt").symlink_to("../outside/secret.txt")
    (project / "up").symlink_to("..")

    assert is_inside(project / "sub" / "new.txt", project)
    assert is_inside(project / "in.txt", project)
    assert is_inside(project, project)
    assert not is_inside(project / "out.txt", project)
    assert not is_inside(project / "up" / "outside" / "x", project)
    assert not is_inside(project / ".." / "repo2" / "x", project)  # a prefix is not a folder
    assert not is_inside(Path("/etc/passwd"), project)


@posix_only
def test_confined_says_how_a_path_leaves(project: Path) -> None:
    (project / "out.txt").symlink_to("../outside/secret.txt")
    (project / "dir").symlink_to("../outside")
    hows = {}
    for path in [project / "out.txt", project / "dir" / "secret.txt", project / "../x"]:
        with pytest.raises(OutsideProject) as caught:
            confined(path, project)
        assert caught.value.path == path
        hows[path.name] = caught.value.reason
    assert hows == {
        "out.txt": f"refused: it is a symbolic link that leads outside {project}, where"
        " imgsync never reads or writes",
        "secret.txt": f"refused: it is in a linked folder that leads outside {project}, where"
        " imgsync never reads or writes",
        "x": f"refused: it is outside {project}, where imgsync never reads or writes",
    }
    assert str(caught.value) == f"{project / '../x'}: {hows['x']}"
    assert confined(project / "a" / "b.txt", project) == project / "a" / "b.txt"


@posix_only
def test_no_write_through_a_link_that_leads_outside(project: Path) -> None:
    outside = project.parent / "outside"
    link = project / "a.md"
    link.symlink_to(outside / "secret.txt")
    dangling = project / "b.md"
    dangling.symlink_to(outside / "new.txt")

    for path in (link, dangling):
        with pytest.raises(OutsideProject):
            atomic_write(path, b"pwned", project=project)
        with pytest.raises(OutsideProject):
            atomic_write(path, b"pwned")  # by default, the file's own folder bounds it

    assert (outside / "secret.txt").read_bytes() == b"secret"
    assert sorted(os.listdir(outside)) == ["secret.txt"]
    assert link.is_symlink() and dangling.is_symlink()  # not replaced by a file either
    assert sorted(os.listdir(project)) == ["a.md", "b.md"]


@posix_only
def test_a_link_to_a_file_elsewhere_in_the_project_is_written_through(project: Path) -> None:
    (project / "docs").mkdir()
    (project / "real.md").write_bytes(b"old")
    (project / "docs" / "link.md").symlink_to("../real.md")

    atomic_write(project / "docs" / "link.md", b"new", project=project)

    assert (project / "real.md").read_bytes() == b"new"
    assert (project / "docs" / "link.md").is_symlink()
    with pytest.raises(OutsideProject):  # outside docs/, its own folder, when not told more
        atomic_write(project / "docs" / "link.md", b"newer")


@posix_only
def test_reads_and_lock_files_stay_inside(project: Path) -> None:
    outside = project.parent / "outside"
    (project / "out.txt").symlink_to(outside / "secret.txt")
    (project / "out.lock").symlink_to(outside / "created.lock")
    (project / "in.txt").write_bytes(b"mine")

    assert read_inside(project / "in.txt", project) == b"mine"
    with pytest.raises(OutsideProject):
        read_inside(project / "out.txt", project)
    with pytest.raises(OutsideProject):
        open_inside(project / "out.lock", os.O_RDWR | os.O_CREAT, project)
    assert sorted(os.listdir(outside)) == ["secret.txt"]
    fd = open_inside(project / "new.lock", os.O_RDWR | os.O_CREAT, project)
    os.close(fd)
    assert (project / "new.lock").is_file()


@posix_only
def test_a_private_folder_linked_outside_is_not_filled(project: Path) -> None:
    outside = project.parent / "outside"
    (project / ".imgsync").symlink_to(outside)
    (project / ".other").symlink_to(outside / "missing")

    for name in (".imgsync", ".other"):
        with pytest.raises(OutsideProject):
            private_folder(project / name, project=project)
    assert sorted(os.listdir(outside)) == ["secret.txt"]

    (project / "own").mkdir()
    (project / "own" / ".gitignore").symlink_to(outside / "ignore")
    with pytest.raises(OutsideProject):
        private_folder(project / "own")
    assert sorted(os.listdir(outside)) == ["secret.txt"]
    assert (private_folder(project / "fresh") / ".gitignore").read_text().endswith("*\n")


def test_folders_kept_resolve_paths_as_realpath_does(tmp_path: Path) -> None:
    # One run resolves each folder once: every kind of path must still resolve as
    # os.path.realpath resolves it (links to folders and files, `..`, missing names, loops).
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "deep" / "a.png").write_bytes(b"x")
    project = tmp_path / "project"
    (project / "img").mkdir(parents=True)
    (project / "img" / "b.png").write_bytes(b"y")
    (project / "linked").symlink_to(outside / "deep")
    (project / "img" / "c.png").symlink_to(outside / "deep" / "a.png")
    (project / "img" / "loop.png").symlink_to(project / "img" / "loop.png")
    (project / "up").symlink_to(project / "img")
    names = [
        "img/b.png",
        "img/c.png",
        "img/loop.png",
        "img/missing.png",
        "linked/a.png",
        "linked/../deep/a.png",
        "up/../img/b.png",
        "up/b.png",
        "img/..",
        "img/.",
        "img",
        ".",
    ]
    expected = {name: os.path.realpath(project / name) for name in names}
    with folders_kept():
        for _ in range(2):  # the second time from what was kept
            for name in names:
                assert real_path(project / name) == expected[name], name
                assert real_path(str(project / name)) == expected[name], name
        assert not is_inside(project / "linked" / "a.png", project)
        assert not is_inside(project / "img" / "c.png", project)
        assert is_inside(project / "up" / "b.png", project)
        with pytest.raises(OutsideProject):
            read_inside(project / "img" / "c.png", project)
        assert read_inside(project / "up" / "b.png", project) == b"y"
    with folders_kept():  # read first, each name unseen: opened without following it
        with pytest.raises(OutsideProject):
            read_inside(project / "img" / "c.png", project)
        with pytest.raises(OutsideProject):
            read_inside(project / "linked" / "a.png", project)
        (project / "img" / "inside.png").symlink_to(project / "img" / "b.png")
        assert read_inside(project / "img" / "inside.png", project) == b"y"
        assert read_inside(project / "up" / "b.png", project) == b"y"
        with pytest.raises(OSError):
            read_inside(project / "img" / "loop.png", project)
    previous = os.getcwd()
    os.chdir(project)
    try:
        with folders_kept():
            assert real_path("img/b.png") == os.path.realpath("img/b.png")
            assert real_path("b.png") == os.path.realpath("b.png")
    finally:
        os.chdir(previous)
