"""rewrite_markdown: only destinations change, each reads back as its new URL."""

from __future__ import annotations

import dataclasses

import pytest

from imgsync.errors import RewriteRefused
from imgsync.markdown.destinations import join_suffix, local_target
from imgsync.rewrite import Replacement, rewrite_markdown
from imgsync.scan import scan_markdown


def sync(text: str, url: str = "https://img.test/x.png") -> str:
    """Point every local reference of `text` at `url` (with its own query and fragment)."""
    replacements = []
    for ref in scan_markdown(text).local_refs:
        target = local_target(ref.url)
        assert target is not None
        replacements.append(Replacement(ref, join_suffix(url, target.suffix)))
    return rewrite_markdown(text, replacements)


@pytest.mark.parametrize(
    ("text", "url", "expected"),
    [
        ("![a](b.png)", "https://h/x.png", "![a](https://h/x.png)"),
        ('![a](b.png "t")\n', "https://h/x.png", '![a](https://h/x.png "t")\n'),
        ("![a](<b c.png>)", "https://h/x.png", "![a](<https://h/x.png>)"),
        ("![a](b.png)", "https://h/a b.png", "![a](<https://h/a b.png>)"),
        ("![a](b.png)", "https://h/a(1).png", "![a](https://h/a(1).png)"),
        ("![a](b.png)", "https://h/a)b.png", "![a](https://h/a\\)b.png)"),
        ("![a](<b.png>)", "https://h/a>b.png", "![a](<https://h/a&gt;b.png>)"),
        # a backtick would close the code span the link text opens: `[`](...`...)`
        ("[`](a.png)", "https://h/`x`.png", "[`](https://h/&#96;x&#96;.png)"),
        ("[<b title='](a.png)", "https://h/'>.png", "[<b title='](https://h/&#39;&gt;.png)"),
        ("![a](b.png)", "https://h/a\\_b.png", "![a](https://h/a\\\\_b.png)"),
        ("![a](b.png)", "https://h/a\\b.png", "![a](https://h/a\\b.png)"),
        ("![a](b.png)", "https://h/&amp;.png", "![a](https://h/\\&amp;.png)"),
        ("![a](b.png)", "https://h/a|b.png", "![a](https://h/a&#124;b.png)"),
        ("![a](b.png?v=1#top)", "https://h/x.png", "![a](https://h/x.png?v=1#top)"),
        ("![a](b.png#top)", "https://h/x.png?sig=1", "![a](https://h/x.png?sig=1#top)"),
        ("![a][r]\n\n[r]: b.png 't'\n", "https://h/x.png", "![a][r]\n\n[r]: https://h/x.png 't'\n"),
        (
            "![a][r]\n\n[r]: <b c.png>\n",
            "https://h/x y.png",
            "![a][r]\n\n[r]: <https://h/x y.png>\n",
        ),
        ("[![t](a.png)](a.png)", "https://h/x.png", "[![t](https://h/x.png)](https://h/x.png)"),
        ('<img src="a.png">', "https://h/x.png?a=1&b=2", '<img src="https://h/x.png?a=1&amp;b=2">'),
        ("<img src='a.png'>", "https://h/x'y.png", "<img src='https://h/x&#39;y.png'>"),
        ("<img src=a.png>", "https://h/x.png?a=1", "<img src=https://h/x.png?a&#61;1>"),
        ("x <img src=a.png> y", "https://h/a b.png", "x <img src=https://h/a&#32;b.png> y"),
        (
            '<img srcset="a.png 1x, b.png 2x">',
            "https://h/x.png",
            '<img srcset="https://h/x.png 1x, https://h/x.png 2x">',
        ),
        (
            "| ![a](a.png) | b |\n|---|---|\n",
            "https://h/a|b.png",
            "| ![a](https://h/a&#124;b.png) | b |\n|---|---|\n",
        ),
        (
            "| ![a](p\\|q.png) | b |\n|---|---|\n",
            "https://h/x.png",
            "| ![a](https://h/x.png) | b |\n|---|---|\n",
        ),
    ],
)
def test_new_destination_is_written_to_read_back(text: str, url: str, expected: str) -> None:
    new_text = sync(text, url)
    assert new_text == expected
    old_refs = scan_markdown(text).refs
    new_refs = scan_markdown(new_text).refs
    assert [ref.url for ref in new_refs] == [
        join_suffix(url, target.suffix) if (target := local_target(ref.url)) else ref.url
        for ref in old_refs
    ]


@pytest.mark.parametrize(
    "text",
    [
        "![a](b.png)  \r\n![c](d.png)\t\r\ntrailing  ",
        "\ufeff![a](b.png)\rno final newline",
        "> ![a](b.png)   \n>\n> text\t\n",
        "# ![a](b.png) #\r\n\r\n| ![x](y.png) |\r\n|---|\r\n",
    ],
)
def test_everything_but_destinations_is_kept(text: str) -> None:
    new_text = sync(text)
    refs = scan_markdown(text).local_refs
    cursor, kept, new_cursor = 0, [], 0
    for ref in refs:
        kept.append(text[cursor : ref.start])
        cursor = ref.end
    kept.append(text[cursor:])
    for piece in kept:
        found = new_text.find(piece, new_cursor)
        assert found != -1
        new_cursor = found + len(piece)
    assert new_text.count("\r\n") == text.count("\r\n")
    assert new_text.endswith(text[refs[-1].end :])


@pytest.mark.parametrize(
    "text",
    [
        "no images at all\r\n",
        "![a](https://x/b.png) and `![c](d.png)`\n",
        "```\n![a](b.png)\n```\n<!-- <img src=a.png> -->\n",
    ],
)
def test_nothing_changes_without_replacements(text: str) -> None:
    assert rewrite_markdown(text, []) is text
    assert sync(text) == text


def test_only_the_named_reference_changes() -> None:
    text = "![a](b.png) ![a](b.png)\n"
    _first, second = scan_markdown(text).refs
    assert rewrite_markdown(text, [Replacement(second, "https://h/x.png")]) == (
        "![a](b.png) ![a](https://h/x.png)\n"
    )


def test_overlapping_replacements_are_refused() -> None:
    text = "![a](b.png)\n"
    (ref,) = scan_markdown(text).refs
    twin = dataclasses.replace(ref, start=ref.start + 1, raw=text[ref.start + 1 : ref.end])
    with pytest.raises(RewriteRefused, match="overlap"):
        rewrite_markdown(text, [Replacement(ref, "https://h/x"), Replacement(twin, "https://h/y")])


def test_stale_reference_is_refused() -> None:
    (ref,) = scan_markdown("![a](b.png)\n").refs
    with pytest.raises(RewriteRefused, match="changed since"):
        rewrite_markdown("![a](c.png)\n", [Replacement(ref, "https://h/x.png")])


def test_reference_with_same_text_elsewhere_is_refused() -> None:
    (ref,) = scan_markdown("![a](b.png)\n").refs
    text = "`![a](b.png)`\n"
    moved = dataclasses.replace(ref, start=ref.start + 1, end=ref.end + 1)
    assert text[moved.start : moved.end] == moved.raw
    with pytest.raises(RewriteRefused):
        rewrite_markdown(text, [Replacement(moved, "https://h/x.png")])


def test_url_with_line_break_is_refused() -> None:
    (ref,) = scan_markdown("![a](b.png)\n").refs
    with pytest.raises(RewriteRefused, match="line break"):
        rewrite_markdown("![a](b.png)\n", [Replacement(ref, "https://h/x\n.png")])


def test_srcset_url_with_space_is_refused() -> None:
    text = '<img srcset="a.png 1x">\n'
    (ref,) = scan_markdown(text).refs
    with pytest.raises(RewriteRefused, match="srcset"):
        rewrite_markdown(text, [Replacement(ref, "https://h/a b.png")])


def test_pipe_in_url_does_not_turn_a_paragraph_into_a_table() -> None:
    text = "![a](\nb.png)\n-|-\n"
    (ref,) = scan_markdown(text).refs
    new_text = rewrite_markdown(text, [Replacement(ref, "https://h/x|y.png")])
    assert new_text == "![a](\nhttps://h/x&#124;y.png)\n-|-\n"


def test_reference_of_the_wrong_kind_is_refused() -> None:
    text = "![a](b.png)\n"
    (ref,) = scan_markdown(text).refs
    wrong = dataclasses.replace(ref, kind="html")  # would be written as an HTML attribute
    with pytest.raises(RewriteRefused, match="stale"):
        rewrite_markdown(text, [Replacement(wrong, "https://h/a b.png")])
