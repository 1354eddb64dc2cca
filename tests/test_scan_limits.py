"""The scanner's caps on hostile Markdown, made small: past one, one problem and no reference."""

from __future__ import annotations

import pytest

from imgsync import scan
from imgsync.markdown import parser
from imgsync.markdown.parser import parse_blocks, parse_inline, scan_parser
from imgsync.scan import scan_markdown

LEFT = ": the file is left as it is; split it into smaller files"


def test_a_file_past_the_lines_cap_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "MAX_LINES", 5)
    assert scan_markdown("![a](a.png)\n" * 4).problems == []
    result = scan_markdown("![a](a.png)\r" * 3 + "x\r\n" * 3)  # lines as markdown-it splits them
    assert result.refs == []
    assert result.problems == [(6, "more than 5 lines in one file" + LEFT)]


def test_past_the_links_cap_at_the_line_where_it_was_passed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parser, "MAX_LINKS", 3)
    text = "![a](a.png) [b](b.png)\n\n![c][c]\n\nsee\n![d](d.png)\n\n[c]: c.png\n"
    result = scan_markdown(text)
    assert result.refs == []
    assert result.problems == [(6, "more than 3 links and images in one file" + LEFT)]
    assert len(scan_markdown(text.replace("[b](b.png)", "")).refs) == 3


def test_past_the_definitions_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parser, "MAX_DEFINITIONS", 2)
    text = "![a][a]\n\n[a]: a.png\n[b]: b.png\n\n> [c]: c.png\n"
    assert scan_markdown(text).problems == [
        (6, "more than 2 reference definitions in one file" + LEFT)
    ]
    assert [ref.raw for ref in scan_markdown(text.replace("> [c]: c.png", "")).refs] == ["a.png"]


def test_past_the_block_tokens_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parser, "MAX_BLOCK_TOKENS", 7)
    result = scan_markdown("![a](a.png)\n\n- b\n- c\n\n# d\n")
    assert result.refs == []
    assert result.problems == [(3, "more than 7 Markdown blocks' tokens in one file" + LEFT)]


def test_past_the_inline_tokens_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parser, "MAX_INLINE_TOKENS", 10)
    result = scan_markdown("![a](a.png)\n\nplain\n*a* *b* *c* *d* *e* *f*\n")
    assert result.refs == []
    assert result.problems == [(4, "more than 10 inline tokens in one block" + LEFT)]


def test_past_the_references_cap_in_one_srcset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "MAX_LINKS", 2)
    result = scan_markdown('text\n\n<img srcset="a.png 1x, b.png 2x, c.png 3x">\n')
    assert result.refs == []
    assert result.problems == [(3, "more than 2 image references in one file" + LEFT)]


@pytest.mark.parametrize(
    "text",
    [
        "![a](a.png) *b* `c` <span>d</span>\n\n| x | ![y](y.png) |\n|---|---|\n| \\| | z |\n",
        "> - ![a][r]\n>   [b]\n\n[r]: r.png\n[b]: <b b.png> 'title'\n\n$x$ and $$y$$\n",
        "# ![h](h.png)\n\nSetext ![s](s.png)\n---\n\n    code ![c](c.png)\n",
    ],
)
def test_one_block_at_a_time_reads_what_markdown_it_reads(text: str) -> None:
    # The scanner reads each block's inline tokens on its own, not from `parse`: the same tokens.
    whole = scan_parser().parse(text, {})
    env: dict[str, object] = {}
    blocks = parse_blocks(text, env)
    assert [(t.type, t.content, t.map) for t in blocks] == [
        (t.type, t.content, t.map) for t in whole
    ]
    for mine, theirs in zip(blocks, whole, strict=True):
        if mine.type == "inline":
            children = parse_inline(mine, env)
            assert [(c.type, c.content, c.attrs, c.meta) for c in children] == [
                (c.type, c.content, c.attrs, c.meta) for c in theirs.children or []
            ]
