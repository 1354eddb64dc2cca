"""Property tests: scan and rewrite generated Markdown documents of every shape.

The oracle is markdown-it's own token stream and Python's HTML parser, not the
code under test: after rewriting every local reference, the new document must
parse to the same tokens except for image sources, links to local images and
raw `<img>` sources, which must read as the new URLs.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from imgsync.markdown.destinations import join_suffix, local_target, looks_like_image_path
from imgsync.rewrite import Replacement, format_destination, rewrite_markdown
from imgsync.scan import ImageRef, scan_markdown

# IMGSYNC_PROPERTY_EXAMPLES=5000 for a longer hunt; 200 keeps the suite quick.
SETTINGS = settings(
    max_examples=int(os.environ.get("IMGSYNC_PROPERTY_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
MD = MarkdownIt("commonmark").enable("table")
LABELLED = MarkdownIt("commonmark", {"store_labels": True}).enable("table")  # same parse

# --- documents ---------------------------------------------------------------------

WORD = st.text(
    alphabet=st.sampled_from(
        list("abcxyzABC019") * 4
        + list("éüßΩ日本語😀")
        + ["\u00a0", "\u2003", "\u3000", "\0"]
        + list("*_[]()!`<>&\\|#-.:;'\"=~")
    ),
    min_size=1,
    max_size=6,
    # `<` + letter would start a tag: Python's HTMLParser (the oracle) reads malformed
    # tags differently from a browser (and from imgsync); test_scan covers those.
).map(lambda word: re.sub(r"<(?=[A-Za-z/!?])", "< ", word))
# Written destinations (markdown-it decides what they read as).
LOCAL_DEST = st.sampled_from(
    [
        "a.png",
        "p\\|q.png",
        "<r)s.png>",
        "t\\\\u.png",
        "&quot;v&quot;.png",
        "img/b.jpg",
        "../up/c.gif",
        "/rooted/d.webp",
        "<my pic.png>",
        "<e (1).png>",
        "f(2).png",
        "g\\_h.png",
        "i&amp;j.png",
        "&#x4B;.png",
        "l%20m.png",
        "n.png?x=1&y=2",
        "o.png#frag",
        "<p q.svg?v=2#f>",
        "über/日本.png",
        "R.PNG",
        "s\\(t.png",
        "<u\\>v.png>",
        "noext",
    ]
)
REMOTE_DEST = st.sampled_from(
    ["https://example.com/x.png", "//cdn.example.com/y.png", "data:image/png;base64,AA", "#top"]
)
DEST = st.one_of(LOCAL_DEST, LOCAL_DEST, REMOTE_DEST)
HTML_URL = st.sampled_from(
    ["a.png", "img/b c.jpg", "d&amp;e.png", "f.png?x=1&amp;y=2", "&#x47;.png", "https://x/h.png"]
)
LABEL = st.sampled_from(
    ["ref", "REF", "logo", "my pic", "My  Pic", "\u1e9e", "ss", "1", "a\\]b", "two\nlines"]
)
TITLE = st.sampled_from(["", ' "t"', " 't'", " (t)", '\n"multi line"', ' "a \\" b"'])
PAGE = st.sampled_from(["page.md", "https://example.com/", "#anchor", "doc.html"])


Lines = tuple[list[str], bool]  # a block's lines; True when it ends with paragraph text


@st.composite
def inline_image(draw: st.DrawFn) -> str:
    alt = draw(st.sampled_from(["", "alt", "*em*", "`c`", "ü 😀"]))
    space = draw(st.sampled_from(["", " ", "\n"]))
    return f"![{alt}]({space}{draw(DEST)}{draw(TITLE)})"


@st.composite
def html_img(draw: st.DrawFn) -> str:
    quote = draw(st.sampled_from(['"', "'", ""]))
    url = draw(HTML_URL)
    if not quote:
        url = url.replace(" ", "%20")
    name = draw(st.sampled_from(["img", "IMG"]))
    if draw(st.booleans()):
        second = draw(HTML_URL).replace(" ", "%20")
        srcset = f'srcset="{url.replace(" ", "%20")} 1x, {second} 2x"'
        if draw(st.booleans()):
            return f"<picture><source {srcset} type='image/webp'><{name} alt='x'></picture>"
        return f"<{name} {srcset} alt='x'>"
    form = draw(st.sampled_from(["img", "a", "video"]))
    if form == "a":  # a link to the image beside a figure, or to a page: left as it is
        url = draw(st.one_of(st.just(url), PAGE))
        return f"[<a href={quote}{url}{quote} target='_href_'>PNG</a>]"
    if form == "video":
        return f"<video poster={quote}{url}{quote} controls></video>"
    attr = draw(st.sampled_from(["src", "SRC"]))
    return f"<{name} alt='x' {attr}={quote}{url}{quote}>"


PHRASE = st.one_of(
    WORD,
    WORD,
    inline_image(),
    LABEL.map(lambda label: f"![alt][{label}]"),
    LABEL.map(lambda label: f"![{label}][]"),
    LABEL.map(lambda label: f"![{label}]"),
    st.tuples(WORD, LOCAL_DEST).map(lambda p: f"[{p[0]}]({p[1]})"),
    st.tuples(LOCAL_DEST, LOCAL_DEST).map(lambda p: f"[![t]({p[0]})]({p[1]})"),
    PAGE.map(lambda page: f"[page]({page})"),
    html_img(),
    st.just("<!-- ![a](c.png) <img src='c.png'> -->"),
    st.just("`![code](c.png)`"),
    st.just("``<img src='c.png'>``"),
    st.just("\\![esc](c.png)"),
    st.just("<https://example.com/a.png>"),
    st.just("*em*"),
    st.just('<img\nsrc="c d.png"\nalt="x">'),
    st.tuples(WORD, inline_image()).map(lambda p: f"{p[0]}\t{p[1]}"),
    LABEL.map(lambda label: f"[![in link][{label}]][{label}]"),
    st.tuples(WORD, inline_image()).map(lambda p: f"[a [{p[0]}] {p[1]}](page.md)"),
    inline_image().map(lambda image: f"**{image}**"),
)


@st.composite
def text_line(draw: st.DrawFn) -> str:
    return " ".join(draw(st.lists(PHRASE, min_size=1, max_size=4)))


def lines_of(text: str) -> list[str]:
    return text.split("\n")


@st.composite
def paragraph(draw: st.DrawFn) -> list[str]:
    lines: list[str] = []
    for line in draw(st.lists(text_line(), min_size=1, max_size=3)):
        lines.extend(lines_of(line))
    return lines


@st.composite
def leaf_block(draw: st.DrawFn) -> Lines:
    """Lines of one block, and whether a lazy continuation line may follow them."""
    kind = draw(
        st.sampled_from(
            ["p", "p", "atx", "setext", "fence", "indented", "html", "def", "table", "blank"]
        )
    )
    if kind == "p":
        return draw(paragraph()), True
    return draw(other_leaf(kind)), False


@st.composite
def other_leaf(draw: st.DrawFn, kind: str) -> list[str]:
    if kind == "atx":
        line = draw(text_line()).replace("\n", " ")
        closing = draw(st.sampled_from(["", " #", " ###  "]))
        hashes, gap = "#" * draw(st.integers(1, 6)), draw(st.sampled_from([" ", "\t"]))
        return [f"{hashes}{gap}{line}{closing}"]
    if kind == "setext":
        return [*draw(paragraph()), draw(st.sampled_from(["===", "---", "  ==  "]))]
    if kind == "fence":
        fence = draw(st.sampled_from(["```", "~~~~"]))
        return [fence + draw(st.sampled_from(["", "md"])), *draw(paragraph()), fence]
    if kind == "indented":
        return ["    " + line for line in draw(paragraph())] + ["\t![tab](c.png)"]
    if kind == "html":
        img = draw(html_img())
        return draw(
            st.sampled_from(
                [
                    ["<div>", img, "</div>"],
                    [img],
                    ['<p align="center">', "  " + img, "</p>"],
                    ["<!--", img + " -->"],
                    [f"<!-- {img} -->"],
                    ["<script>", f"var s = '{img}';", "</script>"],
                    ["<style>", f"/* {img} */", "</style>"],
                ]
            )
        )
    if kind == "def":
        label, dest, title = draw(LABEL), draw(DEST), draw(TITLE)
        if draw(st.booleans()):
            return [f"[{label}]:", f"  {dest}", *(lines_of("  " + title.strip()) if title else [])]
        return lines_of(f"[{label}]: {dest}{title}")
    if kind == "table":
        width = draw(st.integers(1, 3))
        rows = draw(
            st.lists(st.lists(cell(), min_size=width, max_size=width), min_size=1, max_size=3)
        )
        head = draw(st.lists(cell(), min_size=width, max_size=width))
        return [
            "| " + " | ".join(head) + " |",
            "|" + "|".join(draw(st.sampled_from(["---", ":-:", "--:"])) for _ in head) + "|",
            *("| " + " | ".join(row) + " |" for row in rows),
        ]
    return [draw(st.sampled_from(["", "  ", "\t"]))]


@st.composite
def cell(draw: st.DrawFn) -> str:
    text = draw(text_line()).replace("\n", " ")
    return text.replace("|", "\\|") if draw(st.booleans()) else text


def block(depth: int) -> st.SearchStrategy[Lines]:
    if depth == 0:
        return leaf_block()
    return st.one_of(leaf_block(), leaf_block(), quote_block(depth), list_block(depth))


@st.composite
def blocks(draw: st.DrawFn, depth: int) -> Lines:
    lines: list[str] = []
    parts = draw(st.lists(block(depth), min_size=1, max_size=3))
    for part, _ in parts:
        if lines:
            lines.append("")
        lines.extend(part)
    return lines, parts[-1][1]


@st.composite
def quote_block(draw: st.DrawFn, depth: int) -> Lines:
    inner, lazy = draw(blocks(depth - 1))
    marker = draw(st.sampled_from(["> ", ">", ">\t", " > "]))
    # a lazy continuation line (no `>`): only after paragraph text
    lazy_last = lazy and len(inner) > 1 and draw(st.booleans())
    out = [marker + line for line in inner]
    if lazy_last:
        out[-1] = inner[-1]
    return out, lazy


@st.composite
def list_block(draw: st.DrawFn, depth: int) -> Lines:
    marker = draw(st.sampled_from(["-", "*", "+", "1.", "2)", "10."]))
    gap = draw(st.sampled_from([" ", "  ", "\t", "\n"]))  # "\n": content starts below
    out: list[str] = []
    lazy = False
    for _ in range(draw(st.integers(1, 3))):
        inner, lazy = draw(blocks(depth - 1))
        indent = "\t" if gap == "\t" else " " * (len(marker) + len(gap.strip("\n") or " "))
        if gap == "\n" and inner[0].strip():
            out.append(marker)
            out.extend((indent + line) if line else "" for line in inner)
        else:
            out.append(marker + gap.strip("\n") + inner[0])
            out.extend((indent + line) if line else "" for line in inner[1:])
    return out, lazy


@st.composite
def documents(draw: st.DrawFn) -> str:
    lines, _ = draw(blocks(2))
    endings = draw(st.sampled_from(["\n", "\r\n", "\r", "mixed"]))
    out = []
    for line in lines:
        trailing = draw(st.sampled_from(["", "", "", " ", "  ", "\t"]))
        ending = draw(st.sampled_from(["\n", "\r\n", "\r"])) if endings == "mixed" else endings
        out.append(line + trailing + ending)
    text = "".join(out)
    if draw(st.booleans()):
        text = text.rstrip("\r\n")
    return text


# --- new URLs ------------------------------------------------------------------------

TEMPLATES = [
    "https://img.test/{h}.png",
    "https://img.test/a b/{h}.png",
    "https://img.test/({h}).png",
    "https://img.test/{h}).png",
    "https://img.test/{h}.png?a=1&b=2",
    "https://img.test/&amp;{h}.png",
    "https://img.test/&#65;{h}.png",
    "https://img.test/a\\{h}.png",
    "https://img.test/a\\_{h}.png",
    "https://img.test/{h}\\",
    "https://img.test/{h}|x.png",
    "https://img.test/<{h}>.png",
    "https://img.test/\"{h}'.png",
    "https://img.test/`{h}`.png",
    "https://img.test/ü/{h}.png",
    "https://img.test/{h},1.png",
    "https://img.test/{h}.png#frag",
]


def new_url(ref: ImageRef) -> str:
    """A hosted URL for `ref`, the same for every reference to the same URL."""
    target = local_target(ref.url)
    assert target is not None
    digest = hashlib.md5(MD.normalizeLink(ref.url).encode()).hexdigest()
    url = join_suffix(
        TEMPLATES[int(digest, 16) % len(TEMPLATES)].format(h=digest[:6]), target.suffix
    )
    if ref.attribute == "srcset":  # a srcset candidate can't hold spaces
        url = "".join(url.split()).strip(",")
    return url


def sync(
    text: str, every_link: bool = True
) -> tuple[str, list[ImageRef], dict[str, dict[str, str]]]:
    """Rewrite every local reference; the URL maps for markdown, `src` and `srcset`.
    `every_link` False: scanned as a sync scans (pipeline.py), and re-checked so."""
    scanned = scan_markdown(text, every_link=every_link)
    refs = scanned.local_refs
    replacements = [Replacement(ref, new_url(ref)) for ref in refs]
    urls: dict[str, dict[str, str]] = {"": {}, "src": {}, "srcset": {}, "poster": {}, "href": {}}
    for ref in refs:
        urls[ref.attribute][ref.url] = new_url(ref)
    return rewrite_markdown(text, replacements, scanned), refs, urls


NO_URLS: dict[str, dict[str, str]] = {"": {}, "src": {}, "srcset": {}, "poster": {}, "href": {}}
# The raw HTML attributes that name images, by element (as a browser reads them).
IMAGE_ATTRIBUTES = {"img": {"src", "srcset"}, "source": {"srcset"}, "video": {"poster"}}

# --- the oracle ----------------------------------------------------------------------


class _Events(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[Any] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("start", tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("start", tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        self.events.append(("end", tag))

    def handle_data(self, data: str) -> None:
        self.events.append(("data", data))

    def handle_comment(self, data: str) -> None:
        self.events.append(("comment", data))


def srcset_words(value: str) -> Iterator[tuple[str, bool]]:
    """The words of a srcset value, URLs (trailing commas cut off) marked True."""
    expect_url = True
    for word in value.split():
        if expect_url and word.rstrip(","):
            yield word.rstrip(","), True
            if word.endswith(","):
                yield ",", False
            expect_url = word.endswith(",")
        else:
            yield word, False
            expect_url = word.endswith(",")


def close_comments(html: str) -> str:
    """A browser ends an unclosed comment at the end of the page; HTMLParser needs the `-->`."""
    start = 0
    while (begin := html.find("<!--", start)) != -1:
        end = html.find("-->", begin + 4)
        if end == -1:
            return html + "-->"
        start = end + 3
    return html


def html_events(html: str, urls: dict[str, dict[str, str]]) -> list[Any]:
    """The browser's reading of `html`, with raw HTML image sources mapped through `urls`
    (an `<a href>` that is no image link keeps its value: only image links are in `urls`)."""
    parser = _Events()
    parser.feed(close_comments(html))
    parser.close()
    events = []
    for event in parser.events:
        if event[0] == "start" and event[1] in ("img", "source", "video", "a"):
            wanted = IMAGE_ATTRIBUTES.get(event[1], {"href"})
            attrs, seen = [], set()
            for name, value in event[2]:
                if name in wanted and name not in seen and value is not None:
                    if name == "srcset":
                        value = " ".join(
                            urls["srcset"].get(word, word) if is_url else word
                            for word, is_url in srcset_words(value)
                        )
                    else:
                        value = urls[name].get(value.strip(" \t\n"), value.strip(" \t\n"))
                seen.add(name)
                attrs.append((name, value))
            event = ("start", event[1], attrs)
        events.append(event)
    return events


def is_image_link(href: object) -> bool:
    target = local_target(str(href))
    return target is not None and looks_like_image_path(target.path)


def walk(tokens: list[Token], in_alt: bool = False) -> Iterator[tuple[Token, bool]]:
    for token in tokens:
        yield token, in_alt
        if token.children:
            yield from walk(token.children, in_alt or token.type == "image")


def check_same_but_urls(old: str, new: str, urls: dict[str, dict[str, str]]) -> None:
    """`new` parses like `old` except that the sources of local images read as `urls` say."""
    md_urls = {MD.normalizeLink(k): MD.normalizeLink(v) for k, v in urls[""].items()}
    old_env: dict[str, Any] = {}
    new_env: dict[str, Any] = {}
    old_tokens, new_tokens = LABELLED.parse(old, old_env), LABELLED.parse(new, new_env)
    old_walk, new_walk = list(walk(old_tokens)), list(walk(new_tokens))
    assert [t.type for t, _ in old_walk] == [t.type for t, _ in new_walk]
    # A definition that an image uses changes for the links that use it too.
    image_labels = {
        t.meta.get("label") for t, in_alt in old_walk if t.type == "image" and not in_alt
    }
    for (before, in_alt), (after, _) in zip(old_walk, new_walk, strict=True):
        same = ("tag", "nesting", "markup", "info", "block", "hidden")
        assert [getattr(before, name) for name in same] == [getattr(after, name) for name in same]
        attrs = dict(before.attrs)
        changes = before.type == "image" or (
            before.type == "link_open"
            and (is_image_link(attrs["href"]) or before.meta.get("label") in image_labels - {None})
        )
        for name in ("src", "href"):
            if name in attrs and not in_alt and changes:
                attrs[name] = md_urls.get(str(attrs[name]), attrs[name])
        assert attrs == after.attrs
        if before.type not in ("inline", "image", "html_block", "html_inline"):
            assert before.content == after.content
        before.attrs = attrs
    # Definitions that no image uses keep their destination; the others change.
    old_defs, new_defs = old_env.get("references", {}), new_env.get("references", {})
    assert old_defs.keys() == new_defs.keys()
    for label, before_def in old_defs.items():
        assert before_def["title"] == new_defs[label]["title"]
        assert new_defs[label]["href"] in (before_def["href"], md_urls.get(before_def["href"]))
    # Rendered whole and read as a browser would (a comment may span blocks), the
    # edited old tokens and the new text differ only in raw <img> sources.
    old_html = MD.renderer.render(old_tokens, MD.options, old_env)
    assert html_events(old_html, urls) == html_events(MD.render(new), NO_URLS)


def no_local_image_left(text: str) -> None:
    """The browser's view (not the scanner's): no image or image link points at a file."""
    for event in html_events(MD.render(text), NO_URLS):
        if event[0] != "start":
            continue
        attrs = dict(event[2])
        if event[1] in ("img", "video"):
            assert (
                local_target((attrs.get("src" if event[1] == "img" else "poster") or "").strip())
                is None
            )
        if event[1] in ("img", "source"):
            for word, is_url in srcset_words(attrs.get("srcset") or ""):
                assert not is_url or local_target(word) is None
        if event[1] == "a":
            assert not is_image_link((attrs.get("href") or "").strip())


# Cases the design leaves to the user, reported (with their line) instead of rewritten.
KNOWN_LIMITS = (
    *(
        f"this <{name}> tag {why}"
        for name in ("img", "a", "source", "video")
        for why in (
            "does not end where its HTML block ends",
            "is never closed with `>`",  # Markdown shows it as text
            "is not HTML that Markdown reads",  # `src=a.png?x=1` unquoted, say: text too
        )
    ),
    "this figure shortcode has no end",
    "the `|` of this destination makes its line a table row",
)

# --- the properties ------------------------------------------------------------------


@SETTINGS
@given(documents())
def test_scan_spans_are_exact(text: str) -> None:
    result = scan_markdown(text)
    # Only the documented limits may be reported, never "could not place".
    assert all(reason.startswith(KNOWN_LIMITS) for _, reason in result.problems)
    line_count = len(re.split(r"\r\n?|\n", text))
    assert all(1 <= line <= line_count for line, _ in result.problems)
    for ref in result.refs:
        assert text[ref.start : ref.end] == ref.raw
        assert (
            ref.line
            == text[: ref.start].count("\n") + text[: ref.start].replace("\r\n", "").count("\r") + 1
        )


@pytest.mark.parametrize("every_link", [True, False], ids=["every-link", "as-sync-scans"])
@SETTINGS
@given(text=documents())
def test_rewrite_replaces_every_local_image_and_nothing_else(text: str, every_link: bool) -> None:
    new, refs, urls = sync(text, every_link)
    assert refs == scan_markdown(text, every_block=True).local_refs
    # (b) every character outside the replaced spans is kept, in order ...
    expected, cursor = [], 0
    for ref in sorted(refs, key=lambda r: r.start):
        expected += [text[cursor : ref.start], format_destination(ref, new_url(ref))]
        cursor = ref.end
    assert new == "".join([*expected, text[cursor:]])
    if not refs:
        assert new == text
    # (c) ... nothing local is left, for the scanner ...
    assert scan_markdown(new).local_refs == []
    if not scan_markdown(text).problems:  # (what a problem names is left to the user)
        # ... nor for the browser, and the document is the same but for those URLs.
        no_local_image_left(new)
        check_same_but_urls(text, new, urls)


@SETTINGS
@given(st.text(max_size=80))
def test_scan_never_raises_on_any_text(text: str) -> None:
    result = scan_markdown(text)
    for ref in result.refs:
        assert text[ref.start : ref.end] == ref.raw
