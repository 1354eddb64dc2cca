"""Read a JSX tag (MDX, as Docusaurus writes it) whose attributes CommonMark can't read as HTML.

`<img src="/img/a.png" width={280} style={{ margin: 10 }} />` is text to CommonMark (a value
in braces is not HTML), but MDX renders it, and its `src` is a plain string: hosted in place,
exactly as an HTML attribute is. Values in braces are JavaScript, read only to find where they
end (strings, template literals and nested braces skipped whole), never taken for a path.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_NAME = re.compile(r"[A-Za-z_$][\w$.:-]*")
_SPACE = " \t\n\r"
# A tag is read this far at most: a paragraph of a thousand `<img a={` left open, each read
# to the end, would take hours; a real JSX tag is far shorter.
MAX_TAG = 4096


class JsxTag(NamedTuple):
    """The attributes of a JSX tag as read: its string values, its values in braces."""

    strings: list[tuple[str, int, int, str]]  # (name, value start, value end, quote)
    expressions: list[tuple[int, int]]  # the spans of its `{...}`, braces included
    end: int  # where the tag ends, after its `>`


def jsx_attributes(text: str, pos: int) -> tuple[list[tuple[str, int, int, str]], int] | None:
    """(name, value start, value end, quote) of each string-valued attribute of the JSX tag
    whose attributes begin at `pos` (after `<img`), and where the tag ends; None when it is
    not a JSX tag that ends (`>` or `/>`), or when no value is in braces (then it is HTML's)."""
    tag = read_jsx_tag(text, pos)
    if tag is None or not tag.expressions:
        return None
    return tag.strings, tag.end


def read_jsx_tag(text: str, pos: int) -> JsxTag | None:
    """The JSX tag whose attributes begin at `pos` (after `<Name`); None when it does not
    end (`>` or `/>`) within MAX_TAG characters, or is not JSX."""
    attributes: list[tuple[str, int, int, str]] = []
    expressions: list[tuple[int, int]] = []
    size = min(len(text), pos + MAX_TAG)
    while True:
        while pos < size and text[pos] in _SPACE:
            pos += 1
        if pos >= size:
            return None
        if text.startswith("/>", pos):
            return JsxTag(attributes, expressions, pos + 2)
        if text.startswith(">", pos):
            return JsxTag(attributes, expressions, pos + 1)
        if text.startswith("{", pos):  # a spread, `{...props}`
            end = _braces_end(text, pos, size)
            if end is None:
                return None
            expressions.append((pos, end))
            pos = end
            continue
        name = _NAME.match(text, pos)
        if name is None:
            return None
        pos = name.end()
        while pos < size and text[pos] in _SPACE:
            pos += 1
        if not text.startswith("=", pos):
            continue  # a bare attribute: true
        pos += 1
        while pos < size and text[pos] in _SPACE:
            pos += 1
        if pos < size and text[pos] in "\"'":
            close = text.find(text[pos], pos + 1, size)  # a JSX string has no escapes
            if close == -1:
                return None
            attributes.append((name.group().lower(), pos + 1, close, text[pos]))
            pos = close + 1
        elif text.startswith("{", pos):
            end = _braces_end(text, pos, size)
            if end is None:
                return None
            expressions.append((pos, end))
            pos = end
        else:
            return None


def _braces_end(text: str, pos: int, size: int) -> int | None:
    """Where the `{...}` at `pos` ends (before `size`), its strings and nested braces
    skipped; None if it doesn't."""
    depth = 0
    while pos < size:
        char = text[pos]
        if char in "\"'`":
            pos = _string_end(text, pos, size)
            if pos < 0:
                return None
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return pos + 1
        pos += 1
    return None


def _string_end(text: str, pos: int, size: int) -> int:
    """Where the JavaScript string at `pos` ends (after its quote); -1 if it doesn't."""
    quote, pos = text[pos], pos + 1
    while pos < size:
        if text[pos] == "\\":
            pos += 2
            continue
        if text[pos] == quote:
            return pos + 1
        if text[pos] == "\n" and quote != "`":
            return -1
        pos += 1
    return -1


def expression_strings(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The spans of the contents of the JavaScript strings in `text[start:end]` (one
    expression), template literals with `${` left out (not one path)."""
    spans, pos = [], start
    while pos < end:
        if text[pos] in "\"'`":
            close = _string_end(text, pos, end)
            if close < 0:
                break
            if not (text[pos] == "`" and "${" in text[pos:close]):
                spans.append((pos + 1, close - 1))
            pos = close
        else:
            pos += 1
    return spans
