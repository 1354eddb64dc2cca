"""Front matter: image fields read with exact spans, rewritten in their quoting, nothing else moved.

Each table row is a whole file: what the scanner finds in it, and the file after every local
image field is pointed at a hosted URL. The rest of the file must come back byte for byte.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgsync.config import load_settings
from imgsync.errors import ConfigError, RewriteRefused
from imgsync.markdown.front_matter import encode_value, read_front_matter
from imgsync.rewrite import Replacement, rewrite_markdown, verify_rewrite
from imgsync.scan import scan_markdown

HOSTED = "https://img.test/i/{}"


def hosted(name: str) -> str:
    return HOSTED.format(name.rsplit("/", 1)[-1])


def sync(text: str, keys: tuple[str, ...] | None = None) -> str:
    scanned = scan_markdown(text) if keys is None else scan_markdown(text, keys)
    replacements = [Replacement(ref, hosted(ref.url)) for ref in scanned.local_refs]
    return rewrite_markdown(text, replacements, scanned)


def fields(text: str) -> list[tuple[str, str, int]]:
    """(key, value, line) of each local front matter reference."""
    return [
        (ref.attribute, ref.url, ref.line)
        for ref in scan_markdown(text).local_refs
        if ref.kind == "front_matter"
    ]


# (file, its front matter fields (key, value, line), the file after sync)
SHAPES = [
    # the examples, verbatim
    (
        "---\ntitle: Biweekly\nimage: /img/biweekly-newsletter.png\n---\nText.\n",
        [("image", "/img/biweekly-newsletter.png", 3)],
        "---\ntitle: Biweekly\nimage: https://img.test/i/biweekly-newsletter.png\n---\nText.\n",
    ),
    (
        '---\nimage: "OIP-C.jpg"\n---\n',
        [("image", "OIP-C.jpg", 2)],
        '---\nimage: "https://img.test/i/OIP-C.jpg"\n---\n',
    ),
    (
        "---\nimage: ts-logo-128.jpg\n---\n",
        [("image", "ts-logo-128.jpg", 2)],
        "---\nimage: https://img.test/i/ts-logo-128.jpg\n---\n",
    ),
    # PaperMod's cover
    (
        "---\ntitle: 'x'\ncover:\n  image: images/cover.png # the card\n  alt: A cover\n"
        "  relative: true\n---\n",
        [("cover.image", "images/cover.png", 4)],
        "---\ntitle: 'x'\ncover:\n  image: https://img.test/i/cover.png # the card\n"
        "  alt: A cover\n  relative: true\n---\n",
    ),
    # single quotes, a quote inside
    (
        "---\nthumbnail: 'it''s.png'\n...\n",
        [("thumbnail", "it's.png", 2)],
        "---\nthumbnail: 'https://img.test/i/it''s.png'\n...\n",
    ),
    # block list at the key's indentation and deeper, flow list, mixed quoting
    (
        "---\nimages:\n- a.png\n- 'b.png'\ntags: [x, y]\nog_image:\n    - \"c.png\" # c\n---\n",
        [("images", "a.png", 3), ("images", "b.png", 4), ("og_image", "c.png", 7)],
        "---\nimages:\n- https://img.test/i/a.png\n- 'https://img.test/i/b.png'\ntags: [x, y]\n"
        'og_image:\n    - "https://img.test/i/c.png" # c\n---\n',
    ),
    (
        "---\nimages: [a.png, 'b.png', \"c.png\"]  # three\n---\n",
        [("images", "a.png", 2), ("images", "b.png", 2), ("images", "c.png", 2)],
        "---\nimages: [https://img.test/i/a.png, 'https://img.test/i/b.png', "
        '"https://img.test/i/c.png"]  # three\n---\n',
    ),
    # Minimal Mistakes' header, CRLF line ends, a BOM
    (
        "\ufeff---\r\nheader:\r\n  overlay_image: /assets/o.jpg\r\n  teaser: t.jpg\r\n---\r\n",
        [("header.overlay_image", "/assets/o.jpg", 3), ("header.teaser", "t.jpg", 4)],
        "\ufeff---\r\nheader:\r\n  overlay_image: https://img.test/i/o.jpg\r\n"
        "  teaser: https://img.test/i/t.jpg\r\n---\r\n",
    ),
    # URLs and non-images are left alone; so are keys not on the list
    (
        "---\nimage: https://cdn.test/a.png\nbanner: notes.pdf\nicon: i.png\nhero: h.webp\n---\n",
        [("hero", "h.webp", 5)],
        "---\nimage: https://cdn.test/a.png\nbanner: notes.pdf\nicon: i.png\n"
        "hero: https://img.test/i/h.webp\n---\n",
    ),
    # a block scalar holding what looks like a field is not a field
    (
        "---\ndescription: |\n  image: no.png\nfeature_image: yes.png\n---\n",
        [("feature_image", "yes.png", 4)],
        "---\ndescription: |\n  image: no.png\nfeature_image: https://img.test/i/yes.png\n---\n",
    ),
    # TOML: basic and literal strings, an array over lines, a table
    (
        '+++\ntitle = "T"\nimage = "a.png"\nimages = [\n  \'b.png\', # b\n  "c.png",\n]\n'
        "[cover]\nimage = 'd.png'\n+++\n",
        [
            ("image", "a.png", 3),
            ("images", "b.png", 5),
            ("images", "c.png", 6),
            ("cover.image", "d.png", 9),
        ],
        '+++\ntitle = "T"\nimage = "https://img.test/i/a.png"\nimages = [\n'
        "  'https://img.test/i/b.png', # b\n  \"https://img.test/i/c.png\",\n]\n"
        "[cover]\nimage = 'https://img.test/i/d.png'\n+++\n",
    ),
    # an empty block, a closing fence at the end of the file
    ("---\n---\n![a](a.png)\n", [], "---\n---\n![a](https://img.test/i/a.png)\n"),
    (
        "+++\nimage = 'a.png'\n+++",
        [("image", "a.png", 2)],
        "+++\nimage = 'https://img.test/i/a.png'\n+++",
    ),
    # TOML comments need no space before them
    (
        "+++\nimage = \"a.png\"#c\n[cover]# c\nimage = 'b.png'\n+++\n",
        [("image", "a.png", 2), ("cover.image", "b.png", 4)],
        '+++\nimage = "https://img.test/i/a.png"#c\n[cover]# c\n'
        "image = 'https://img.test/i/b.png'\n+++\n",
    ),
    # TOML dotted key, and an array of tables is none of ours
    (
        '+++\ncover.image = "c.png"\n[[resources]]\nimage = "r.png"\n+++\n',
        [("cover.image", "c.png", 2)],
        '+++\ncover.image = "https://img.test/i/c.png"\n[[resources]]\nimage = "r.png"\n+++\n',
    ),
]


@pytest.mark.parametrize(("text", "found", "expected"), SHAPES)
def test_each_shape_is_read_and_rewritten_in_its_quoting(
    text: str, found: list[tuple[str, str, int]], expected: str
) -> None:
    assert fields(text) == found
    assert scan_markdown(text).problems == []
    assert sync(text) == expected


def test_the_markdown_after_the_front_matter_is_scanned_as_before_at_its_own_lines() -> None:
    body = "# Title\n\n![a](a.png)\n\n---\n\nend <img src='b.png'>\n"
    front = "---\nimage: c.png\ntitle: x\n---\n"
    alone, after = scan_markdown(body), scan_markdown(front + body)
    moved = [(r.kind, r.start + len(front), r.raw, r.line + 4) for r in alone.refs]
    assert [(r.kind, r.start, r.raw, r.line) for r in after.refs[1:]] == moved
    new = sync(front + body)
    assert new == (
        "---\nimage: https://img.test/i/c.png\ntitle: x\n---\n"
        "# Title\n\n![a](https://img.test/i/a.png)\n\n---\n\nend <img src='https://img.test/i/b.png'>\n"
    )


def test_a_problem_in_the_markdown_is_on_its_line_of_the_file() -> None:
    text = '+++\ntitle = "x"\n+++\n<div>\n<img src="a.png"\n\nalt="x">\n'
    assert [line for line, _ in scan_markdown(text).problems] == [5]


@pytest.mark.parametrize(
    "text",
    [
        "---\nimage: a.png\n",  # never closed: Markdown, a thematic break and a paragraph
        "---\n![a](a.png)\n",
        "--- x\nimage: a.png\n---\n",
        "----\nimage: a.png\n---\n",
        "\n---\nimage: a.png\n---\n",  # not at the very top
    ],
)
def test_a_block_not_closed_or_not_at_the_top_is_markdown(text: str) -> None:
    assert read_front_matter(text) is None
    assert all(ref.kind != "front_matter" for ref in scan_markdown(text).refs)


def test_markdown_inside_front_matter_is_not_markdown() -> None:
    text = "---\nsummary: '![a](inside.png)'\n---\n![b](outside.png)\n"
    assert [(r.kind, r.url) for r in scan_markdown(text).refs] == [("image", "outside.png")]


# (file, the problem's line, words of its reason): never a guess
PROBLEMS = [
    ("---\nimage: a.png\n  b.png\n---\n", 2, "several lines"),
    ('---\nimage: "a\n  b.png"\n---\n', 2, "several lines"),
    ("---\nimage: |\n  a.png\n---\n", 2, "a block scalar (`|`)"),
    ("---\nimage: &pic a.png\n---\n", 2, "an anchor (`&name`)"),
    ("---\nimage: @a.png\n---\n", 2, "a form imgsync does not read"),
    ("---\ncover: {image: a.png}\n---\n", 2, "flow mapping"),
    ("---\nimages: [a.png, [b.png]]\n---\n", 2, "list item"),
    ("---\nimage: 'a.png' b\n---\n", 2, "after the closing quote"),
    ('---\nimage: "a\\qb.png"\n---\n', 2, "escape"),
    ('---\nimage: "a.png\n---\n', 2, "never closed"),
    ("---\ncover:\n  image:\n    src: a.png\n---\n", 4, "nested deeper"),
    ("---\nimages:\n  - src: a.png\n---\n", 3, "list item"),
    ("---\n  image: a.png\n---\n", 2, "can't read exactly"),
    ('+++\nimage = """a.png"""\n+++\n', 2, "multi-line string"),
    ('+++\ncover = { image = "a.png" }\n+++\n', 2, "inline table"),
    ("+++\nimages = [1, 'a.png']\n+++\n", 2, "not a string"),
    ('+++\nimage = "a.png\n+++\n', 2, "not closed"),
]


@pytest.mark.parametrize(("text", "line", "words"), PROBLEMS)
def test_a_field_that_cannot_be_read_exactly_is_a_problem_with_its_line(
    text: str, line: int, words: str
) -> None:
    scanned = scan_markdown(text)
    assert [ref for ref in scanned.refs if ref.kind == "front_matter"] == []
    assert [p.line for p in scanned.problems] == [line], scanned.problems
    assert words in scanned.problems[0].reason
    assert "edit it by hand" in scanned.problems[0].reason


def test_fields_of_keys_not_on_the_list_are_no_concern() -> None:
    text = "---\ndescription: 'see a.png'\nicon: i.png\nparams:\n  logo: l.png\n---\n"
    assert scan_markdown(text).refs == [] and scan_markdown(text).problems == []


def test_the_keys_are_configurable() -> None:
    text = "---\nimage: a.png\nhero_img: b.png\npage:\n  art: c.png\n---\n"
    keys = ("hero_img", "page.art")
    scanned = scan_markdown(text, keys)
    assert [(r.attribute, r.url) for r in scanned.refs] == [
        ("hero_img", "b.png"),
        ("page.art", "c.png"),
    ]
    assert sync(text, keys) == (
        "---\nimage: a.png\nhero_img: https://img.test/i/b.png\npage:\n"
        "  art: https://img.test/i/c.png\n---\n"
    )
    assert scan_markdown(text, ()).refs == []


@pytest.mark.parametrize(
    ("style", "url", "written"),
    [
        ("plain", "https://h/a.png", "https://h/a.png"),
        ("plain", "https://h/a #b.png", "'https://h/a #b.png'"),  # a comment otherwise
        ("plain", "@h/a.png", "'@h/a.png'"),
        ("flow plain", "https://h/a,b.png", "'https://h/a,b.png'"),  # an item separator
        ("flow plain", "https://h/a:b.png", "https://h/a:b.png"),
        ("single", "https://h/it's.png", "'https://h/it''s.png'"),
        ("double", 'https://h/"a"\\.png', '"https://h/\\"a\\"\\\\.png"'),
        ("toml basic", 'https://h/"a".png', '"https://h/\\"a\\".png"'),
        ("toml literal", "https://h/a.png", "'https://h/a.png'"),
        ("toml literal", "https://h/it's.png", '"https://h/it\'s.png"'),  # no way to write '
    ],
)
def test_a_new_value_keeps_the_style_or_is_quoted_minimally(
    style: str, url: str, written: str
) -> None:
    assert encode_value(style, url) == written


def test_a_plain_value_that_needs_quotes_is_requoted_and_reads_back() -> None:
    text = "---\nimage: a.png\nimages: [b.png]\n---\n"
    scanned = scan_markdown(text)
    new = rewrite_markdown(
        text, [Replacement(ref, "https://h/x #1,2.png") for ref in scanned.refs], scanned
    )
    assert new == "---\nimage: 'https://h/x #1,2.png'\nimages: ['https://h/x #1,2.png']\n---\n"
    assert [r.url for r in scan_markdown(new).refs] == ["https://h/x #1,2.png"] * 2


def test_a_url_with_a_line_break_is_refused() -> None:
    text = "---\nimage: a.png\n---\n"
    scanned = scan_markdown(text)
    with pytest.raises(RewriteRefused, match="line 2"):
        rewrite_markdown(text, [Replacement(scanned.refs[0], "https://h/a\n.png")], scanned)


def test_the_reader_stays_linear_on_hostile_front_matter() -> None:
    size = 200_000
    hostile = [
        "---\n" + "image: '" * size + "\n---\n",
        "---\n" + 'a: "' + "\\q" * size + '"\n---\n',
        "---\n" + "a: [" * size + "\n---\n",
        "---\n" + "cover:\n  image:\n" * size + "---\n",
        "---\n" + "- " * size + "\n---\n",
        "+++\n" + 'a = ["\\q", \'' * size + "\n+++\n",
        "---\n" + "x\n" * size + "---\n",
    ]
    for text in hostile:
        began = time.perf_counter()
        scan_markdown(text)
        assert time.perf_counter() - began < 5, text[:40]


SHAPE_LINES = st.sampled_from(
    [
        "image: a.png",
        "image: 'a.png'",
        'image: "a\\u00e9.png"',
        "images:",
        "  - b.png",
        "- 'c.png'",
        "cover:",
        "  image: d.png # c",
        "  alt: x",
        "og_image: [e.png, 'f.png', \"g.png\"]",
        "description: |",
        "  image: h.png",
        "tags: [a,",
        "  b]",
        "  ",
        "# comment",
        'image = "i.png"',
        "[cover]",
        "images = ['j.png',",
        "]",
        "title: 'it''s",
        "  long'",
        '"quoted": "k.png"',
        "image:",
        "!x",
        "---",
        "+++",
        "...",
    ]
)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(
    fence=st.sampled_from(["---", "+++"]),
    lines=st.lists(st.one_of(SHAPE_LINES, st.text(max_size=12)), max_size=12),
    body=st.sampled_from(["", "![a](z.png)\n", "text\n"]),
)
def test_any_front_matter_is_read_without_raising_and_rewrites_exactly(
    fence: str, lines: list[str], body: str
) -> None:
    text = fence + "\n" + "\n".join(lines) + "\n" + fence + "\n" + body
    scanned = scan_markdown(text)
    for ref in scanned.refs:
        assert text[ref.start : ref.end] == ref.raw
    try:
        new = sync(text)
    except RewriteRefused:
        return  # refused is allowed; a wrong rewrite is not
    # Outside the rewritten spans nothing changed.
    pieces, cursor = [], 0
    for ref in sorted(scanned.local_refs, key=lambda r: r.start):
        pieces.append(text[cursor : ref.start])
        cursor = ref.end
    pieces.append(text[cursor:])
    rest = "".join(pieces)
    again = scan_markdown(new)
    kept = "".join(
        new[a:b]
        for a, b in zip(
            [0, *(r.end for r in again.refs if r.url.startswith(HOSTED.format("")))],
            [*(r.start for r in again.refs if r.url.startswith(HOSTED.format(""))), len(new)],
            strict=True,
        )
    )
    assert kept == rest


@FUZZ
@given(st.text(max_size=300))
def test_hostile_text_never_raises(text: str) -> None:
    for fence in ("---\n", "+++\n", ""):
        found = read_front_matter(fence + text + "\n" + fence.strip())
        if found is not None:
            for f in found.fields:
                assert (fence + text)[f.start : f.end] == f.raw


@pytest.mark.parametrize(
    ("written", "keys"),
    [
        ('["hero_img", "page.art"]', ("hero_img", "page.art")),
        ("[]", ()),
    ],
)
def test_front_matter_keys_are_read_from_the_config(
    tmp_path: Path, written: str, keys: tuple[str, ...]
) -> None:
    (tmp_path / "imgsync.toml").write_text(f"front_matter_keys = {written}\n")
    assert load_settings(cwd=tmp_path, env={}).front_matter_keys == keys


def test_the_default_front_matter_keys_hold_papermod_and_minimal_mistakes(tmp_path: Path) -> None:
    (tmp_path / "imgsync.toml").write_text("")
    keys = load_settings(cwd=tmp_path, env={}).front_matter_keys
    assert {"image", "images", "cover.image", "header.overlay_image", "og_image"} <= set(keys)


@pytest.mark.parametrize("written", ['"image"', '["a.b.c"]', '["cover image"]', '[""]', "[1]"])
def test_a_front_matter_key_imgsync_cannot_find_is_a_config_error(
    tmp_path: Path, written: str
) -> None:
    (tmp_path / "imgsync.toml").write_text(f"front_matter_keys = {written}\n")
    with pytest.raises(
        ConfigError, match="`front_matter_keys` must be a list of front matter keys"
    ):
        load_settings(cwd=tmp_path, env={})


def test_the_check_refuses_a_front_matter_changed_beyond_its_image_fields() -> None:
    old = "---\ntitle: One\nimage: a.png\n---\nText.\n"
    scanned = scan_markdown(old)
    replacement = Replacement(scanned.refs[0], "https://h/a.png")
    good = "---\ntitle: One\nimage: https://h/a.png\n---\nText.\n"
    verify_rewrite(old, good, [replacement], scanned)
    for bad in (
        "---\ntitle: Two\nimage: https://h/a.png\n---\nText.\n",  # another field changed
        "---\ntitle: One\nimage: https://h/a.png\n---\nText!\n",  # the Markdown changed
        "---\ntitle: One\nbanner: https://h/a.png\n---\nText.\n",  # another key
        "---\ntitle: One\nimage: https://h/b.png\n---\nText.\n",  # another URL
    ):
        with pytest.raises(RewriteRefused):
            verify_rewrite(old, bad, [replacement], scanned)
