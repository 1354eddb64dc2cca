"""Reading and writing destinations: local targets, suffixes, escapes that read back."""

from __future__ import annotations

import html

import pytest
from markdown_it import MarkdownIt

from imgsync.markdown.destinations import (
    IMAGE_EXTENSIONS,
    LocalTarget,
    decode_html_attribute,
    decode_markdown_destination,
    encode_html_attribute,
    encode_markdown_destination,
    join_suffix,
    local_target,
    looks_like_image_path,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("a.png", LocalTarget("a.png", "")),
        ("img/b c.png", LocalTarget("img/b c.png", "")),
        ("my%20pic.png", LocalTarget("my pic.png", "")),
        ("../up/a.png", LocalTarget("../up/a.png", "")),
        ("/rooted/a.png", LocalTarget("/rooted/a.png", "")),
        ("a.png?v=2", LocalTarget("a.png", "?v=2")),
        ("a.png#frag", LocalTarget("a.png", "#frag")),
        ("a.png?v=2#frag", LocalTarget("a.png", "?v=2#frag")),
        ("a.png#f?not-a-query", LocalTarget("a.png", "#f?not-a-query")),
        ("dir\\a.png", LocalTarget("dir/a.png", "")),
        ("C:\\pics\\a.png", LocalTarget("C:/pics/a.png", "")),
        ("C:/pics/a.png", LocalTarget("C:/pics/a.png", "")),
        ("%E6%97%A5.png", LocalTarget("日.png", "")),
        ("https://example.com/a.png", None),
        ("http://example.com/a.png", None),
        ("HTTPS://EXAMPLE.COM/A.PNG", None),
        ("//cdn.example.com/a.png", None),
        ("data:image/png;base64,AAAA", None),
        ("mailto:me@example.com", None),
        ("ftp://example.com/a.png", None),
        ("#anchor", None),
        ("?only-a-query", None),
        ("", None),
        ("folder/", None),
        ("\\\\server\\share\\a.png", None),
        ("/\\server/a.png", None),
    ],
)
def test_local_target(url: str, expected: LocalTarget | None) -> None:
    assert local_target(url) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a.png", True),
        ("A.PNG", True),
        ("x/y.JpEg", True),
        ("a.svg", True),
        ("a.webp", True),
        ("page.md", False),
        ("page.html", False),
        ("noext", False),
        ("dir.png/file", False),
        (".png", True),
    ],
)
def test_looks_like_image_path(path: str, expected: bool) -> None:
    assert looks_like_image_path(path) is expected


def test_image_extensions_are_lowercase_with_dot() -> None:
    assert all(ext.startswith(".") and ext == ext.lower() for ext in IMAGE_EXTENSIONS)


@pytest.mark.parametrize(
    ("url", "suffix", "expected"),
    [
        ("https://h/a.png", "", "https://h/a.png"),
        ("https://h/a.png", "?v=1", "https://h/a.png?v=1"),
        ("https://h/a.png", "#top", "https://h/a.png#top"),
        ("https://h/a.png", "?v=1#top", "https://h/a.png?v=1#top"),
        ("https://h/a.png?sig=x", "?v=1", "https://h/a.png?sig=x&v=1"),
        ("https://h/a.png#host", "?v=1", "https://h/a.png?v=1#host"),
        ("https://h/a.png#host", "#mine", "https://h/a.png#mine"),
        ("https://h/a.png", "?", "https://h/a.png?"),
    ],
)
def test_join_suffix(url: str, suffix: str, expected: str) -> None:
    assert join_suffix(url, suffix) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a.png", "a.png"),
        ("<a b.png>", "a b.png"),
        ("a\\_b.png", "a_b.png"),
        ("a\\b.png", "a\\b.png"),
        ("a&amp;b.png", "a&b.png"),
        ("&#x41;.png", "A.png"),
        ("&#65;.png", "A.png"),
        ("&nosuch;.png", "&nosuch;.png"),
        ("a%20b.png", "a%20b.png"),
        ("<a\\>b.png>", "a>b.png"),
        ("a(1).png", "a(1).png"),
    ],
)
def test_decode_markdown_destination(raw: str, expected: str) -> None:
    assert decode_markdown_destination(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a.png", "a.png"),
        ("a&amp;b.png", "a&b.png"),
        ("a&amp b.png", "a& b.png"),
        ("&#x41;.png", "A.png"),
        ("&#65.png", "A.png"),
        ("a.png?x=1&copy=2", "a.png?x=1&copy=2"),  # legacy entity before `=`: kept
        ("a.png?x=1&copyx", "a.png?x=1&copyx"),  # before a letter: kept
        ("a&copy;.png", "a\u00a9.png"),
        ("a&notin;b", "a\u2209b"),
        ("a&nosuch;b", "a&nosuch;b"),
    ],
)
def test_decode_html_attribute(raw: str, expected: str) -> None:
    assert decode_html_attribute(raw) == expected


AWKWARD_URLS = [
    "https://h/a.png",
    "https://h/a b.png",
    "https://h/a(1).png",
    "https://h/a)b.png",
    "https://h/((a).png",
    "https://h/" + "(" * 40 + "deep" + ")" * 40 + ".png",
    "https://h/a\\b.png",
    "https://h/a\\(b.png",
    "https://h/trailing\\",
    "https://h/a&amp;b.png",
    "https://h/&#x41;.png",
    "https://h/&#00000065;.png",
    "https://h/a&b.png?x=1&y=2",
    "https://h/a|b.png",
    "https://h/<a>.png",
    "<starts-with-angle.png",
    "https://h/a\"q'.png",
    "https://h/`x`.png",
    "https://h/ü/日本.png",
    "https://h/a.png#frag",
    "https://h/a\tb.png",
    "",
]


@pytest.mark.parametrize("url", AWKWARD_URLS)
@pytest.mark.parametrize("angle", [False, True])
@pytest.mark.parametrize("in_table", [False, True])
def test_markdown_destination_reads_back(url: str, angle: bool, in_table: bool) -> None:
    written = encode_markdown_destination(url, angle=angle)
    assert "|" not in written  # a table cell around it stays whole
    if angle:
        assert written.startswith("<") and written.endswith(">")
    md = MarkdownIt("commonmark").enable("table")
    text = f'![alt]({written} "title")\n'
    if in_table:
        text = f"| h | i |\n|---|---|\n| {text.strip()} | x |\n"
    images = [
        child
        for token in md.parse(text)
        if token.type == "inline"
        for child in token.children or []
        if child.type == "image"
    ]
    assert len(images) == 1
    assert images[0].attrs["src"] == md.normalizeLink(url)
    assert images[0].attrs["title"] == "title"


def test_bare_destination_kept_bare_when_possible() -> None:
    assert encode_markdown_destination("https://h/a(1).png", angle=False) == "https://h/a(1).png"
    assert encode_markdown_destination("https://h/a b.png", angle=False) == "<https://h/a b.png>"
    assert encode_markdown_destination("https://h/a)b.png", angle=False) == "https://h/a\\)b.png"


def test_markdown_destination_cannot_hold_a_line_break() -> None:
    with pytest.raises(ValueError, match="line break"):
        encode_markdown_destination("https://h/a\nb.png", angle=False)


@pytest.mark.parametrize("url", [u for u in AWKWARD_URLS if u])
@pytest.mark.parametrize("quoted", [True, False])
def test_html_attribute_reads_back(url: str, quoted: bool) -> None:
    written = encode_html_attribute(url, quoted=quoted)
    assert html.unescape(written) == url
    assert decode_html_attribute(written) == url
    assert not set(written) & set("\"'<>|")
    if not quoted:
        assert not set(written) & set("=` \t\n")


def test_html_attribute_escapes_ampersand_as_amp() -> None:
    assert encode_html_attribute("https://h/a.png?x=1&y=2") == "https://h/a.png?x=1&amp;y=2"
    assert encode_html_attribute("https://h/a.png?x=1", quoted=False) == "https://h/a.png?x&#61;1"
