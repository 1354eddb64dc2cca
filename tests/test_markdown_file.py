"""Markdown files in and out: bytes kept, not-UTF-8 refused with the line, atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imgsync.errors import MarkdownError
from imgsync.markdown.text_file import read_markdown, write_markdown


@pytest.mark.parametrize(
    "data",
    [
        b"# T\r\n\r\n![a](a.png)\r\n",
        b"\xef\xbb\xbf# BOM\n![a](a.png)",
        b"no final newline ![a](a.png)   ",
        b"mixed\r\nendings\rhere\n",
        "caf\u00e9 \u2603 ![\u56fe](\u56fe.png)\n".encode(),
    ],
)
def test_round_trip_is_byte_identical(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "a.md"
    path.write_bytes(data)

    markdown = read_markdown(path)

    assert markdown.encode(markdown.text) == data
    assert write_markdown(markdown, markdown.text) is False  # unchanged: not written


def test_write_replaces_atomically_and_keeps_bom_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_bytes(b"\xef\xbb\xbf![a](a.png)\r\n")
    os.chmod(path, 0o640)
    markdown = read_markdown(path)

    assert write_markdown(markdown, markdown.text.replace("a.png", "https://h/x.png")) is True

    assert path.read_bytes() == b"\xef\xbb\xbf![a](https://h/x.png)\r\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md"]


@pytest.mark.parametrize(
    ("data", "line", "words"),
    [
        (b"line one\nline two caf\xe9\n", 2, "is not valid UTF-8 (byte 0xe9"),
        (b"\xff\xfe#\x00 \x00", 1, "is UTF-16"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\x00", 1, "looks like a binary file"),
    ],
)
def test_undecodable_files_are_refused_with_file_and_line(
    tmp_path: Path, data: bytes, line: int, words: str
) -> None:
    path = tmp_path / "bad.md"
    path.write_bytes(data)

    with pytest.raises(MarkdownError) as caught:
        read_markdown(path)

    assert caught.value.line == line
    assert words in caught.value.reason
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_a_read_only_file_is_left_alone_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "locked.md"
    path.write_bytes(b"![a](a.png)\n")
    os.chmod(path, 0o444)
    markdown = read_markdown(path)

    with pytest.raises(MarkdownError) as caught:
        write_markdown(markdown, "![a](https://h/a.png)\n")

    assert "is read-only; left unchanged" in caught.value.reason
    assert path.read_bytes() == b"![a](a.png)\n"


def test_a_file_saved_meanwhile_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "post.md"
    path.write_bytes(b"![a](a.png)\n")
    markdown = read_markdown(path)
    path.write_bytes(b"![a](a.png)\nA sentence typed while the image went up.\n")

    with pytest.raises(MarkdownError) as caught:
        write_markdown(markdown, "![a](https://h/a.png)\n")

    assert "changed while imgsync worked on it" in caught.value.reason
    assert path.read_bytes() == b"![a](a.png)\nA sentence typed while the image went up.\n"


def test_a_link_that_leads_outside_the_project_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "outside.md").write_bytes(b"![a](a.png)\n")
    project = tmp_path / "repo"
    (project / "docs").mkdir(parents=True)
    (project / "docs" / "in.md").symlink_to("../real.md")
    (project / "real.md").write_bytes(b"![b](b.png)\n")
    (project / "out.md").symlink_to("../outside.md")

    with pytest.raises(MarkdownError) as caught:
        read_markdown(project / "out.md", project=project)

    assert str(caught.value) == (
        f"{project / 'out.md'}: refused: it is a symbolic link that leads outside {project},"
        " where imgsync never reads or writes"
    )
    assert read_markdown(project / "docs" / "in.md", project=project).text == "![b](b.png)\n"
    with pytest.raises(MarkdownError, match="refused"):  # by default, its own folder bounds it
        read_markdown(project / "docs" / "in.md")


def test_a_file_that_became_a_link_leading_outside_is_not_written(tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_bytes(b"![a](a.png)\n")
    project = tmp_path / "repo"
    project.mkdir()
    path = project / "post.md"
    path.write_bytes(b"![a](a.png)\n")
    markdown = read_markdown(path, project=project)
    path.unlink()
    path.symlink_to(outside)  # the same bytes, elsewhere: only the link tells

    with pytest.raises(MarkdownError) as caught:
        write_markdown(markdown, "![a](https://h/a.png)\n")

    assert caught.value.reason.startswith("refused: it is a symbolic link that leads outside")
    assert outside.read_bytes() == b"![a](a.png)\n"
    assert path.is_symlink()
