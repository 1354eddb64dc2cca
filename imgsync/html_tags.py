"""Find the image sources of raw HTML: `<img src>` and `<img srcset>` (pure)."""

from __future__ import annotations

import re

# Regions whose content is not markup: never look inside them.
_SKIPPED = re.compile(
    r"<!--.*?(?:-->|\Z)|<(script|style|textarea)\b.*?(?:</\1\s*>|\Z)", re.IGNORECASE | re.DOTALL
)
_IMG_TAG = re.compile(r"<img(?=[\s/>])", re.IGNORECASE)
_ATTRIBUTE = re.compile(
    r"""\s*(?P<name>[^\s"'>/=]+)(?:\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<uq>[^\s"'=<>`]+)))?"""
)


def find_img_sources(html: str) -> list[tuple[int, int]]:
    """Spans of every `src` value and `srcset` URL of the `<img>` tags of `html`."""
    spans: list[tuple[int, int]] = []
    skipped = [(m.start(), m.end()) for m in _SKIPPED.finditer(html)]
    for tag in _IMG_TAG.finditer(html):
        if any(start <= tag.start() < end for start, end in skipped):
            continue
        spans.extend(_source_spans(html, tag.end()))
    return spans


def _source_spans(html: str, pos: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    seen: set[str] = set()
    while pos < len(html):
        while pos < len(html) and html[pos] in " \t\n\r\f/":
            pos += 1
        if pos >= len(html) or html[pos] == ">":
            break
        match = _ATTRIBUTE.match(html, pos)
        if match is None or match.end() == pos:
            break
        pos = match.end()
        name = match.group("name").lower()
        group = next((g for g in ("dq", "sq", "uq") if match.group(g) is not None), None)
        if group is None or name in seen:
            seen.add(name)
            continue
        seen.add(name)  # HTML keeps the first of repeated attributes
        start, end = match.start(group), match.end(group)
        if name == "src" and start < end:
            spans.append((start, end))
        elif name == "srcset":
            spans.extend(_srcset_spans(html, start, end))
    return spans


def _srcset_spans(html: str, start: int, end: int) -> list[tuple[int, int]]:
    # "a.png 1x, b.png 2x": each candidate is a URL, then an optional descriptor.
    spans = []
    pos = start
    while pos < end:
        while pos < end and (html[pos].isspace() or html[pos] == ","):
            pos += 1
        url_start = pos
        while pos < end and not html[pos].isspace():
            pos += 1
        url_end = pos
        ends_candidate = url_end > url_start and html[url_end - 1] == ","
        if ends_candidate:
            url_end -= 1
        if url_end > url_start:
            spans.append((url_start, url_end))
        while not ends_candidate and pos < end and html[pos] != ",":
            pos += 1
    return spans
