"""Finding 2: committed symlinks and `cache =` must not carry a read or a write out of the project.

Each case runs the real console script on a repository that links to a sibling folder,
`outside`, standing for the rest of the runner's disk; that folder's files (names, bytes,
mtimes) must be exactly as they were, and nothing may be created in it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.testing.fake_lsky import FakeLsky
from tests.hostile.conftest import SECRETS, run_imgsync
from tests.images import png_bytes

Snapshot = dict[str, tuple[bytes | str, int]]


@pytest.fixture
def host() -> Iterator[FakeLsky]:
    """A real (fake) Lsky, not the attacker: these cases need an upload to happen."""
    with FakeLsky(token=SECRETS["LSKY_TOKEN"]) as fake:
        yield fake


@pytest.fixture
def outside(project: Path) -> Path:
    """A folder beside the repository, holding what a link could reach."""
    folder = project.parent / "outside"
    (folder / "state").mkdir(parents=True)
    (folder / "victim.md").write_text("# Not the project's\n\n![a](a.png)\n")
    (folder / "a.png").write_bytes(png_bytes(4, 4))
    (folder / "cache.json").write_text('{"uploads": {}, "version": 1}\n')
    (folder / "state" / "keep.txt").write_text("kept\n")
    (folder / "notes").mkdir()
    (folder / "notes" / "other.md").write_text("# Not the project's either\n\n![a](../a.png)\n")
    return folder


def snapshot(folder: Path) -> Snapshot:
    """Every entry below `folder`: a file's bytes or a link's target, and its mtime."""
    found: Snapshot = {}
    for base, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(base, name)
            if path.is_symlink():
                content: bytes | str = os.readlink(path)
            else:
                content = b"" if path.is_dir() else path.read_bytes()
            found[path.relative_to(folder).as_posix()] = (content, path.lstat().st_mtime_ns)
    return found


def sync(project: Path, host: FakeLsky, *args: str) -> tuple[int, list[str]]:
    done = run_imgsync(project, *args, env={"LSKY_BASE_URL": host.url})
    return done.returncode, done.stderr.splitlines()


def with_image(project: Path, name: str = "post.md", size: int = 3) -> Path:
    """A Markdown file in the project whose local image a sync would upload and rewrite."""
    (project / f"img{size}.png").write_bytes(png_bytes(size, size))
    post = project / name
    post.write_text(f"![x](img{size}.png)\n")
    return post


def test_a_linked_cache_file_is_neither_read_nor_written(
    project: Path, outside: Path, host: FakeLsky
) -> None:
    before = snapshot(outside)
    (project / ".imgsync-cache.json").symlink_to(outside / "cache.json")
    post = with_image(project)

    status, lines = sync(project, host, ".")

    assert status == 2
    assert (
        f"imgsync: error: {project}/.imgsync-cache.json: refused: it is a symbolic link that"
        f" leads outside {project}, where imgsync never reads or writes;"
        " replace the link with the file itself"
    ) in lines
    assert host.uploads == []  # refused before anything went up
    assert post.read_text() == "![x](img3.png)\n"
    assert snapshot(outside) == before


@pytest.mark.parametrize("command", ["sync", "check"])
def test_a_linked_markdown_file_leading_outside_is_neither_read_nor_written(
    project: Path, outside: Path, host: FakeLsky, command: str
) -> None:
    before = snapshot(outside)
    (project / "a.png").write_bytes(png_bytes(4, 4))  # what its references would resolve to
    (project / "linked.md").symlink_to(outside / "victim.md")
    (project / "docs").symlink_to(outside / "notes")  # a linked folder leads there too
    good = with_image(project, "good.md")

    status, lines = sync(project, host, command, ".", "docs")

    assert status == 3
    why = f"refused: it {{}} outside {project}, where imgsync never reads or writes"
    assert f"error: linked.md: {why.format('is a symbolic link that leads')}" in lines
    assert f"error: docs/other.md: {why.format('is in a linked folder that leads')}" in lines
    assert not any("Not the project's" in line for line in lines)
    if command == "sync":  # the rest is done
        assert good.read_text().startswith("![x](http://127.0.0.1")
        assert [upload.filename for upload in host.uploads] == ["img3.png"]
    assert (project / "linked.md").is_symlink()
    assert snapshot(outside) == before


@pytest.mark.parametrize("target", ["state", "new-state"])  # an existing folder, or none yet
@pytest.mark.parametrize("command", ["sync", "check"])
def test_a_linked_state_folder_leading_outside_gets_nothing(
    project: Path, outside: Path, host: FakeLsky, target: str, command: str
) -> None:
    before = snapshot(outside)
    (project / ".imgsync").symlink_to(outside / target)
    post = with_image(project)

    status, lines = sync(project, host, command, ".")

    assert status == 2
    assert (
        f"imgsync: error: {project}/.imgsync/stamps.json: refused: it is in a linked folder"
        f" that leads outside {project}, where imgsync never reads or writes;"
        " remove the link: imgsync makes .imgsync/ itself, never committed"
    ) in lines
    assert host.uploads == []
    assert post.read_text() == "![x](img3.png)\n"
    assert snapshot(outside) == before


@pytest.mark.parametrize(
    "name", ["stamps.json", "uploading.lock", ".imgsync-cache.json.lock", ".gitignore"]
)
def test_a_linked_file_in_the_state_folder_is_never_created_or_written(
    project: Path, outside: Path, host: FakeLsky, name: str
) -> None:
    before = snapshot(outside)
    (project / ".imgsync").mkdir()
    (project / ".imgsync" / name).symlink_to(outside / "state" / name)  # dangling: O_CREAT bait
    with_image(project)

    status, lines = sync(project, host, ".")

    assert status == 2
    assert any(
        f"{project}/.imgsync/{name}: refused: it is a symbolic link that leads outside" in line
        for line in lines
    ), lines
    assert host.uploads == []  # every one is refused before an upload it couldn't record
    assert snapshot(outside) == before


@pytest.mark.parametrize("where", ["../outside/cache.json", "ABSOLUTE", "linked.json"])
@pytest.mark.parametrize("command", ["sync", "check"])
def test_a_configured_cache_outside_the_project_is_refused(
    project: Path, outside: Path, host: FakeLsky, where: str, command: str
) -> None:
    absolute = outside / "absolute-cache.json"  # under /tmp, as `cache = "/tmp/..."` would be
    (project / "linked.json").symlink_to(outside / "cache.json")
    cache = str(absolute) if where == "ABSOLUTE" else where
    (project / "imgsync.toml").write_text(
        f'cache = {json.dumps(cache)}\n\n[hosts.main]\ntype = "lsky"\n'
        'url = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
    )
    before = snapshot(outside)
    with_image(project)

    status, lines = sync(project, host, command, ".")

    assert status == 2
    assert lines == [
        f"imgsync: error: {project}/imgsync.toml: `cache` names a file outside the project"
        f" ({project}, the folder of this file), directly or through a symbolic link;"
        " keep the cache inside the project"
    ]
    assert str(absolute) not in lines[0]  # a key is named, its value never shown
    assert host.uploads == []
    assert snapshot(outside) == before


def test_links_inside_the_project_still_work(project: Path, outside: Path, host: FakeLsky) -> None:
    before = snapshot(outside)
    (project / "data" / "state").mkdir(parents=True)
    (project / "data" / "cache.json").write_text('{"uploads": {}, "version": 1}\n')
    (project / ".imgsync-cache.json").symlink_to("data/cache.json")
    (project / ".imgsync").symlink_to("data/state")
    post = with_image(project, "post.md")
    (project / "docs").mkdir()
    (project / "docs" / "alias.md").symlink_to("../post.md")  # the same file, read once
    (project / "docs" / "notes.md").symlink_to("../notes-real.md")
    (project / "notes-real.md").write_text("![y](img3.png)\n")

    status, lines = sync(project, host, ".")

    assert status == 0, lines
    url = post.read_text().removeprefix("![x](").removesuffix(")\n")
    assert url.startswith("http://127.0.0.1")
    assert (project / "notes-real.md").read_text() == f"![y]({url})\n"
    assert (project / "docs" / "alias.md").is_symlink() and (project / "docs/notes.md").is_symlink()
    assert (project / ".imgsync-cache.json").is_symlink()
    assert url in (project / "data" / "cache.json").read_text()  # written through the link
    assert (project / "data" / "state" / "stamps.json").is_file()
    assert len(host.uploads) == 1
    assert snapshot(outside) == before
    assert run_imgsync(project, "check", ".").returncode == 0


def test_a_ca_file_outside_the_project_is_refused(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside-ca.pem"
    outside.write_text("not read\n")
    (project / "imgsync.toml").write_text(f'ca_file = "{outside}"\n')
    (project / "post.md").write_text("# nothing local\n")

    done = run_imgsync(project, "check", ".")

    assert done.returncode == 2
    assert "`ca_file` names a file outside the project" in done.stderr
    assert str(outside) not in done.stderr  # the key is named, never the value


def test_a_config_nested_deeper_than_any_parser_goes_is_a_config_error(project: Path) -> None:
    (project / "imgsync.toml").write_text("exclude = " + "[" * 200_000 + "]" * 200_000 + "\n")

    done = run_imgsync(project, "check", ".")

    assert done.returncode == 2
    assert "imgsync.toml: is nested too deeply to be a configuration file" in done.stderr
