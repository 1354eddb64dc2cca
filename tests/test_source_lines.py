"""SourceLines: the text's lines as markdown-it splits them (at CR LF, CR and LF)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from imgsync.markdown.source_lines import SourceLines

PIECES = st.lists(st.sampled_from(["a", "b c", " ", "\t", "\n", "\r", "\r\n", "\n\n", "é", "\0"]))


def split_by_hand(text: str) -> tuple[list[int], list[int]]:
    """Each line's start and end, found one character at a time."""
    starts, ends = [0], []
    at = 0
    while at < len(text):
        if text[at] in "\r\n":
            ends.append(at)
            at += 2 if text.startswith("\r\n", at) else 1
            starts.append(at)
        else:
            at += 1
    ends.append(len(text))
    return starts, ends


@given(PIECES)
def test_lines_are_found_at_every_kind_of_break(pieces: list[str]) -> None:
    text = "".join(pieces)

    lines = SourceLines(text)

    assert (lines.starts, lines.ends) == split_by_hand(text)


@given(PIECES)
def test_line_text_is_the_text_between_breaks(pieces: list[str]) -> None:
    text = "".join(pieces)
    lines = SourceLines(text)

    got = [lines.line_text(index) for index in range(len(lines.starts))]

    expected = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    assert got == [line.replace("\0", "\ufffd") for line in expected]
