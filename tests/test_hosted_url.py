"""The one check every hosted URL passes, from a host's reply or from the cache."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imgsync.hosted_url import http_allowed, quoted, site, url_problem

# The characters no URL may hold, as the rule reads: not printable (controls, format and
# separator characters), or printable but unsafe in HTML and Markdown.
UNSAFE_PRINTABLE = ' "<>\\^`{|}'


def first_unsafe(url: str) -> str | None:
    return next((c for c in url if not c.isprintable() or c in UNSAFE_PRINTABLE), None)


@pytest.mark.parametrize(
    "url",
    [
        "https://img.example.com/i/2026/11/23/abc.png",
        "https://img.example.com:8443/a.png?w=300#top",
        "https://cdn.pichub.app/123.webp?w=10&h=20",
        "https://例え.jp/画像.png",  # an IRI: browsers and Markdown take it as it is
        "https://[::1]/a.png",
        "https://img.example.com/a%20b.png",
        "https://img.example.com/" + "a" * 1000 + ".png",  # longer than the memo keeps
    ],
)
def test_real_https_urls_pass(url: str) -> None:
    assert url_problem(url, allow_http=False) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("javascript:alert(1)", "its scheme is javascript:"),
        ("JaVaScRiPt:alert(1)", "its scheme is javascript:"),
        ("data:image/png;base64,AAAA", "its scheme is data:"),
        ("file:///etc/passwd", "its scheme is file:"),
        ("../../../etc/passwd", "not an absolute URL"),
        ("//evil.test/a.png", "not an absolute URL"),
        ("img/a.png", "not an absolute URL"),
        ("https:///a.png", "names no host"),
        ("https:evil.test/a.png", "names no host"),
        ("https://user:pw@evil.test/a.png", "user info"),
        ("https://img.test:0/a.png", "port is not valid"),
        ("https://img.test:99999/a.png", "not a well-formed URL"),
        ("https://[::1/a.png", "not a well-formed URL"),
        ("https://img.test/a.png\n<script>", "U+000A"),
        ("https://img.test/a.png\r", "U+000D"),
        ("https://img.test/a\tb.png", "U+0009"),
        ("https://img.test/a b.png", "a space"),
        (" https://img.test/a.png", "a space"),
        ("https://img.test/a\u00a0b.png", "U+00A0"),
        ("https://img.test/a\u202egnp.exe", "U+202E"),
        ("https://img.test/a\u200b.png", "U+200B"),
        ("https://img.test/\x1b[31m.png", "U+001B"),
        ('https://img.test/a.png" onerror="x', "'\"'"),
        ("https://img.test/<script>.png", "'<'"),
        ("https://img.test/a.png)![x](y", None),  # parentheses are legal; writers escape them
        ("https:\\\\evil.test\\a.png", "'\\\\'"),
        ("http://img.example.com/a.png", "plain http://"),
        ("", "empty"),
        ("https://img.test/" + "a" * 5000, "longer than 4096"),
        ("https://img.test/" + "a" * 1000 + " .png", "a space"),
        ("javascript:" + "a" * 1000, "its scheme is javascript:"),
    ],
)
def test_anything_else_is_refused_with_a_reason(url: str, reason: str | None) -> None:
    problem = url_problem(url, allow_http=False)
    if reason is None:
        assert problem is None
    else:
        assert problem is not None and reason in problem


@pytest.mark.parametrize("code", range(128))
def test_each_ascii_character_is_refused_exactly_when_the_rule_says(code: int) -> None:
    char = chr(code)
    for url in (f"https://img.test/a{char}b.png", f"https://img.test/\u00e9{char}.png"):
        problem = url_problem(url, allow_http=False)
        if first_unsafe(url) is None:
            assert problem is None or "it holds" not in problem
        else:
            assert problem is not None and problem.startswith("it holds ")


@given(
    st.text(st.characters(codec="utf-8", max_codepoint=0x7F), max_size=40)
    | st.text(st.characters(codec="utf-8"), max_size=40)
)
def test_the_first_unsafe_character_is_the_one_named(tail: str) -> None:
    # ASCII-only URLs take a faster path than the others: both must name the same character.
    url = "https://img.test/" + tail
    problem = url_problem(url, allow_http=False)
    unsafe = first_unsafe(url)
    if unsafe is None:
        assert problem is None or "it holds" not in problem
    else:
        reference = url_problem("https://img.test/\u00e9" + unsafe, allow_http=False)
        assert problem == reference


def test_non_text_is_refused() -> None:
    assert url_problem(None, allow_http=True) == "it is not text"
    assert url_problem(["https://a.test/x"], allow_http=True) == "it is not text"


def test_http_passes_only_when_allowed() -> None:
    assert url_problem("http://127.0.0.1:8080/a.png", allow_http=True) is None
    assert url_problem("http://127.0.0.1:8080/a.png", allow_http=False) is not None
    assert url_problem("ftp://127.0.0.1/a.png", allow_http=True) == "its scheme is ftp:, not https:"


@pytest.mark.parametrize(
    ("base", "allowed"),
    [
        ("http://127.0.0.1:8080/api/v1", True),
        ("http://127.1.2.3/api/v1", True),
        ("http://localhost/api/v1", True),
        ("http://[::1]:9000/api/v1", True),
        ("https://127.0.0.1/api/v1", False),  # https needs no exception
        ("http://img.example.com/api/v1", False),
        ("http://10.0.0.1/api/v1", False),
        ("http://localhost.evil.test/api/v1", False),
        ("http://127.0.0.1.evil.test/api/v1", False),
        ("", False),
        (None, False),
        ("http://[::1/api", False),
    ],
)
def test_http_is_allowed_only_for_a_host_on_loopback(base: str | None, allowed: bool) -> None:
    assert http_allowed(base) is allowed


def test_a_refused_url_is_quoted_escaped_and_short() -> None:
    assert quoted("a\nb") == "'a\\nb'"
    long = quoted("https://x.test/" + "a" * 500)
    assert long.endswith("…") and len(long) < 100
    assert quoted(42) == "(int)"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://img.example.com/a.png", "example.com"),
        ("https://a.b.cdn.example.com/a.png", "example.com"),
        ("https://img.example.co.uk/a.png", "example.co.uk"),
        ("https://example.com./a.png", "example.com"),
        ("http://127.0.0.1:9/a.png", "127.0.0.1"),
        ("https://localhost/a.png", "localhost"),
    ],
)
def test_the_site_of_a_url(url: str, expected: str) -> None:
    assert site(url) == expected
