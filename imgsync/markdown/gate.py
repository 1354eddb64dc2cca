"""Quick tests before markdown-it: can a file, or a block's text, hold what scan reads?

Each test is conservative: True whenever the inline stage might make something the scan
reads, False only when it certainly can't. scan.py's `_inline_reading` combines them, and
tests/test_scan_gate.py compares the gated scan with a full parse on generated documents.
`text_may_hold_references`, the test of a whole file, is exactly scan's `_MAYBE_REFERENCE`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .destinations import IMAGE_EXTENSIONS, SCHEME
from .html_tags import IMAGE_ATTRIBUTES, RAW_TEXT

# scan's `_MAYBE_REFERENCE`, one pattern a form: a pattern of several alternatives is read
# at about 45 MB/s, one that begins with a literal character at thousands; and each is only
# searched where a substring it needs is there (text_may_hold_references).
_DESTINATION = re.compile(r"\]\s*[(\[:]")  # after a link's text, or a definition's label
_TAG = re.compile(r"<(?:img|(?:a|source|video)\s)|(?-i:<[A-Z])", re.IGNORECASE)  # MDX too
_TEMPLATE = re.compile(r"\{\{[<%]|\{%-?\s*(?:asset_|img\s)", re.IGNORECASE)  # Hugo, Hexo
_REQUIRE = re.compile(r"\brequire\(", re.IGNORECASE)  # MDX's require(
_IMPORT = re.compile(r"(?:^|\n)[ \t]*import\s", re.IGNORECASE)  # MDX's import line

# Raw HTML whose reading matters (html_tags.py's HtmlReader): a comment (an ignore marker
# among them), a declaration or processing instruction, a tag that names images, a raw text
# element (`<script>`: it hides what follows), or a component (`<Image`, `_COMPONENT` of
# scan.py). Any other tag (`<span>`, `<kbd>`, `</b>`) is read as a whole tag that names no
# image and leaves nothing open: passing it over changes nothing the scan reads.
_NAMES = "|".join(sorted(re.escape(name) for name in {*IMAGE_ATTRIBUTES, *RAW_TEXT}))
READ_HTML = re.compile(rf"<(?:[!?A-Z]|/?(?i:{_NAMES})(?![A-Za-z0-9-]))")

# Whitespace to Python's `\s`, which markdown-it's pattern of a tag allows between its
# attributes, but not to HTML (html_tags.py), which reads such a tag otherwise: a quote or
# `<` inside it may then open what hides the rest. A tag holding one is always read.
_NOT_HTML_SPACE = re.compile(r"[^\S\t\n\f\r ]")


def html_may_matter(content: str, hiding: bool) -> bool:
    """Whether the raw HTML of an inline text may change what the scan reads: a tag
    READ_HTML names, any tag while the HTML before hides what follows (`hiding`: an open
    `<script>`), or a tag that HTML and markdown-it may read apart."""
    return "<" in content and (
        hiding
        or READ_HTML.search(content) is not None
        or _NOT_HTML_SPACE.search(content) is not None
    )


# A remote or in-page destination: a scheme (two characters or more: `C:/` is a Windows
# drive), `//host` or `#anchor`. Neither `\` nor `&` can be among these first characters,
# so the decoded URL begins the same way, and destinations.local_target gives None.
_NOT_LOCAL = re.compile(rf"{SCHEME}|//|#")
# Each image extension, anywhere in a destination: a path without one is no image's
# (destinations.looks_like_image_path), for a link.
_IMAGE_EXTENSION = re.compile(
    "|".join(re.escape(suffix) for suffix in sorted(IMAGE_EXTENSIONS)), re.IGNORECASE
)
# What a bare destination can't hold (markdown-it ends it there): a space or a control.
_BARE_END = re.compile(r"[\x00-\x20\x7f]")
# What makes a destination decode to other characters than it is written with: a backslash
# escape, an entity, a percent escape (local_target unquotes the path).
_DECODED = re.compile(r"[\\&%]")


def links_may_name_images(content: str, definitions_may: bool) -> bool:
    """False when no link of this inline text can name a local image file.

    A link names one by its destination (`[a](img/a.png)`), or by a label, when one of the
    document's definitions may (`definitions_may`). An inline link's destination follows
    `](` at once, after spaces and at most one line break, possibly within `<...>`.
    """
    if definitions_may and "[" in content:
        return True
    at = content.find("](")
    while at != -1:
        if _destination_may_name_image(content, at + 2):
            return True
        at = content.find("](", at + 2)
    return False


def _destination_may_name_image(content: str, pos: int) -> bool:
    size = len(content)
    while pos < size and content[pos] in " \t\n":
        pos += 1
    if content.startswith("<", pos):
        pos += 1
        stops = [found for found in (content.find(">", pos), content.find("\n", pos)) if found >= 0]
        end = min(stops, default=size)
    else:
        bare_end = _BARE_END.search(content, pos)
        end = bare_end.start() if bare_end else size
    if _NOT_LOCAL.match(content, pos, end):
        return False
    written = content[pos:end]  # the destination is a prefix of this, or empty
    return _DECODED.search(written) is not None or _IMAGE_EXTENSION.search(written) is not None


def definitions_may_name_images(references: Mapping[str, Mapping[str, Any]]) -> bool:
    """False when none of the document's reference definitions can name a local image
    file. markdown-it keeps each one's destination normalized (`normalizeLink`): a scheme,
    `//` and `#` stay where they are, and letters and dots as written; it may add `%`
    escapes, which are taken as maybe."""
    for reference in references.values():
        href = str(reference.get("href", ""))
        if _NOT_LOCAL.match(href):
            continue
        if _DECODED.search(href) is not None or _IMAGE_EXTENSION.search(href) is not None:
            return True
    return False


def text_may_hold_references(text: str) -> bool:
    """`scan._MAYBE_REFERENCE.search(text) is not None`, four to ten times as fast: False
    only when the text certainly holds no image reference.

    `require(` ends in `e(` or `E(`, and IGNORECASE lets no other letter be an `e`; `import`
    ends in `mport`, which no other letters are, in any case, once lowered."""
    return (
        "![" in text
        or _DESTINATION.search(text) is not None
        or ("<" in text and _TAG.search(text) is not None)
        or ("{" in text and _TEMPLATE.search(text) is not None)
        or (("e(" in text or "E(" in text) and _REQUIRE.search(text) is not None)
        or ("mport" in text.lower() and _IMPORT.search(text) is not None)
    )
