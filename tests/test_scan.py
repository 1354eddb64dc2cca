"""scan_markdown on every form of image and link, and on what only looks like one."""

from __future__ import annotations

import pytest

from imgsync.markdown.destinations import local_target
from imgsync.scan import ImageRef, ScanResult, may_contain_references, scan_markdown

# (kind, raw, url, line, is_local) of each reference, in document order.
Row = tuple[str, str, str, int, bool]


def scanned(text: str) -> tuple[ScanResult, list[Row]]:
    result = scan_markdown(text)
    for ref in result.refs:
        assert text[ref.start : ref.end] == ref.raw
    assert [ref.start for ref in result.refs] == sorted(ref.start for ref in result.refs)
    return result, [(r.kind, r.raw, r.url, r.line, r.is_local) for r in result.refs]


INLINE = [
    ("![a](b.png)", [("image", "b.png", "b.png", 1, True)]),
    ('![a](b.png "double")', [("image", "b.png", "b.png", 1, True)]),
    ("![a](b.png 'single')", [("image", "b.png", "b.png", 1, True)]),
    ("![a](b.png (parens))", [("image", "b.png", "b.png", 1, True)]),
    ("![a](  b.png  )", [("image", "b.png", "b.png", 1, True)]),
    ("![a](<my pic.png>)", [("image", "<my pic.png>", "my pic.png", 1, True)]),
    ('![a](<my pic.png> "t")', [("image", "<my pic.png>", "my pic.png", 1, True)]),
    ("![a](<>)", []),
    ("![a]()", []),
    ("![a](a\\_b.png)", [("image", "a\\_b.png", "a_b.png", 1, True)]),
    ("![a](a\\(b.png)", [("image", "a\\(b.png", "a(b.png", 1, True)]),
    ("![a](a&amp;b.png)", [("image", "a&amp;b.png", "a&b.png", 1, True)]),
    ("![a](&#x41;.png)", [("image", "&#x41;.png", "A.png", 1, True)]),
    ("![a](my%20pic.png)", [("image", "my%20pic.png", "my%20pic.png", 1, True)]),
    ("![a](a(1).png)", [("image", "a(1).png", "a(1).png", 1, True)]),
    ("![a](a.png?v=1#top)", [("image", "a.png?v=1#top", "a.png?v=1#top", 1, True)]),
    ("![a](/rooted/a.png)", [("image", "/rooted/a.png", "/rooted/a.png", 1, True)]),
    ("![a](../up/a.png)", [("image", "../up/a.png", "../up/a.png", 1, True)]),
    ("![a](noext)", [("image", "noext", "noext", 1, True)]),
    ('![a](\n  b.png\n  "t")', [("image", "b.png", "b.png", 2, True)]),
    ("![*em* `c`](b.png)", [("image", "b.png", "b.png", 1, True)]),
    ("![a](b.png) ![a](b.png)", [("image", "b.png", "b.png", 1, True)] * 2),
    # `![a](b c.png)`: a space ends a bare destination, so no image; Typora's raw-space
    # images are reported or hosted: tests/test_typora.py
]

REFERENCES = [
    ("![a][Ref]\n\n[ref]: b.png\n", [("definition", "b.png", "b.png", 3, True)]),
    ("![Ref][]\n\n[REF]: b.png\n", [("definition", "b.png", "b.png", 3, True)]),
    ("![Ref]\n\n[rEf]: b.png\n", [("definition", "b.png", "b.png", 3, True)]),
    ("![\u1e9e]\n\n[ss]: b.png\n", [("definition", "b.png", "b.png", 3, True)]),
    ("![a][my\nref]\n\n[My   Ref]: b.png\n", [("definition", "b.png", "b.png", 4, True)]),
    ("[r]: b.png\n\n![a][r]\n", [("definition", "b.png", "b.png", 1, True)]),
    ('![a][r]\n\n[r]:\n  b.png\n  "title"\n', [("definition", "b.png", "b.png", 4, True)]),
    ("![a][r]\n\n[r]: <my b.png> 't'\n", [("definition", "<my b.png>", "my b.png", 3, True)]),
    ("![a][r]\n\n> [r]: b.png\n", [("definition", "b.png", "b.png", 3, True)]),
    ("![a][r]\n\n- [r]: b.png\n", [("definition", "b.png", "b.png", 3, True)]),
    ("![a][r]\n\n> - > [r]:\n>   >   b.png\n", [("definition", "b.png", "b.png", 4, True)]),
    (
        "![a][r]\n\n[r]: first.png\n[r]: second.png\n",
        [("definition", "first.png", "first.png", 3, True)],
    ),
    ("![a][r] ![b][r]\n\n[r]: b.png\n", [("definition", "b.png", "b.png", 3, True)]),
    ("[r]: b.png\n", []),  # never used
    # used only by links: a link destination, local when it names an image file
    ("[t][r]\n\n[r]: page.html\n", [("link", "page.html", "page.html", 3, False)]),
    ("[t][r]\n\n[r]: pic.PNG?v=2\n", [("link", "pic.PNG?v=2", "pic.PNG?v=2", 3, True)]),
    (
        "[t][r]\n\n[r]: https://x/a.png\n",
        [("link", "https://x/a.png", "https://x/a.png", 3, False)],
    ),
    ("[t][r] ![i][R]\n\n[r]: a.png\n", [("definition", "a.png", "a.png", 3, True)]),
    (
        "![a][r]\n\n[r]: https://x/b.png\n",
        [("definition", "https://x/b.png", "https://x/b.png", 3, False)],
    ),
    ("![a][nope]\n", []),
    # a definition can't interrupt a paragraph: this one is paragraph text
    ("foo\n[r]: b.png\n\n![r]\n", []),
    # `[t](not a link)` falls back to the reference `[t]`; its definition counts
    ("[t](not a link)\n\n[t]: b.png\n", [("link", "b.png", "b.png", 3, True)]),
    ("[t](a.png b)\n\n[t]: page.html\n", [("link", "page.html", "page.html", 3, False)]),
]

LINKS = [
    (
        "[![t](a.png)](a.png)",
        [("image", "a.png", "a.png", 1, True), ("link", "a.png", "a.png", 1, True)],
    ),
    (
        "[![t](thumb.png)](https://x/full.png)",
        [
            ("image", "thumb.png", "thumb.png", 1, True),
            ("link", "https://x/full.png", "https://x/full.png", 1, False),
        ],
    ),
    ("[doc](page.md)", [("link", "page.md", "page.md", 1, False)]),
    ("[pic](pics/A.PNG)", [("link", "pics/A.PNG", "pics/A.PNG", 1, True)]),
    ("[pic](pics/a.svg#x)", [("link", "pics/a.svg#x", "pics/a.svg#x", 1, True)]),
    ("[top](#top)", [("link", "#top", "#top", 1, False)]),
    # an image in alt text is not rendered as an image: not a reference
    ("![![inner](in.png)](out.png)", [("image", "out.png", "out.png", 1, True)]),
]

BLOCKS = [
    ("# Title ![a](b.png) ##", [("image", "b.png", "b.png", 1, True)]),
    ("###\t![a](b.png)\t###  ", [("image", "b.png", "b.png", 1, True)]),
    ("  ## ![a](#b.png) #", [("image", "#b.png", "#b.png", 1, False)]),
    ("![a](b.png)\n===", [("image", "b.png", "b.png", 1, True)]),
    ("x\n![a](b.png)  \n---\n", [("image", "b.png", "b.png", 2, True)]),
    (
        "| a | b |\n|---|---|\n| ![x](a.png) \\| y | ![x](a.png) |\n",
        [("image", "a.png", "a.png", 3, True)] * 2,
    ),
    ("a | b\n--|--\n![x](p\\|q.png) | z\n", [("image", "p\\|q.png", "p|q.png", 3, True)]),
    ("| ![h](h.png) |\n|:-:|\n", [("image", "h.png", "h.png", 1, True)]),
    (
        "- ![a](b.png)\n  - ![c](d.png)\n",
        [("image", "b.png", "b.png", 1, True), ("image", "d.png", "d.png", 2, True)],
    ),
    ("1. x\n\n   ![a](b.png)\n", [("image", "b.png", "b.png", 3, True)]),
    (
        "> ![a](b.png)\n> > ![c](d.png)\n",
        [("image", "b.png", "b.png", 1, True), ("image", "d.png", "d.png", 2, True)],
    ),
    ("> foo\n![a](b.png)\n", [("image", "b.png", "b.png", 2, True)]),
    ("> - foo\n![a](b.png)\n", [("image", "b.png", "b.png", 2, True)]),
    ("-\t![a](b.png)\n", [("image", "b.png", "b.png", 1, True)]),
    (">\t![a](b.png)\n", [("image", "b.png", "b.png", 1, True)]),
    (" -\t\t![a](b.png)\n", []),  # indented code inside the item
    ("\u2003\n![a](b.png)\n", [("image", "b.png", "b.png", 2, True)]),
    ("![a](b.png)\n\u3000\n", [("image", "b.png", "b.png", 1, True)]),
    (
        "![a](a.png)\r\n![b](b.png)\r\n",
        [("image", "a.png", "a.png", 1, True), ("image", "b.png", "b.png", 2, True)],
    ),
    (
        "![a](a.png)\r![b](b.png)\r",
        [("image", "a.png", "a.png", 1, True), ("image", "b.png", "b.png", 2, True)],
    ),
    ("x\r\n\r\n[r]: \r\n  b.png\r\n\r\n![r]", [("definition", "b.png", "b.png", 4, True)]),
    ("\0 ![a](b.png)\0", [("image", "b.png", "b.png", 1, True)]),
    ("![a](b\0.png)", [("image", "b\0.png", "b\ufffd.png", 1, True)]),
    ("日本語 ![a](b.png)", [("image", "b.png", "b.png", 1, True)]),
    ("😀😀 ![😀](😀.png)", [("image", "😀.png", "😀.png", 1, True)]),
]

HTML = [
    ('<div>\n<img src="a.png">\n</div>', [("html", "a.png", "a.png", 2, True)]),
    ("foo <img src='a.png'> bar", [("html", "a.png", "a.png", 1, True)]),
    ("foo <img src=a.png> bar", [("html", "a.png", "a.png", 1, True)]),
    ('<IMG SRC="a.png">', [("html", "a.png", "a.png", 1, True)]),
    ('<img alt="x"\n     src="a.png" />', [("html", "a.png", "a.png", 2, True)]),
    ('<img src="a&amp;b.png">', [("html", "a&amp;b.png", "a&b.png", 1, True)]),
    ('<img src=" a.png ">', [("html", "a.png", "a.png", 1, True)]),
    ('<img src="a.png" src="b.png">', [("html", "a.png", "a.png", 1, True)]),
    ('<img src="">', []),
    (
        '<img srcset="a.png 1x, b.png 2x">',
        [("html", "a.png", "a.png", 1, True), ("html", "b.png", "b.png", 1, True)],
    ),
    (
        '<img src="a.png" srcset="a@2.png 2x,https://x/b.png 3x">',
        [
            ("html", "a.png", "a.png", 1, True),
            ("html", "a@2.png", "a@2.png", 1, True),
            ("html", "https://x/b.png", "https://x/b.png", 1, False),
        ],
    ),
    ('<img src="https://x/a.png">', [("html", "https://x/a.png", "https://x/a.png", 1, False)]),
    (
        '<p align="center">\n  <img src="a.png" width="50%">\n</p>',
        [("html", "a.png", "a.png", 2, True)],
    ),
    ("- <img src=a.png>\n", [("html", "a.png", "a.png", 1, True)]),
    ("> <div>\n> <img src=a.png>\n", [("html", "a.png", "a.png", 2, True)]),
    ('| <img src="a.png"> |\n|---|\n', [("html", "a.png", "a.png", 1, True)]),
    ('<!-- <img src="a.png"> -->', []),
    ('foo <!-- <img src="a.png"> --> bar', []),
    ('<!--\n<img src="a.png">\n-->\n<img src="b.png">', [("html", "b.png", "b.png", 4, True)]),
    ("<script>\nvar s = '<img src=\"a.png\">';\n</script>", []),
    ('<style>\n/* <img src="a.png"> */\n</style>', []),
    ('x <script> <img src="a.png"> </script>', []),
    (
        '<div>\n<script>\n\n<img src="a.png">\n\n</script>\n\n<img src="b.png">',
        [("html", "b.png", "b.png", 8, True)],
    ),
    ('<imgx src="a.png">', []),
    ("<img\tsrc=a.png>", [("html", "a.png", "a.png", 1, True)]),
]

NOT_REFERENCES = [
    # math is never touched: an image inside it is TeX text
    ("$![a](b.png)$", []),
    ("$$![a](b.png)$$ inline", []),
    ("$$\n![a](b.png)\n$$", []),
    ("$x$ then ![a](b.png)", [("image", "b.png", "b.png", 1, True)]),
    # pandoc's rule: prices are prose, and escaped dollars are not math
    ("It costs $5 ![a](b.png) or $10", [("image", "b.png", "b.png", 1, True)]),
    ("$ ![a](b.png) $", [("image", "b.png", "b.png", 1, True)]),
    ("\\$![a](b.png)\\$", [("image", "b.png", "b.png", 1, True)]),
    ("`![a](b.png)`", []),
    ("``<img src='a.png'>``", []),
    ("```\n![a](b.png)\n```", []),
    ("~~~md\n![a](b.png)\n~~~", []),
    ("    ![a](b.png)", []),
    ("\t![a](b.png)", []),
    ("<!-- ![a](b.png) -->", []),
    ("<https://x/a.png>", []),
    ("<a.png>", []),
    ("\\![a](b.png)", [("link", "b.png", "b.png", 1, True)]),  # now a link to the image
    ("!\\[a](b.png)", []),
    ("![a\\](b.png)", []),
    ("plain text, no images", []),
    ("![a](https://x/b.png)", [("image", "https://x/b.png", "https://x/b.png", 1, False)]),
    ("![a](http://x/b.png)", [("image", "http://x/b.png", "http://x/b.png", 1, False)]),
    ("![a](//x/b.png)", [("image", "//x/b.png", "//x/b.png", 1, False)]),
    (
        "![a](data:image/png;base64,AAAA)",
        [("image", "data:image/png;base64,AAAA", "data:image/png;base64,AAAA", 1, False)],
    ),
    ("![a](mailto:x@y.z)", [("image", "mailto:x@y.z", "mailto:x@y.z", 1, False)]),
    ("![a](#anchor)", [("image", "#anchor", "#anchor", 1, False)]),
    ("![a](javascript:alert)", []),  # not a valid link at all
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [pytest.param(t, e, id=repr(t)[:60]) for t, e in INLINE + REFERENCES + LINKS],
)
def test_markdown_forms(text: str, expected: list[Row]) -> None:
    result, rows = scanned(text)
    assert rows == expected
    assert result.problems == []


@pytest.mark.parametrize(
    ("text", "expected"), [pytest.param(t, e, id=repr(t)[:60]) for t, e in BLOCKS]
)
def test_block_contexts(text: str, expected: list[Row]) -> None:
    result, rows = scanned(text)
    assert rows == expected
    assert result.problems == []


@pytest.mark.parametrize(
    ("text", "expected"), [pytest.param(t, e, id=repr(t)[:60]) for t, e in HTML]
)
def test_raw_html(text: str, expected: list[Row]) -> None:
    result, rows = scanned(text)
    assert rows == expected
    assert result.problems == []


@pytest.mark.parametrize(
    ("text", "expected"), [pytest.param(t, e, id=repr(t)[:60]) for t, e in NOT_REFERENCES]
)
def test_not_references(text: str, expected: list[Row]) -> None:
    result, rows = scanned(text)
    assert rows == expected
    assert result.problems == []


def test_two_identical_table_cells_have_distinct_spans() -> None:
    text = "| ![x](a.png) | ![x](a.png) |\n|---|---|\n| ![x](a.png) | ![x](a.png) |\n"
    result, _ = scanned(text)
    assert len({ref.start for ref in result.refs}) == 4


def test_offsets_are_str_offsets_after_non_ascii() -> None:
    text = "ü😀 ![a](b.png)"
    (ref,) = scan_markdown(text).refs
    assert (ref.start, ref.end) == (text.index("b.png"), len(text) - 1)


def test_fields_of_a_reference() -> None:
    (ref,) = scan_markdown("x ![the alt](<a b.png?v=1#f> 't')\n").refs
    assert ref == ImageRef(
        kind="image",
        start=13,
        end=28,
        raw="<a b.png?v=1#f>",
        url="a b.png?v=1#f",
        line=1,
        alt="the alt",
        angle=True,
    )
    target = local_target(ref.url)
    assert target is not None and (target.path, target.suffix) == ("a b.png", "?v=1#f")


def test_html_reference_records_attribute_and_quote() -> None:
    refs = scan_markdown("<img src='a.png' srcset=b.png>\n").refs
    assert [(ref.attribute, ref.quote) for ref in refs] == [("src", "'"), ("srcset", "")]


def test_local_refs_filters_remote_ones() -> None:
    result = scan_markdown("![a](a.png) ![b](https://x/b.png) [p](page.md)")
    assert [ref.url for ref in result.local_refs] == ["a.png"]


def test_unfinished_img_tag_is_a_problem_not_a_guess() -> None:
    result = scan_markdown('<div>\n<img src="a.png"\n\nalt="x">\n')
    assert result.refs == []
    assert [line for line, _ in result.problems] == [2]


def test_srcset_split_by_entities_is_a_problem() -> None:
    result = scan_markdown('<img srcset="a.png&#32;1x,&#32;b.png 2x">\n')
    assert result.refs == []
    assert len(result.problems) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no images here", False),
        ("![a](b.png)", True),
        ("[t][r]", True),
        ("[t]: x", True),
        ("[t] (x)", True),
        ("<IMG src=x>", True),
        ("`code` and *em*", False),
    ],
)
def test_may_contain_references(text: str, expected: bool) -> None:
    assert may_contain_references(text) is expected


def test_pipe_that_alone_makes_a_table_head_row_is_a_problem() -> None:
    # Rewritten, `p\|q.png` would leave no `|` on the line: no table any more.
    result = scan_markdown("[0](p\\|q.png)\n---\n")
    assert result.refs == []
    assert [line for line, _ in result.problems] == [1]
    (ref,) = scan_markdown("| [0](p\\|q.png) |\n|---|\n").refs
    assert ref.url == "p|q.png"


def test_comment_left_open_in_a_list_item_hides_what_follows() -> None:
    # The browser reads `<!--` to the next `-->`, across the list's end.
    text = "> 1.\t<!--\n> \t<img src='a.png'>\n> \t-->\n> \n> \t<img src='b.png'>\n"
    assert [ref.url for ref in scan_markdown(text).refs] == ["b.png"]


def test_tag_left_open_by_a_block_hides_the_next_img() -> None:
    # `<A](a.png)` is a tag named `a](a.png)`: its attributes run into the next line.
    text = "<!-- x --> [<A](a.png)\n<img srcset='a.png 1x'> <img src='b.png'>\n"
    assert [ref.url for ref in scan_markdown(text).refs] == ["b.png"]


def test_quoted_value_left_open_by_a_block_hides_what_follows() -> None:
    # The title's quote is never closed in raw HTML (Markdown text renders `"` as &quot;).
    text = "<div title=\"a\n\n<img src='x.png'>\n\n\" done\n\n<img src='y.png'>\n"
    assert scan_markdown(text).refs == []
    closed = "<div title=\"a\n\n<img src='x.png'>\n\n<b title=\"x\">\n\n<img src='y.png'>\n"
    assert [ref.url for ref in scan_markdown(closed).refs] == ["y.png"]
