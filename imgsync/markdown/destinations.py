"""Reading and writing link destinations the way CommonMark and HTML do (pure, no I/O)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.entities import html5
from urllib.parse import unquote

from markdown_it.common.utils import unescapeAll

# Extensions that make a plain link (not an image) worth uploading: `[![t](a.png)](a.png)`.
IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".bmp", ".avif", ".ico", ".tif", ".tiff"}
)

# A URL scheme: two characters or more (`C:/` is a Windows drive), then `:`.
SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]{1,31}:"
_SCHEME = re.compile("^" + SCHEME)
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
# What markdown-it's unescapeAll would try to read as an entity (it may still reject it).
_ENTITY_LIKE = re.compile(r"&(?=[A-Za-z#][A-Za-z0-9]{1,31};)")
_MARKDOWN_REFERENCES = {
    "|": "&#124;",
    "`": "&#96;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#39;",
}
_MARKDOWN_UNSAFE = re.compile("[|`<>\"']")
_ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_CHARACTER_REFERENCE = re.compile(r"&(?:#[xX]?[0-9A-Za-z]+;?|([A-Za-z][A-Za-z0-9]*)(;?))")
# Characters an attribute value written in place of the old one must not hold:
# quotes and tags, `|` (a table cell would end there), and for an unquoted value
# also `=`, backtick and whitespace.
_HTML_UNSAFE_QUOTED = re.compile("[&<>\"'|]")
_HTML_UNSAFE_UNQUOTED = re.compile("[&<>\"'|=`\t\n\f\r ]")
_HTML_NAMED = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_HTML_SPACE = "\t\n\f\r "


@dataclass(frozen=True)
class LocalTarget:
    """A destination that names a file of the project."""

    path: str  # percent-decoded, `/` separators; relative, or rooted at site_root if it starts `/`
    suffix: str  # "?query#fragment" exactly as written, kept on the new URL


def decode_markdown_destination(raw: str) -> str:
    """The URL a Markdown destination stands for: `<a b.png>` -> `a b.png`, `a\\_b` -> `a_b`."""
    if raw.startswith("<") and raw.endswith(">"):
        raw = raw[1:-1]
    return unescapeAll(raw)


def decode_html_attribute(raw: str) -> str:
    """The URL an HTML attribute value stands for (quotes already removed).

    As in a browser, a legacy entity without `;` stays as written in an
    attribute when a letter, digit or `=` follows it (`?a=1&copy=2`).
    """

    def replace(match: re.Match[str]) -> str:
        name, semicolon = match.group(1), match.group(2)
        if name is None:
            return html.unescape(match.group())  # numeric: always read
        if semicolon and name + ";" in html5:
            return html5[name + ";"]
        following = raw[match.end() : match.end() + 1]
        if not semicolon and name in html5 and following != "=":
            return html5[name]
        return match.group()

    return _CHARACTER_REFERENCE.sub(replace, raw) if "&" in raw else raw


def local_target(url: str) -> LocalTarget | None:
    """The project file a URL names, or None for remote, data:, anchors and empties."""
    if not url or url.startswith("#") or url.startswith("//"):
        return None
    if _SCHEME.match(url) and not _WINDOWS_DRIVE.match(url):
        return None
    cut = len(url)
    for mark in ("?", "#"):
        found = url.find(mark)
        if found != -1:
            cut = min(cut, found)
    path, suffix = url[:cut], url[cut:]
    path = unquote(path).replace("\\", "/")
    # `\\server\share` and `/\host` are network paths, not project files
    if not path or path.endswith("/") or path.startswith("//"):
        return None
    return LocalTarget(path=path, suffix=suffix)


def looks_like_image_path(path: str) -> bool:
    """True when a plain link's target has an image file extension."""
    dot = path.rfind(".")
    return dot != -1 and "/" not in path[dot:] and path[dot:].lower() in IMAGE_EXTENSIONS


def join_suffix(url: str, suffix: str) -> str:
    """Put the original `?query#fragment` back on a hosted URL."""
    if not suffix:
        return url
    base, hash_mark, fragment = url.partition("#")
    query, _, new_fragment = suffix.partition("#")
    if query:
        base += ("&" + query[1:]) if "?" in base else query
    fragment = new_fragment or fragment
    if new_fragment or hash_mark:
        return f"{base}#{fragment}"
    return base


def encode_markdown_destination(url: str, *, angle: bool) -> str:
    """Write `url` so that CommonMark reads it back as exactly `url`.

    Angle brackets are kept when the original used them, and added when the URL
    is empty or has spaces or characters a bare destination can't hold. `|`,
    backticks, `<`, `>` and quotes are written as character references: then no
    table cell, and no code span, autolink or HTML tag begun in the link text,
    can end inside the destination.
    """
    if "\n" in url or "\r" in url:
        raise ValueError("a destination cannot contain a line break")
    escaped = _MARKDOWN_UNSAFE.sub(lambda m: _MARKDOWN_REFERENCES[m.group()], _escape_markdown(url))
    if angle or _needs_angle_brackets(url):
        return f"<{escaped}>"
    return _escape_parens(escaped)


def encode_html_attribute(url: str, *, quoted: bool = True) -> str:
    """Write `url` as an HTML attribute value (within quotes or not) that reads back as `url`."""
    unsafe = _HTML_UNSAFE_QUOTED if quoted else _HTML_UNSAFE_UNQUOTED
    return unsafe.sub(lambda match: _HTML_NAMED.get(match.group(), f"&#{ord(match.group())};"), url)


def _escape_markdown(url: str) -> str:
    # A backslash before punctuation would be taken as an escape, and `&name;`
    # as an entity: escape both so the text reads back as the URL itself.
    out = []
    for index, char in enumerate(url):
        follower = url[index + 1 : index + 2]
        if char == "\\" and (not follower or follower in _ASCII_PUNCTUATION):
            out.append("\\\\")
        else:
            out.append(char)
    return _ENTITY_LIKE.sub(r"\\&", "".join(out))


def _needs_angle_brackets(url: str) -> bool:
    return not url or any(ch == " " or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url)


def _escape_parens(text: str) -> str:
    # A bare destination needs balanced parentheses, nested at most 32 deep.
    depth = deepest = 0
    for char in text:
        if char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth -= 1
            if depth < 0:
                break
    if depth == 0 and deepest <= 32:
        return text
    return text.replace("(", "\\(").replace(")", "\\)")


def srcset_can_hold(url: str) -> bool:
    """True when `url` can stand as one candidate of a `srcset` list."""
    return (
        bool(url)
        and not any(ch in _HTML_SPACE for ch in url)
        and not url.startswith(",")
        and not url.endswith(",")
    )


def shortcode_can_hold(url: str, quote: str) -> bool:
    """True when `url` can stand as a Hugo shortcode's value in `quote` ("" for none).

    Hugo reads the value as written (no escapes); and to Markdown the shortcode is text, so
    the value must not bring in what Markdown reads as markup (`*`, `` ` ``, `<`, `\\`,
    an `_` that could open emphasis, ...): the document around it keeps its shape.
    """
    if not url or _SHORTCODE_UNSAFE.search(url) or (quote and quote in url):
        return False
    if not quote and any(ch in "\"'`" for ch in url):
        return False
    return all(
        0 < index < len(url) - 1 and url[index - 1].isalnum() and url[index + 1].isalnum()
        for index, char in enumerate(url)
        if char == "_"
    )


_SHORTCODE_UNSAFE = re.compile(r"[\s*`<>\\\[\]$|{}]")
