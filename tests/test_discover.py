"""Which Markdown files a folder means: include/exclude, hidden folders, links, order."""

from __future__ import annotations

import os
from pathlib import Path

from imgsync import discover
from imgsync.config import DEFAULT_EXCLUDE, DEFAULT_INCLUDE
from imgsync.discover import discover_markdown


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x\n")


def found(root: Path, *paths: Path, include: tuple[str, ...] = DEFAULT_INCLUDE) -> list[str]:
    files, unreadable = discover_markdown(
        list(paths) or [root], root=root, include=include, exclude=DEFAULT_EXCLUDE
    )
    assert unreadable == []
    return [file.relative_to(root).as_posix() for file in files]


def test_a_folder_means_its_markdown_files_sorted_by_path(tmp_path: Path) -> None:
    touch(tmp_path, "b.md", "a/z.markdown", "a-b/c.md", "a/b/c.md", "notes.txt", "a/img.png")

    assert found(tmp_path) == ["a/b/c.md", "a/z.markdown", "a-b/c.md", "b.md"]


def test_hidden_and_excluded_folders_are_not_entered(tmp_path: Path) -> None:
    touch(tmp_path, "post.md", ".git/x.md", ".obsidian/y.md", "node_modules/pkg/readme.md")
    touch(tmp_path, "docs/node_modules/z.md", "docs/.hidden.md")

    # Hidden files are taken (a folder's name decides, not a file's); node_modules anywhere
    # below the root is only skipped at the root, as the glob says.
    assert found(tmp_path) == ["docs/.hidden.md", "docs/node_modules/z.md", "post.md"]


def test_include_globs_span_folders_only_with_double_stars(tmp_path: Path) -> None:
    touch(tmp_path, "top.md", "docs/a.md", "docs/deep/b.md")

    assert found(tmp_path, include=("docs/*.md",)) == ["docs/a.md"]
    assert found(tmp_path, include=("docs/**/*.md",)) == ["docs/a.md", "docs/deep/b.md"]
    assert found(tmp_path, include=()) == []


def test_linked_folders_are_not_followed_and_a_linked_file_is_taken_once(tmp_path: Path) -> None:
    touch(tmp_path, "posts/a.md", "elsewhere/b.md")
    os.symlink(tmp_path / "posts", tmp_path / "loop")  # a folder link: not entered
    os.symlink(tmp_path / "posts" / "a.md", tmp_path / "alias.md")  # the same file again
    os.symlink(tmp_path / "elsewhere" / "b.md", tmp_path / "posts" / "b.md")

    assert found(tmp_path, tmp_path / "posts", tmp_path / "alias.md") == [
        "posts/a.md",
        "posts/b.md",
    ]


def test_files_are_sorted_name_by_name_as_lists_of_names_sort() -> None:
    found = {
        p: False
        for p in ["/r/a/b.md", "/r/a.b/c.md", "/r/a-b.md", "/r/a/a.md", "/r/a b/z.md", "/r/a.md"]
    }
    assert discover._each_file_once(found) == sorted(found, key=lambda p: p.split("/"))
