"""Find the image URLs of raw HTML as a browser reads them.

`<img src>` and `<img srcset>`, `<source srcset>` (inside `<picture>`), `<video poster>`,
and `<a href>` (a download link beside a figure; scan.py counts it only when it names an
image file, as it does a Markdown link).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .destinations import decode_html_attribute, local_target, looks_like_image_path

_COMMENT_END = re.compile("--!?>")
_SPACE = "\t\n\f\r "  # HTML's whitespace, not Unicode's
_NAME_END = _SPACE + "/>"
# The attributes of each element that hold image URLs: "srcset" ones hold a candidate list.
IMAGE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "img": ("src", "srcset"),
    "source": ("srcset",),
    "video": ("poster",),
    "a": ("href",),
}
# Elements whose content is text, not markup: an <img> inside one is no image.
RAW_TEXT = frozenset(
    {"iframe", "noembed", "noframes", "plaintext", "script", "style", "textarea", "title", "xmp"}
)


@dataclass(frozen=True)
class ImgSource:
    """The span of one image URL: a `src`, `poster` or `href` value, or one `srcset` candidate."""

    start: int
    end: int
    attribute: str  # "src", "srcset", "poster" or "href"
    quote: str  # the quote around the attribute value: `"`, `'`, or "" for none


class HtmlReader:
    """Reads the raw HTML pieces of one document in order, as a browser sees them joined.

    A `<script>` or a comment left open by one piece hides what follows it,
    up to its end, in the next pieces too.
    """

    def __init__(self) -> None:
        self._closer = ""  # what ends the open comment or raw text element, if any

    @property
    def hiding(self) -> bool:
        """True while a comment, a raw text element (`<script>`) or a tag left open by the
        pieces read so far hides what follows."""
        return bool(self._closer)

    def read(self, html: str) -> tuple[list[ImgSource], list[tuple[int, str]]]:
        """The image sources of `html`, and (offset, reason) for the ones that can't be read."""
        sources: list[ImgSource] = []
        problems: list[tuple[int, str]] = []
        pos = 0
        while pos < len(html):
            if self._closer:
                pos = self._skip_hidden(html, pos)
                continue
            lt = html.find("<", pos)
            if lt == -1:
                break
            pos = self._read_markup(html, lt, sources, problems)
        return sources, problems

    def _skip_hidden(self, html: str, pos: int) -> int:
        closer, self._closer = self._closer, ""
        if closer == "-->":
            # One search for the first of either end: two would each run to the end of the
            # piece when one is missing (`--!>` always is), once per comment.
            found = _COMMENT_END.search(html, pos)
            if found:
                return found.end()
        elif closer.startswith("</"):
            lowered = html.lower()
            index = lowered.find(closer, pos)
            while index != -1:
                after = index + len(closer)
                if after == len(html) or html[after] in _NAME_END:
                    return index  # the end tag itself is read as markup
                index = lowered.find(closer, after)
        else:  # the rest of a tag or declaration: maybe a quote to close, then `>`
            while closer and (index := html.find(closer[0], pos)) != -1:
                pos, closer = index + 1, closer[1:]
            if not closer:
                return pos
        self._closer = closer
        return len(html)

    def _read_markup(
        self, html: str, lt: int, sources: list[ImgSource], problems: list[tuple[int, str]]
    ) -> int:
        following = html[lt + 1 : lt + 2]
        if html.startswith("<!--", lt):
            if html.startswith(">", lt + 4) or html.startswith("->", lt + 4):
                return html.index(">", lt + 4) + 1  # `<!-->` and `<!--->` are whole comments
            self._closer = "-->"
            return lt + 4
        if following in ("!", "?") or (following == "/" and not _is_letter(html, lt + 2)):
            self._closer = ">"  # declaration, CDATA, processing instruction: a bogus comment
            return lt + 1
        closing = following == "/"
        name_start = lt + 2 if closing else lt + 1
        if not _is_letter(html, name_start):
            return lt + 1  # a lone `<` is text
        name_end = name_start
        while name_end < len(html) and html[name_end] not in _NAME_END:
            name_end += 1
        name = html[name_start:name_end].lower()
        attributes, end = read_attributes(html, name_end)
        if end < 0:  # the tag runs on into the next piece
            if name in IMAGE_ATTRIBUTES and not closing and _may_name_image(html, name, attributes):
                problems.append((lt, f"this <{name}> tag does not end where its HTML block ends"))
            self._closer = ('"' if end == -2 else "'" if end == -3 else "") + ">"
            return len(html)
        if name in IMAGE_ATTRIBUTES and not closing:
            tag_sources(html, IMAGE_ATTRIBUTES[name], attributes, sources, problems)
        elif name in RAW_TEXT and not closing:
            self._closer = "</" + name
        return end


def find_img_sources(html: str) -> list[tuple[int, int]]:
    """Spans of every image URL (see IMAGE_ATTRIBUTES) of the tags of one HTML text."""
    sources, _ = HtmlReader().read(html)
    return [(source.start, source.end) for source in sources]


def _may_name_image(html: str, name: str, attributes: list[tuple[str, int, int]]) -> bool:
    """False for an `<a>` whose `href`, as far as it was read, is no local image."""
    if name != "a":
        return True
    for attribute, start, end in attributes:
        if attribute == "href":
            target = local_target(decode_html_attribute(html[start:end]).strip(_SPACE))
            return target is not None and looks_like_image_path(target.path)
    return False


def _is_letter(html: str, pos: int) -> bool:
    return pos < len(html) and html[pos].isascii() and html[pos].isalpha()


def read_attributes(html: str, pos: int) -> tuple[list[tuple[str, int, int]], int]:
    """(name, value start, value end) of each attribute, and where the tag ends.

    If it doesn't end in `html`: -1, or -2 (-3) when inside a `"` (`'`) quoted value.
    """
    attributes: list[tuple[str, int, int]] = []
    size = len(html)
    while True:
        while pos < size and html[pos] in _SPACE + "/":
            pos += 1
        if pos >= size:
            return attributes, -1
        if html[pos] == ">":
            return attributes, pos + 1
        name_start = pos
        pos += 1  # a name may start with `=`
        while pos < size and html[pos] not in _NAME_END + "=":
            pos += 1
        name = html[name_start:pos].lower()
        while pos < size and html[pos] in _SPACE:
            pos += 1
        if pos >= size or html[pos] != "=":
            attributes.append((name, pos, pos))
            continue
        pos += 1
        while pos < size and html[pos] in _SPACE:
            pos += 1
        if pos < size and html[pos] in "\"'":
            close = html.find(html[pos], pos + 1)
            if close == -1:
                return attributes, -2 if html[pos] == '"' else -3
            attributes.append((name, pos + 1, close))
            pos = close + 1
        else:
            value_start = pos
            while pos < size and html[pos] not in _SPACE + ">":
                pos += 1
            attributes.append((name, value_start, pos))


def tag_sources(
    html: str,
    wanted: tuple[str, ...],
    attributes: list[tuple[str, int, int]],
    sources: list[ImgSource],
    problems: list[tuple[int, str]],
) -> None:
    """The image URLs of one tag's `wanted` attributes (as read by `read_attributes`)."""
    seen: set[str] = set()
    for name, start, end in attributes:
        quote = html[start - 1] if start > 0 and html[start - 1] in "\"'" else ""
        if name in seen:
            continue  # HTML keeps the first of repeated attributes
        seen.add(name)
        if name not in wanted:
            continue
        if not quote and html.startswith("{", start):
            continue  # JSX's `src={...}` (MDX): an expression, no path; scan.py reads `require(`
        if name != "srcset":
            while start < end and html[start] in _SPACE:
                start += 1
            while end > start and html[end - 1] in _SPACE:
                end -= 1
            if start < end:
                sources.append(ImgSource(start, end, name, quote))
        else:
            candidates = _srcset_urls(html, start, end)
            # A browser splits the value after decoding `&...;`: both readings must agree.
            value = decode_html_attribute(html[start:end])
            decoded = [value[a:b] for a, b in _srcset_urls(value, 0, len(value))]
            if decoded != [decode_html_attribute(html[a:b]) for a, b in candidates]:
                problems.append((start, "this srcset splits differently once decoded"))
                continue
            sources.extend(ImgSource(a, b, "srcset", quote) for a, b in candidates)


def _srcset_urls(text: str, start: int, end: int) -> list[tuple[int, int]]:
    # "a.png 1x, b.png 2x": each candidate is a URL, then descriptors up to a comma
    # outside parentheses (the HTML standard's algorithm).
    spans = []
    pos = start
    while pos < end:
        while pos < end and (text[pos] in _SPACE or text[pos] == ","):
            pos += 1
        url_start = pos
        while pos < end and text[pos] not in _SPACE:
            pos += 1
        url_end = pos
        if url_end > url_start and text[url_end - 1] == ",":
            while url_end > url_start and text[url_end - 1] == ",":
                url_end -= 1
        else:
            in_parens = False
            while pos < end and (in_parens or text[pos] != ","):
                if text[pos] in "()":
                    in_parens = text[pos] == "("
                pos += 1
        if url_end > url_start:
            spans.append((url_start, url_end))
    return spans
