"""Reading and writing link destinations the way CommonMark does (pure, no I/O)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import unquote

from markdown_it.common.utils import unescapeAll

# Extensions that make a plain link (not an image) worth uploading: `[![t](a.png)](a.png)`.
IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".bmp", ".avif", ".ico", ".tif", ".tiff"}
)

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]{1,31}:")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_ENTITY_LIKE = re.compile(r"&(?=#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")
_ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


@dataclass(frozen=True)
class LocalTarget:
    """A destination that names a file of the project."""

    path: str  # percent-decoded, with `/` separators; relative, or rooted at site_root if it starts with /
    suffix: str  # "?query#fragment" exactly as written, kept on the new URL


def decode_markdown_destination(raw: str) -> str:
    """The URL a Markdown destination stands for: `<a b.png>` -> `a b.png`, `a\\_b` -> `a_b`."""
    if raw.startswith("<") and raw.endswith(">"):
        raw = raw[1:-1]
    return unescapeAll(raw)


def decode_html_attribute(raw: str) -> str:
    """The URL an HTML attribute value stands for (quotes already removed)."""
    return html.unescape(raw)


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
    if not path or path.endswith("/"):
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
    has spaces or characters a bare destination can't hold.
    """
    escaped = _escape_markdown(url)
    if angle or _needs_angle_brackets(url):
        if "\n" in url or "\r" in url:
            raise ValueError("a destination cannot contain a line break")
        return "<" + escaped.replace("<", "\\<").replace(">", "\\>") + ">"
    return _escape_unbalanced_parens(escaped)


def encode_html_attribute(url: str) -> str:
    """Write `url` as the value of a double-quoted HTML attribute."""
    return html.escape(url, quote=True)


def _escape_markdown(url: str) -> str:
    # A backslash before punctuation would be taken as an escape, and `&name;`
    # as an entity: escape both so the text reads back as the URL itself.
    out = []
    for index, char in enumerate(url):
        if (char == "\\" and index + 1 < len(url) and url[index + 1] in _ASCII_PUNCTUATION) or (
            char == "\\" and index + 1 == len(url)
        ):
            out.append("\\\\")
        else:
            out.append(char)
    return _ENTITY_LIKE.sub(r"\\&", "".join(out))


def _needs_angle_brackets(url: str) -> bool:
    return any(ch == " " or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url) or url.startswith("<")


def _escape_unbalanced_parens(text: str) -> str:
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                break
    if depth == 0:
        return text
    return text.replace("(", "\\(").replace(")", "\\)")
