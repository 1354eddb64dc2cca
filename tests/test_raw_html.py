"""Raw HTML beyond `<img src>` and Hugo's figure shortcode: found in every container, rewritten
exactly (the rest of the file byte-identical), and a tag Markdown shows as text is a problem."""

from __future__ import annotations

import time

import pytest

from imgsync.errors import RewriteRefused
from imgsync.markdown.destinations import shortcode_can_hold
from imgsync.rewrite import Replacement, rewrite_markdown
from imgsync.scan import may_contain_references, scan_markdown

# Each form, with {u}, {v}, {w} where local image paths stand: (form, attributes found in order).
FORMS = {
    "a href, double quotes": ('[<a href="{u}" target="_href_">PNG</a>]', ["href"]),
    "a href, single quotes": ("[<a href='{u}' download>SVG</a>]", ["href"]),
    "a href, unquoted": ("<a href={u}>full size</a>", ["href"]),
    "a href around an img": ('<a href="{u}"><img src="{v}" alt="x"></a>', ["href", "src"]),
    "picture": (
        '<picture><source srcset="{u} 1x, {v} 2x" type="image/webp"><img src="{w}"></picture>',
        ["srcset", "srcset", "src"],
    ),
    "source with widths": (
        "<picture><source srcset='{u} 480w,{v} 800w' sizes='(max-width: 600px) 480px, 800px'>"
        "</picture>",
        ["srcset", "srcset"],
    ),
    "source unquoted": ("<picture><source srcset={u} media=(min-width:1px)></picture>", ["srcset"]),
    "video poster": ('<video poster="{u}" controls src="movie.mp4"></video>', ["poster"]),
    "video poster unquoted": ("<video poster={u} controls></video>", ["poster"]),
    "jsx img (MDX)": ('<img src="{u}" width={{280}} style={{{{ margin: 10 }}}} />', ["src"]),
    "jsx img, src last": (
        "<img style={{{{ 'max-height': \"600px\", a: `}}` }}}} alt={{x}} src='{u}'/>",
        ["src"],
    ),
    "figure shortcode": ('{{{{< figure src="{u}" title="A title" >}}}}', ["src"]),
    "figure shortcode, %": ("{{{{% figure alt='Alt' src='{u}' class=\"wide\" %}}}}", ["src"]),
    "figure shortcode, bare, link": (
        '{{{{<figure src={u} link="{v}" alt="x">}}}}',
        ["src", "link"],
    ),
}

# Each container, with {x} where the form stands.
CONTAINERS = {
    "paragraph": "Before.\n\n{x}\n\nAfter.\n",
    "inline in text": "Some text {x} and more *text*.\n",
    "list": "1. one\n2. {x}\n   - nested {x}\n",
    "block quote": "> quoted\n> {x}\n>\n> - {x}\n",
    "table": "| a | b |\n|---|:-:|\n| {x} | z |\n",
    "html block": '<div class="figure">\n{x}\n</div>\n\nAfter.\n',
}

LOCAL = {"u": "img/a.png", "v": "../b.svg", "w": "c.webp"}
HOSTED = {
    "img/a.png": "https://img.example/i/1.png",
    "../b.svg": "https://img.example/i/2.svg",
    "c.webp": "https://img.example/i/3.webp",
}


def _fill(form: str, values: dict[str, str]) -> str:
    return form.format(**values)


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("form", FORMS)
def test_each_form_in_each_container_is_found_and_rewritten_exactly(
    form: str, container: str
) -> None:
    template, attributes = FORMS[form]
    # `{x}` is put in with replace: the form's own braces are already resolved by _fill
    text = CONTAINERS[container].replace("{x}", _fill(template, LOCAL))
    result = scan_markdown(text)
    assert result.problems == []
    copies = CONTAINERS[container].count("{x}")
    assert [ref.attribute for ref in result.local_refs] == attributes * copies
    for ref in result.local_refs:
        assert text[ref.start : ref.end] == ref.raw == ref.url
    new = rewrite_markdown(
        text, [Replacement(ref, HOSTED[ref.url]) for ref in result.local_refs], result
    )
    # byte-identical but for the values: the same text with the hosted URLs written in
    assert new == CONTAINERS[container].replace("{x}", _fill(template, HOSTED_BY_KEY))
    rescanned = scan_markdown(new)
    assert rescanned.local_refs == [] and rescanned.problems == []
    assert [ref.url for ref in rescanned.refs] == [HOSTED[ref.url] for ref in result.refs]


HOSTED_BY_KEY = {key: HOSTED[path] for key, path in LOCAL.items()}


@pytest.mark.parametrize(
    "text",
    [
        '[<a href="where-do-you-live.png" target="_href_">PNG</a>]',
        '[<a href="where-do-you-live.svg" target="_href_">PNG</a>]',
    ],
)
def test_the_download_links_of_a_real_blog_are_hosted(text: str) -> None:
    (ref,) = scan_markdown(text + "\n").local_refs
    assert (ref.kind, ref.attribute, ref.quote) == ("html", "href", '"')
    new = rewrite_markdown(text + "\n", [Replacement(ref, "https://img.example/i/9.png")])
    assert new == text.replace(ref.url, "https://img.example/i/9.png") + "\n"


@pytest.mark.parametrize(
    "text",
    [
        '<a href="post.html">the post</a>',
        "<a href='#anchor'>up</a>",
        '<a href="https://example.com/a.png">remote</a>',
        "<a href=notes/>folder</a>",
        '{{< figure src="https://example.com/a.png" >}}',
        '{{< figure src="a.png" link="post.html" >}}',
    ],
)
def test_links_that_name_no_local_image_stay_links(text: str) -> None:
    result = scan_markdown(text + "\n")
    assert [ref.url for ref in result.local_refs] == (["a.png"] if 'src="a.png' in text else [])
    assert result.problems == []


@pytest.mark.parametrize(
    "text",
    [
        '`<a href="a.png">x</a>`',
        '`{{< figure src="a.png" >}}`',
        '```\n<picture><source srcset="a.png"></picture>\n{{< figure src="a.png" >}}\n```',
        '    <video poster="a.png"></video>',
        '<!-- <a href="a.png">x</a> <video poster="b.png"> -->',
        'text <!-- {{< figure src="a.png" >}} --> text',
        '<div>\n<!--\n{{< figure src="a.png" >}}\n-->\n</div>',
        '{{</* figure src="a.png" */>}}',  # Hugo's own way to show a shortcode as text
        '\\<img src="a.png" style="zoom:20%;" /',  # an escaped `<` is text on purpose
        '$<a href="a.png">x</a>$',
        "<script>\nlet s = '<a href=\"a.png\">';\n</script>",
    ],
)
def test_code_comments_and_math_are_never_touched(text: str) -> None:
    result = scan_markdown(text + "\n")
    assert result.refs == [] and result.problems == []


def test_the_unclosed_img_of_a_real_blog_is_a_problem_with_its_line() -> None:
    text = 'Intro.\n\n<img src="..." style="zoom:20%;" /\n\nMore.\n'
    result = scan_markdown(text)
    assert result.refs == [] and result.problems == []
    ((line, reason, image, _),) = result.unhandled
    assert line == 3 and image == "..."
    assert "<img> tag is never closed" in reason and "'...'" in reason


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('- item\n- <img src="shot.png" style="zoom:20%;" /\n', 2, "never closed"),
        ('> <a href="big.png" target=_blank\n', 1, "never closed"),
        ('| <video poster="p.jpg" |\n|---|\n', 1, "never closed"),
        ('x <img src="a.png" alt="x"y> y\n', 1, "not HTML that Markdown reads"),
        ('<div>\n<video poster="p.jpg"\n\nnext\n', 2, "does not end where its HTML block"),
        ('<div>\n<a class=x href="big.png"\n\nnext\n', 2, "<a> tag does not end where"),
        ('{{< figure src="a.png"\n\nnext\n', 1, "figure shortcode has no end"),
    ],
)
def test_tags_and_shortcodes_that_do_not_end_are_problems(text: str, line: int, words: str) -> None:
    result = scan_markdown(text)
    assert result.local_refs == []
    # A tag Markdown shows as text names its image (an `ignore` entry can accept it); one
    # left open in an HTML block, or a shortcode without its end, is a problem of the file.
    ((found_line, reason),) = [(told.line, told.reason) for told in result.unhandled] + [
        (problem.line, problem.reason) for problem in result.problems
    ]
    assert found_line == line and words in reason


@pytest.mark.parametrize(
    "text",
    [
        "text <a href=post.html\n",  # an unclosed link to a page: no image, nothing to say
        "a <img alt=x\n",  # no source at all
        "a < img src=a.png\n",
        '<div>\n<a href="post.html"\n\nnext\n',  # an unended link to a page, in a block
    ],
)
def test_broken_tags_without_a_local_image_are_no_problem(text: str) -> None:
    assert scan_markdown(text).problems == []


@pytest.mark.parametrize(
    ("written", "url", "expected"),
    [
        ('<a href="a.png">', "https://h/x.png?a=1&b=2", '<a href="https://h/x.png?a=1&amp;b=2">'),
        ("<a href=a.png>", "https://h/x.png?a=1", "<a href=https://h/x.png?a&#61;1>"),
        (
            "<video poster='a&amp;b.png'>",
            "https://h/x'.png",
            "<video poster='https://h/x&#39;.png'>",
        ),
        (
            '<picture><source srcset="a&#46;png 2x"></picture>',
            "https://h/y.png",
            '<picture><source srcset="https://h/y.png 2x"></picture>',
        ),
        (
            '{{< figure src="a.png" >}}',
            "https://h/x.png?a=1&b=2",
            '{{< figure src="https://h/x.png?a=1&b=2" >}}',
        ),
    ],
)
def test_the_new_url_is_written_for_its_quoting(written: str, url: str, expected: str) -> None:
    (ref,) = scan_markdown(written).local_refs
    assert rewrite_markdown(written, [Replacement(ref, url)]) == expected


def test_entities_are_decoded_for_resolving() -> None:
    (ref,) = scan_markdown('<a href="a&amp;b&#46;png">x</a>').local_refs
    assert ref.url == "a&b.png"


@pytest.mark.parametrize(
    ("url", "quote", "fits"),
    [
        ("https://h/i/a_b.png", '"', True),
        ("https://h/i/_a.png", '"', False),  # `_` after `/` could open emphasis
        ("https://h/i/a*b.png", '"', False),
        ('https://h/i/a".png', '"', False),
        ("https://h/i/a'.png", "'", False),
        ("https://h/i/a'.png", "", False),
        ("https://h/i/a b.png", '"', False),
        ("https://h/i/a%20b.png?x=1&y=2#f", "", True),
        ("", '"', False),
    ],
)
def test_what_a_shortcode_value_can_hold(url: str, quote: str, fits: bool) -> None:
    assert shortcode_can_hold(url, quote) is fits


def test_a_url_a_shortcode_cannot_hold_is_refused() -> None:
    text = '{{< figure src="a.png" >}}\n'
    (ref,) = scan_markdown(text).local_refs
    with pytest.raises(RewriteRefused, match="figure shortcode"):
        rewrite_markdown(text, [Replacement(ref, "https://h/a*b.png")])


def test_a_repeated_attribute_counts_once_in_html_and_each_time_in_a_shortcode() -> None:
    # A browser keeps an attribute's first value; whichever Hugo keeps, each is hosted.
    result = scan_markdown('<a href="a.png" href="b.png">x</a> {{< figure src=c.png src=d.png >}}')
    assert [ref.url for ref in result.local_refs] == ["a.png", "c.png", "d.png"]


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ('{{< figure src="a.png" />}}', ["a.png"]),  # self-closing
        ("{{< figure src=a.png>}}", ["a.png"]),
        ("{{< figure\n  src='a.png'\n  caption=\"multi\n  line\" >}}", ["a.png"]),
        ('{{< figure "positional.png" src=`a.png` >}}', ["a.png"]),
        ('{{< figure SRC="a.png" >}}', []),  # Hugo's parameter names are exact
        ('{{< figure data-src="a.png" >}}', []),
        ('{{< figure src="" >}}', []),
        ('{{< gallery src="a.png" >}}', []),  # another shortcode: not read
        ('{{< figure src="a.png" title="x >}}" >}}', ["a.png"]),
    ],
)
def test_figure_shortcode_parameters(text: str, urls: list[str]) -> None:
    result = scan_markdown(text + "\n")
    assert [ref.url for ref in result.local_refs] == urls
    assert result.problems == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('<a href="x.png">x</a>', True),
        ("<video poster=x.png>", True),
        ("<source srcset=x.png>", True),
        ('{{< figure src="x.png" >}}', True),
        ("{{%figure src=x.png %}}", True),
        ("<abbr title=x>a</abbr> <audio>", False),
    ],
)
def test_the_cheap_test_before_parsing_sees_every_form(text: str, expected: bool) -> None:
    assert may_contain_references(text) is expected


def test_text_that_html_left_open_hides_is_not_read() -> None:
    # As a browser reads it: the `<!--` opened in the first block is never closed (the
    # paragraph's `-->` is text, rendered `--&gt;`), and a <script> hides up to its end tag.
    hidden = '<div>\n<!--\n\nText <img src="a.png" / {{< figure src="b.png" >}}\n\n-->\n'
    hidden_scan = scan_markdown(hidden)
    assert hidden_scan.refs == [] and hidden_scan.problems == [] and hidden_scan.unhandled == []
    text = (
        'a <script> <img src="a.png" / </script> <video poster="p.png" / {{< figure src=c.png >}}\n'
    )
    result = scan_markdown(text)
    assert [ref.url for ref in result.refs] == ["c.png"]
    assert [told.reason.split(",")[0] for told in result.unhandled] == [
        "this <video> tag is not HTML that Markdown reads"
    ]


@pytest.mark.parametrize(
    "line",
    [
        "<img ",  # each would read to the end of the paragraph, looking for its `>`
        "{{< figure ",  # each would read to the end, looking for its `>}}`
        '{{< figure src="a.png ',
        '<a href="x.png" title="',
        "<img a={",  # JSX: each brace would be read to the end, looking for its `}`
        "<img a={'",
    ],
)
@pytest.mark.parametrize("block", ["", "<div>\n"])
def test_a_hostile_paragraph_is_read_in_linear_time(block: str, line: str) -> None:
    # 100,000 unended tags: read once each, ~1 s; read to the end each, hours.
    started = time.monotonic()
    result = scan_markdown(block + line * 100_000 + "\n")
    assert time.monotonic() - started < 20
    assert result.refs == [] and len(result.problems) <= 1


def test_many_shortcodes_of_an_html_block_are_read_in_linear_time() -> None:
    started = time.monotonic()
    result = scan_markdown("<div>\n" + "{{< figure src=a.png >}} <!-- x -->" * 50_000 + "\n")
    assert time.monotonic() - started < 20
    assert len(result.refs) == 50_000 and result.problems == []


# Hugo's own docs (content/en/shortcodes/figure.md) end a long figure shortcode with `>}}`
# alone on the next line: a block quote to Markdown, the end of the shortcode to Hugo.
HUGO_DOCS_FIGURE = """\
Which looks like this in your browser:

{{< figure
  src="/images/examples/zion-national-park.jpg"
  alt="A photograph of Zion National Park"
  link="https://www.nps.gov/zion/index.htm"
  caption="Zion National Park"
  class="ma0 w-75"
>}}
"""


def test_a_shortcode_ended_on_the_next_line_by_a_block_quote_marker_is_read() -> None:
    result = scan_markdown(HUGO_DOCS_FIGURE)

    assert result.problems == []
    (ref,) = result.local_refs
    assert (ref.kind, ref.attribute, ref.line) == ("shortcode", "src", 4)
    new = rewrite_markdown(HUGO_DOCS_FIGURE, [Replacement(ref, "https://img.example/i/z.jpg")])
    assert new == HUGO_DOCS_FIGURE.replace(ref.url, "https://img.example/i/z.jpg")


def test_a_shortcode_whose_end_is_further_away_is_still_a_problem() -> None:
    text = HUGO_DOCS_FIGURE.replace("\n>}}", "\n\nSome text.\n>}}")

    ((_, reason),) = scan_markdown(text).problems
    assert "figure shortcode has no end" in reason


@pytest.mark.parametrize("url", ["https://h/a*b*.png", "https://h/`x`.png", "https://h/_a_.png"])
def test_a_url_that_would_bring_markup_into_a_jsx_tag_is_refused(url: str) -> None:
    # The tag is text to Markdown: a `*` or a backtick in its new value could change the page.
    text = '<img src="a.png" style={{ margin: 10 }} />\n'
    (ref,) = scan_markdown(text).local_refs
    assert ref.kind == "jsx"
    with pytest.raises(RewriteRefused, match="cannot stand in this JSX tag"):
        rewrite_markdown(text, [Replacement(ref, url)])
