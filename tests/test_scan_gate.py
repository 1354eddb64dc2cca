"""The inline gate: the scan skips markdown-it's inline stage on blocks whose text can't hold
anything it reads, and must find exactly what the full parse finds (`every_block=True`).

The documents are built line by line from block openers (quotes, lists, fences, tables,
setext underlines, definitions, HTML blocks, front matter, lazy continuations) and from
every form the scan reads or that hides one (images, links, reference links, raw HTML,
comments, `<script>`, autolinks, code spans, math, escapes, shortcodes, Hexo tags, MDX,
embeds, raw-space images, curly titles), among plain words that the gate skips.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from imgsync import scan
from imgsync.markdown import parser
from imgsync.scan import scan_markdown

from .commonmark_spec import spec_examples

SETTINGS = settings(
    max_examples=int(os.environ.get("IMGSYNC_PROPERTY_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

PLAIN = st.one_of(
    st.sampled_from(["word", "Prose", "and", "x", "é", "日本", "*em*", "__b__", "a_b", "1."]),
    st.sampled_from(["-", ":", "+", "=", "(", ")", "]", "[", "!", "`", "\\", "$", "&", "|"]),
    st.sampled_from(["#", ">", "}", "%", "“", '"', "~"]),
)
FORMS = st.sampled_from(
    [
        "![a](a.png)",
        "![a](<b c.png> 't')",
        "![a](https://example.com/x.png)",
        "[l](l.png)",
        "[l](https://example.com/)",
        "[l](",
        "](a.png)",
        "![",
        "![r]",
        "![a][r]",
        "[r]",
        "[r][]",
        "[x][r]",
        "[R]",
        "[nope]",
        "[![i](i.png)](l.png)",
        "*[e](e.png)*",
        "[*a](l.png)*",
        "**[x](y.png)**",
        "_[a]_(b.png)",
        "[a *b](c.png) d*",
        "*a [b* c](d.png)",
        "`![c](c.png)`",
        "``[l](l.png)``",
        "$![m](m.png)$",
        "\\![e](e.png)",
        "\\[l](l.png)",
        "<img src='h.png'>",
        '<IMG SRC="h.png" srcset="s.png 2x">',
        "<img src=u.png",
        "<img",
        '<a href="a.png">',
        "</a>",
        "<video poster=v.png>",
        "<picture><source srcset='p.png'>",
        "<span>",
        "</span>",
        "<span\vtitle='>' x=\"<b c='\">",  # a tag to markdown-it, two to HTML (\v)
        "<i\xa0a='<script>'>",
        "<!--",
        "-->",
        "<!-- c -->",
        "<!-- imgsync-ignore -->",
        "<script>",
        "</script>",
        "<?php x ?>",
        "<!DOCTYPE x>",
        "<![CDATA[ ![a](a.png) ]]>",
        "<https://example.com/a.png>",
        "<HTTP://x.png>",
        "<a.b+c:x.png>",
        "<me@example.com>",
        "< img src=a.png>",
        "a < b",
        "&lt;img src=a.png&gt;",
        '{{< figure src="f.png" >}}',
        "{{% figure src=f.png %}}",
        "{{< figure src=f.png",
        '{{< img src="t.png" >}}',
        "{% asset_img a.png %}",
        "{% img /a.png %}",
        "{%- img x.png -%}",
        "require('./r.png')",
        'REQUIRE("./r.png")',
        "import pic from './i.png'",
        "IMPORT pic from './i.png'",
        '<Image src="c.png" />',
        '<ThemedImage sources={{ light: "/l.png" }} />',
        '<img src="j.png" width={3} />',
        "![[e.png]]",
        "![[e.png|300]]",
        "![[note]]",
        "![t](t t.png)",
        "![t](t.png “title”)",
        "![t](a (1).png)",
    ]
)
# What changes how the next blocks read: HTML left open, labels used with a definition.
STATEFUL = st.sampled_from(
    ["<script>", "</script>", "<!--", "-->", "<style>", "<span>", "[r]", "[x][R]", "[r][]"]
)
# Forms that one condition of the gate alone lets through: each is tested on its own below too.
ALONE = [
    "![[e.png]]",
    "![[e.png|300]]",
    "![t](t t.png)",
    "![a](a.png)",
    "[l](l.png)",
    "<span>",
    "<!-- imgsync-ignore -->",
    "</p>",
    "{% img /a.png %}",
    '{{< img src="t.png" >}}',
    "{{% figure src=f.png %}}",
    "require('./r.png')",
    "import pic from './i.png'",
    '<Image src="c.png" />',
    '<img src="j.png" width={3} />',
]
DEFINITIONS = st.sampled_from(
    [
        "[r]: a.png",
        "[R]: <r r.png> 't'",
        "[nope]: https://example.com/n.png",
        "[r]:\n  d.png",
        "[r]: no-extension",
    ]
)
OPENERS = st.sampled_from(
    ["", "", "", "", "> ", ">", "- ", "  ", "    ", "1. ", "* ", "# ", "## ", "| "]
)
LEAVES = st.sampled_from(
    [
        "",
        "",
        "```",
        "~~~ md",
        "---",
        "===",
        "| --- | --- |",
        "|---|",
        "$$",
        "<div>",
        "</div>",
        "<pre>",
        "</pre>",
        "<!--",
        "-->",
        "[r]: a.png",
        "[R]: <r r.png> 't'",
        "[nope]: https://example.com/n.png",
        "[r]:",
        "  d.png",
        "- - -",
    ]
)


@st.composite
def line(draw: st.DrawFn) -> str:
    roll = draw(st.integers(0, 5))
    if roll == 0:
        return draw(LEAVES)
    if roll == 1:
        return ""  # paragraphs apart, one form alone in some
    if roll == 2:  # one form among plain words
        words = [
            *draw(st.lists(PLAIN, max_size=2)),
            draw(st.one_of(FORMS, STATEFUL, st.sampled_from(ALONE))),
            *draw(st.lists(PLAIN, max_size=2)),
        ]
    else:
        words = draw(st.lists(st.one_of(PLAIN, PLAIN, PLAIN, FORMS), min_size=1, max_size=6))
    gaps = draw(st.lists(st.sampled_from([" ", " ", "", "\t"]), min_size=len(words)))
    text = "".join(word + gap for word, gap in zip(words, gaps, strict=False))
    return draw(OPENERS) + text


@st.composite
def documents(draw: st.DrawFn) -> str:
    lines = draw(st.lists(line(), min_size=1, max_size=20))
    if draw(st.booleans()):  # more plain prose: what the gate skips
        lines += [" ".join(draw(st.lists(PLAIN, min_size=1, max_size=5))) for _ in range(3)]
        lines = draw(st.permutations(lines))
    if draw(st.booleans()):  # definitions first, where no paragraph can take them in
        lines = [*draw(st.lists(DEFINITIONS, min_size=1, max_size=2)), "", *lines]
    ending = draw(st.sampled_from(["\n", "\r\n", "\r", "mixed"]))
    out = []
    for text in lines:
        end = draw(st.sampled_from(["\n", "\r\n", "\r"])) if ending == "mixed" else ending
        out.append(text + end)
    if draw(st.integers(0, 3)) == 0:
        out.insert(
            0, draw(st.sampled_from(["---\ncover: c.png\n---\n", "+++\nimage = 'i.png'\n+++\n"]))
        )
    return "".join(out)


@SETTINGS
@given(documents(), st.sampled_from(["commonmark", "typora"]))
def test_the_gated_scan_finds_what_the_full_parse_finds(text: str, dialect: str) -> None:
    fast = scan_markdown(text, dialect=dialect)
    full = scan_markdown(text, dialect=dialect, every_block=True)
    assert fast == full


@SETTINGS
@given(documents())
def test_under_small_caps_too(text: str) -> None:
    # The caps' problems must come the same way: a block the gate skips can't pass the cap on
    # inline tokens (it is shorter than half of it), nor count links and images.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parser, "MAX_INLINE_TOKENS", 12)
        patch.setattr(parser, "MAX_LINKS", 3)
        assert scan_markdown(text) == scan_markdown(text, every_block=True)


@pytest.mark.parametrize(
    "text",
    [
        "Plain *prose* with `code`, an &amp; entity and <https://example.com> an autolink.",
        "Prices: $5 and $10; a < b > c; [brackets] (parens) {braces}",
        "Implied imports, requirements: none here.",
    ],
)
def test_the_gate_skips_prose(text: str) -> None:
    assert not scan._in_text_may_match(text)
    assert scan._inline_reading(text, {}, False) == "nothing"


@pytest.mark.parametrize(
    ("text", "references", "reading"),
    [
        ("an ![image](a.png)", False, "all"),
        ("an ![[embed.png]]", False, "all"),
        ("a [link](page.html), *emphasis*", False, "links"),
        ("a <span>tag</span> [link](page.html)", False, "links"),
        ("a <kbd>Ctrl</kbd>+<kbd>S</kbd>", False, "nothing"),
        ("a </b> closing tag", False, "nothing"),
        ("a <img src=a.png> tag", False, "all"),
        ("a <A HREF=a.png> tag", False, "all"),
        ("a </script> end tag", False, "all"),
        ("a <Figure /> component", False, "all"),
        ('a <span title="{% x %}">', False, "all"),
        ("a <!-- comment -->", False, "all"),
        ("a <?php ?> instruction", False, "all"),
        ("a [reference] link", True, "links"),
    ],
)
def test_the_gate_parses_what_may_matter(text: str, references: bool, reading: str) -> None:
    env: dict[str, Any] = {"references": {"REFERENCE": {}}} if references else {}
    assert scan._inline_reading(text, env, False) == reading
    if references:
        assert scan._inline_reading(text, {}, False) == "nothing"


def test_any_tag_is_read_while_the_html_before_hides_what_follows() -> None:
    # An open `<script>` (or comment) makes its end tag, whatever tag it looks like, matter.
    assert scan._inline_reading("a <kbd>x</kbd>", {}, False) == "nothing"
    assert scan._inline_reading("a <kbd>x</kbd>", {}, False, html_hiding=True) == "all"


@pytest.mark.parametrize(
    "text",
    [
        '{{< figure src="a.png" >}}',
        "{{% figure %}}",
        "<img src=a.png",
        "<A href=x",
        "<source ",
        "<video>",
        "<Component />",
        "{% asset_img a.png %}",
        "{%- img a.png",
        "x = require( 'a.png')",
        "x = Require('a.png')",
        "text\n  import a from 'a.png'",
        "IMPORT a from 'a.png'",
    ],
)
def test_the_quick_test_of_in_text_passes_each_form(text: str) -> None:
    assert scan._IN_TEXT.search(text) is not None
    assert scan._in_text_may_match(text)


def test_the_forms_of_in_text_are_those_the_quick_test_knows() -> None:
    # A new form of `_IN_TEXT` needs its beginning in `_in_text_may_match`: this fails first.
    known = {"shortcode", "delimiter", "code", "tag", "component", "hexo", "require"}
    assert set(scan._IN_TEXT.groupindex) == known | {"mdx_import"}


@pytest.mark.parametrize(
    "text",
    [
        *(f"Some prose.\n\n{form}\n\nMore ![a](a.png) prose.\n" for form in ALONE),
        "[r]: a.png\n\nA [r] link, and [x][r].\n",
        "[r]: a.png\n\nA ![r] image.\n",
        "<script>\n\nhidden ![a](a.png) <img src=b.png>\n\n</script>\n\n<img src=c.png>\n",
        "a paragraph with <script> open\n\n<img src=b.png>\n\n</script> ![a](a.png)\n",
        "<!-- imgsync-ignore -->\n![a](a.png)\n",
    ],
)
def test_each_form_alone(text: str) -> None:
    full = scan_markdown(text, every_block=True)
    assert full.refs or full.unhandled or full.ignore_marks or full.problems
    assert scan_markdown(text) == full


# --- the inline rules looked up by character (markdown/dispatch.py) -------------------


def _tokens(text: str, dispatch: bool) -> list[Token]:
    return parser.scan_parser(dispatch).parse(text, {})


def test_dispatch_makes_markdown_its_own_tokens_on_the_spec_examples() -> None:
    examples = spec_examples()
    assert examples
    for example in examples:
        assert _tokens(example.markdown, True) == _tokens(example.markdown, False), example


@SETTINGS
@given(documents())
def test_dispatch_makes_markdown_its_own_tokens(text: str) -> None:
    assert _tokens(text, True) == _tokens(text, False)


def test_dispatch_keeps_markdown_its_deep_nesting() -> None:
    # Past maxNesting markdown-it's loop tries no rule (and its look-ahead skips to the end).
    deep = "[" * 30 + "a](b.png)" + "]" * 5 + " " + "*" * 30 + "x" + "*" * 30 + "\n"
    assert _tokens(deep, True) == _tokens(deep, False)
    nested = "![" * 25 + "a" + "](b.png)" * 25 + "\n"
    assert _tokens(nested, True) == _tokens(nested, False)


# --- a sync's scan: only the links that may name a local image --------------------------


@SETTINGS
@given(documents(), st.sampled_from(["commonmark", "typora"]))
def test_a_sync_scan_finds_every_local_reference_the_full_parse_finds(
    text: str, dialect: str
) -> None:
    quick = scan_markdown(text, dialect=dialect, every_link=False)
    full = scan_markdown(text, dialect=dialect, every_block=True)
    assert [ref for ref in quick.refs if ref.is_local] == [ref for ref in full.refs if ref.is_local]
    assert (quick.problems, quick.unhandled, quick.ignore_marks) == (
        full.problems,
        full.unhandled,
        full.ignore_marks,
    )
    # What it leaves out are remote links (and pages), in blocks it says it passed over.
    assert all(not ref.is_local for ref in full.refs if ref not in quick.refs)
    assert quick.links_passed_over or quick.refs == full.refs


@pytest.mark.parametrize(
    ("text", "passed_over"),
    [
        ("A [page](https://example.com/a.png) and [one](other.md).\n", True),
        ("A [page](#top), [host](//cdn.example.com/x.png), [mail](<mailto:a@b.c>).\n", True),
        ("A [page](\n  https://example.com/ 'title') link.\n", True),
        ("[r]: https://example.com/r.png\n\nA [r] link.\n", True),
        ("A [figure](img/a.png) link.\n", False),
        ("A [figure](<img/a b.PNG>) link.\n", False),
        ("A [figure](img/a.p%6Eg) link, percent-encoded.\n", False),
        ("A [figure](img/a.p&#110;g) link, an entity.\n", False),
        ("A [drive](C:/img/a.png) link.\n", False),
        ("[r]: img/r.png\n\nA [r] link.\n", False),
    ],
)
def test_a_sync_scan_passes_over_links_that_name_no_local_image(
    text: str, passed_over: bool
) -> None:
    quick = scan_markdown(text, every_link=False)
    assert bool(quick.links_passed_over) == passed_over
    full = scan_markdown(text)
    assert [ref for ref in quick.refs if ref.is_local] == full.local_refs
    assert quick.refs == ([] if passed_over else full.refs)


@pytest.mark.parametrize(
    "text",
    [
        # A definition used by a link, then by an image: its alt text is the image's, whether
        # or not the block of the link is read.
        "[r]: foo\n\n[r] link\n\n![alt][r]\n",
        # A tag markdown-it reads whole, but HTML as `<span\vtitle=">` and an unclosed `<b`,
        # which hides the `<img>` after it: the tag is read in every scan.
        'A <span\vtitle=">" x=\'<b c="\'> tag\n\n<img src="a.png">\n',
        'A <span\xa0title=">" x=\'<b c="\'> tag\n\n<img src="a.png">\n',
    ],
)
def test_what_a_review_found(text: str) -> None:
    full = scan_markdown(text, every_block=True)
    assert scan_markdown(text) == full
    quick = scan_markdown(text, every_link=False)
    assert [ref for ref in quick.refs if ref.is_local] == [ref for ref in full.refs if ref.is_local]


def test_links_passed_over_count_toward_the_caps() -> None:
    # Past the cap the file is one problem and no reference, at the line where a full scan
    # passed it: the links of the blocks a sync passes over count as they would be read.
    text = "[a](https://e.com/) [b](https://e.com/) [c](page.html) [d](#x)\n\n![i](i.png)\n"
    with pytest.MonkeyPatch.context() as patch:
        for cap in (3, 4, 5, 6):
            patch.setattr(parser, "MAX_LINKS", cap)
            full = scan_markdown(text, every_block=True)
            quick = scan_markdown(text, every_link=False)
            assert quick.problems == full.problems, cap
            assert [r for r in quick.refs if r.is_local] == full.local_refs, cap
            assert bool(full.problems) == (cap < 5)  # four links and an image: 5 counted
        patch.setattr(scan, "MAX_LINKS", 3)  # the cap on references found
        full = scan_markdown(text, every_block=True)
        assert full.problems and not full.refs
        assert scan_markdown(text, every_link=False).problems == full.problems


@SETTINGS
@given(documents())
def test_a_sync_scan_under_small_caps_too(text: str) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parser, "MAX_LINKS", 3)
        patch.setattr(scan, "MAX_LINKS", 4)
        full = scan_markdown(text, every_block=True)
        quick = scan_markdown(text, every_link=False)
        assert quick.problems == full.problems
        assert [r for r in quick.refs if r.is_local] == [r for r in full.refs if r.is_local]


# Pieces of each form `_MAYBE_REFERENCE` has, its near misses, and the letters IGNORECASE
# matches to ASCII ones (dotted and dotless i, long s, the Kelvin sign): strung together at random.
_PIECES = [
    *("![", "]", "](", "] (", "]\n[", "]:", "[", "(", "<", "{", "{{", "{%", "%", "-", "\n"),
    *(" ", "\t", "\u00a0", "e(", "E(", "(", "require(", "REQUIRE(", "requ\u0130re("),
    *("requ\u0131re(", "xrequire(", "_require("),
    *("import ", "IMPORT\t", "Import\n", "\u0130mport ", "\u0131mport ", "mport "),
    *("<img", "<IMG", "<a ", "<A\n", "<\u017fource ", "<video ", "<Image", "<i", "<b", "<Ⓐ"),
    *("{{<", "{{%", "{% asset_img ", "{%- img ", "{%img\n", "{% \u0131mg ", "\u212a", "x", "Z"),
]


@settings(max_examples=int(os.environ.get("IMGSYNC_GATE_EXAMPLES", "1500")), deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12).map("".join))
def test_the_quick_test_of_a_file_is_the_pattern(text: str) -> None:
    assert scan.may_contain_references(text) == (scan._MAYBE_REFERENCE.search(text) is not None)


@pytest.mark.parametrize(
    "text",
    [
        "a ![b",
        "x] (y",
        "<IMG",
        "<\u017fource\t",
        "<Comp",
        "{{% x",
        "{%- asset_x",
        "REQUIRE(",
        "\n import\t",
    ],
)
def test_the_quick_test_of_a_file_passes_each_form(text: str) -> None:
    assert scan.may_contain_references(text) and scan._MAYBE_REFERENCE.search(text)


_IN_TEXT_PIECES = [
    *_PIECES,
    *("{{< figure", "{{% x", "{{<\t", "{%asset_path ", "{% asset_link\n", "require( '", "'", '"'),
    *("require(`", "<source>", "<a/", "<Video\t", "<Comp.Part ", "<X>", "<x>", "/", ">", "."),
]


@settings(max_examples=int(os.environ.get("IMGSYNC_GATE_EXAMPLES", "1500")), deadline=None)
@given(st.lists(st.sampled_from(_IN_TEXT_PIECES), max_size=12).map("".join))
def test_the_quick_test_of_in_text_is_the_pattern(text: str) -> None:
    assert scan._in_text_may_match(text) == (scan._IN_TEXT.search(text) is not None)


def _plain_and_quickened() -> tuple[MarkdownIt, MarkdownIt]:
    plain, quick = (MarkdownIt("commonmark").enable("table") for _ in range(2))
    parser.quicken(quick)
    return plain, quick


@given(documents(), st.sampled_from(["", "\r", "\r\n", "\0", "\r\0\n"]))
def test_a_quickened_parser_makes_the_same_tokens(text: str, breaks: str) -> None:
    text = text.replace("\n", breaks or "\n", 1) + breaks
    plain, quick = _plain_and_quickened()
    assert quick.parse(text, {}) == plain.parse(text, {})
    assert quick.parse(text, {}) == quick.parse(text, {})  # the second: normalizeLink's kept
