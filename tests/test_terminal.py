"""Printed text: controls escaped visibly, no CI workflow command, JSON still decoding the same."""

from __future__ import annotations

import json

import pytest

from imgsync.terminal import escape_controls, safe_document, safe_line


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("post.md:3: img/a.png", "post.md:3: img/a.png"),
        ("café/日本語 ü.png -> https://h/a.png", "café/日本語 ü.png -> https://h/a.png"),
        ("a\nb\rc\td", "a\\nb\\rc\\td"),
        ("\x1b[2Jcleared", "\\x1b[2Jcleared"),
        ("del\x7f c1\x85\x9b", "del\\x7f c1\\x85\\x9b"),
        ("line\u2028para\u2029", "line\\u2028para\\u2029"),
        ("evil\u202egnp.exe", "evil\\u202egnp.exe"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("bad\udcffbyte", "bad\\udcffbyte"),
        ("C:\\Users\\a.png", "C:\\Users\\a.png"),  # backslashes stay as written
    ],
)
def test_escape_controls(text: str, shown: str) -> None:
    assert escape_controls(text) == shown
    assert safe_line(text) == shown


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("::error file=README.md,line=1::PWNED", "\\x3a:error file=README.md,line=1::PWNED"),
        ("   ::warning::x", "   \\x3a:warning::x"),
        ("\u034f::error::x", "\u034f\\x3a:error::x"),  # a mark a runner's search may skip
        ("\u200b::error::x", "\\u200b::error::x"),  # escaped, so the line starts with `\`
        ("e\n::error file=README.md,line=1::PWNED\n.md:1: a.png", None),
        ("error: a.md: ##vso[task.setvariable variable=X]1", "error: a.md: \\x23#vso[task."),
        ("x ##[error]boom", "x \\x23#[error]boom"),
        ("x ##VSO[task.complete]", "x \\x23#VSO[task.complete]"),
        ("a#b.png: ## heading, a: b::c", "a#b.png: ## heading, a: b::c"),
        ("café #\u034f#vso[x]", "café \\x23\u034f#vso[x]"),  # a skipped mark between
        (" \u00a0\ufe0f:\u034f:error::x", " \u00a0\ufe0f\\x3a\u034f:error::x"),
    ],
)
def test_no_line_starts_a_workflow_command(line: str, shown: str | None) -> None:
    safe = safe_line(line)
    if shown is not None:
        assert safe.startswith(shown)
    assert "\n" not in safe and not safe.lstrip().startswith("::")
    assert "##[" not in safe.lower() and "##vso[" not in safe.lower()
    assert safe_line(safe) == safe  # printing it again changes nothing more


def test_a_json_document_decodes_to_the_same_values_and_prints_safely() -> None:
    values = {
        "name": "é\x7f\x85\x9b\u2028\u202e\U000e0001\udcff##vso[x]",
        "plain": "日本語 a#b",
        "line": "::error::x",
    }
    text = json.dumps(values, indent=2, ensure_ascii=False)
    safe = safe_document(text)

    assert json.loads(safe) == values
    assert safe.isascii() is False  # readable text stays readable
    assert "日本語 a#b" in safe and "é" in safe
    for line in safe.split("\n"):
        assert line.isprintable()
        assert safe_line(line) == line
    assert safe_document(json.dumps({"a": "b"}, indent=2)) == json.dumps({"a": "b"}, indent=2)


def test_github_annotations_keep_their_escaping_and_show_other_controls() -> None:
    from imgsync.render import escape_data, escape_property

    assert escape_data("a 100% b\r\nc") == "a 100%25 b%0D%0Ac"  # as before
    assert escape_data("\x1b[2J\u202e") == "\\x1b[2J\\u202e"
    assert escape_property("a:b,\x07") == "a%3Ab%2C\\x07"
