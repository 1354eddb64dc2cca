"""Replace destinations in a Markdown text, then prove nothing else changed (pure)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .errors import RewriteRefused
from .markdown import front_matter
from .markdown.destinations import (
    encode_html_attribute,
    encode_markdown_destination,
    shortcode_can_hold,
    srcset_can_hold,
)
from .rewrite_shape import check_same_shape, renderer
from .scan import ImageRef, ScanResult, scan_markdown


@dataclass(frozen=True)
class Replacement:
    """Point `ref` at `url` (the hosted URL, query and fragment already joined)."""

    ref: ImageRef
    url: str


def rewrite_markdown(
    text: str, replacements: Sequence[Replacement], scanned: ScanResult | None = None
) -> str:
    """`text` with each replacement applied, checked; RewriteRefused if the check fails.

    `scanned` is scan_markdown(text) when the caller has it: one parse less.
    """
    if not replacements:
        return text
    ordered = sorted(replacements, key=lambda r: r.ref.start)
    for before, after in itertools.pairwise(ordered):
        if after.ref.start < before.ref.end:
            raise RewriteRefused(f"line {after.ref.line}: two replacements overlap")
    pieces: list[str] = []
    cursor = 0
    for replacement in ordered:
        ref = replacement.ref
        if text[ref.start : ref.end] != ref.raw:
            raise RewriteRefused(f"line {ref.line}: the text changed since it was scanned")
        pieces.append(text[cursor : ref.start])
        pieces.append(format_destination(ref, replacement.url))
        cursor = ref.end
    pieces.append(text[cursor:])
    new_text = "".join(pieces)
    verify_rewrite(text, new_text, ordered, scanned)
    return new_text


# An Obsidian embed's display text that is a size: a width, or a width and a height.
_SIZE = re.compile(r"\d+(?:x\d+)?")
# ASCII punctuation but `|`, backslash-escaped in an alt text so that it stays text.
_ALT_PUNCTUATION = re.compile(r"[!-/:-@\[-`{}~]")


def format_destination(ref: ImageRef, url: str) -> str:
    """The text to write in place of `ref.raw` so that it reads back as `url` (an embed's:
    the whole Markdown image that replaces it)."""
    if ref.kind == "embed":
        return embed_image(ref, url)
    if ref.kind == "front_matter":
        try:
            return front_matter.encode_value(ref.quote, url)
        except ValueError as error:
            raise RewriteRefused(f"line {ref.line}: cannot write {url!r}: {error}") from None
    if ref.kind in ("html", "jsx"):  # JSX decodes a string's entities as HTML does
        if ref.attribute == "srcset" and not srcset_can_hold(url):
            raise RewriteRefused(f"line {ref.line}: {url!r} cannot stand in a srcset list")
        encoded = encode_html_attribute(url, quoted=bool(ref.quote))
        # A JSX tag is text to Markdown, as a shortcode is: the same rule keeps markup out.
        if ref.kind == "jsx" and not shortcode_can_hold(encoded, ref.quote):
            raise RewriteRefused(f"line {ref.line}: {url!r} cannot stand in this JSX tag")
        return encoded
    if ref.kind == "shortcode":
        if not shortcode_can_hold(url, ref.quote):
            raise RewriteRefused(f"line {ref.line}: {url!r} cannot stand in a figure shortcode")
        return url
    try:
        return encode_markdown_destination(url, angle=ref.angle)
    except ValueError as error:
        raise RewriteRefused(f"line {ref.line}: cannot write {url!r}: {error}") from None


def embed_image(ref: ImageRef, url: str) -> str:
    """The Markdown image Obsidian shows as the embed `ref`, at `url`: `![[a.png|300]]` ->
    `![|300](url)` (Obsidian reads a `|size` at the end of an image's alt text as its size),
    `![[a.png|a caption]]` -> `![a caption](url)`. In a table cell, where the embed's `|` was
    written `\\|`, so is the new one."""
    return f"![{embed_alt_source(ref)}]({format_destination(replace(ref, kind='image'), url)})"


def embed_alt_source(ref: ImageRef) -> str:
    """How the alt text of an embed's new image is written: a size after a `|`, else the
    display text with its punctuation escaped, so that it stays text."""
    pipe = "\\|" if "\\|" in ref.raw else "|"  # a table cell's, escaped
    display = ref.attribute
    if _SIZE.fullmatch(display):
        return pipe + display
    return _ALT_PUNCTUATION.sub(lambda m: "\\" + m.group(), display).replace("|", pipe)


def _embed_alt_seen(ref: ImageRef) -> str:
    """`embed_alt_source(ref)` as the scanner sees it (a table cell's `\\|` read as `|`)."""
    source = embed_alt_source(ref)
    return source.replace("\\|", "|") if "\\|" in ref.raw else source


def verify_rewrite(
    old: str,
    new: str,
    replacements: Sequence[Replacement],
    old_scan: ScanResult | None = None,
) -> None:
    """Re-parse `new` and prove it differs from `old` only in the intended destinations.

    `old_scan` is scan_markdown(old) when the caller has it.
    """
    wanted = {r.ref.start: r for r in replacements}
    old_scan = old_scan or scan_markdown(old)
    new_scan = scan_markdown(
        new, old_scan.front_matter_keys, old_scan.dialect, pass_over=old_scan.links_passed_over
    )
    if old_scan.problems != new_scan.problems or _told(old_scan) != _told(new_scan):
        raise RewriteRefused("the rewritten text could not be checked (see its problems)")
    if len(old_scan.refs) != len(new_scan.refs):
        count = f"{len(old_scan.refs)} -> {len(new_scan.refs)}"
        raise RewriteRefused(f"the rewrite changed the number of image references ({count})")
    md = renderer()
    allowed: set[tuple[str, str]] = set()
    shift = 0
    old_masks, new_masks = _masked_spans(old_scan), _masked_spans(new_scan)
    new_raw_spaces: list[tuple[int, int]] = []  # where Typora's raw-space images now stand
    for old_ref, new_ref in zip(old_scan.refs, new_scan.refs, strict=True):
        replacement = wanted.get(old_ref.start)
        expected, raw = old_ref.url, old_ref.raw
        if replacement is not None:
            if (replacement.ref.kind, replacement.ref.end) != (old_ref.kind, old_ref.end):
                raise RewriteRefused(f"line {old_ref.line}: the reference to replace is stale")
            expected, raw = replacement.url, format_destination(old_ref, replacement.url)
        if replacement is not None and old_ref.kind == "embed":
            _check_embed_image(old_ref, new_ref, old_ref.start + shift, replacement.url)
            new_masks.append((old_ref.start + shift, old_ref.start + shift + len(raw)))
        # The parser must find each destination exactly where it was written (a front
        # matter value at the same key).
        elif (new_ref.kind, new_ref.start, new_ref.raw, new_ref.url, new_ref.attribute) != (
            old_ref.kind,
            old_ref.start + shift,
            raw,
            expected,
            old_ref.attribute,
        ):
            raise RewriteRefused(
                f"line {old_ref.line}: the new destination reads back as {new_ref.url!r}, "
                f"not {expected!r}"
            )
        if old_ref.text_span is not None:
            if replacement is not None and new_ref.text_span is not None:
                raise RewriteRefused(f"line {old_ref.line}: the new image does not read as one")
            opens, closes = old_ref.text_span
            new_raw_spaces.append((opens + shift, closes + shift + len(raw) - len(old_ref.raw)))
        shift += len(raw) - len(old_ref.raw)
        if replacement is not None:  # (a link left as it was is compared equal)
            allowed.add((md.normalizeLink(old_ref.url), md.normalizeLink(expected)))
    if len(wanted) != sum(1 for ref in old_scan.refs if ref.start in wanted):
        raise RewriteRefused("a replacement names a reference the text does not have")
    old_body, new_body = _after_front_matter(old, old_scan), _after_front_matter(new, new_scan)
    if old_body[0] != new_body[0]:
        raise RewriteRefused("the rewrite would change the front matter beyond its image fields")
    old_masks += _raw_space_spans(old_scan)
    new_masks += new_raw_spaces
    check_same_shape(
        _mask(old, old_body[1], old_masks), _mask(new, new_body[1], new_masks), allowed
    )


def _check_embed_image(old_ref: ImageRef, new_ref: ImageRef, at: int, url: str) -> None:
    """The embed `old_ref`, rewritten at `at`, must read back as a Markdown image there, with
    the alt text that gives Obsidian its size and `url` as its destination."""
    alt = embed_alt_source(old_ref)
    if (new_ref.kind, new_ref.start, new_ref.url, new_ref.alt) != (
        "image",
        at + len(alt) + 4,  # after `![`, the alt text and `](`
        url,
        _embed_alt_seen(old_ref),
    ):
        raise RewriteRefused(
            f"line {old_ref.line}: the embed's new image reads back as {new_ref.url!r} "
            f"(alt text {new_ref.alt!r}), not {url!r}"
        )


def _masked_spans(scanned: ScanResult) -> list[tuple[int, int]]:
    """The spans of `scanned`'s text compared reference by reference, not as Markdown: a
    shortcode's values (to Markdown, a shortcode is text; `shortcode_can_hold` keeps markup
    out) and Obsidian embeds (text to Markdown, an image to Obsidian, and once rewritten a
    Markdown image checked by `_check_embed_image`), and JSX sources (text to Markdown too)."""
    masked = ("shortcode", "embed", "jsx")
    return [(ref.start, ref.end) for ref in scanned.refs if ref.kind in masked]


def _raw_space_spans(scanned: ScanResult) -> list[tuple[int, int]]:
    """Each whole Typora raw-space image (`![](a b.png)`): text before its rewrite, an image
    after it; the reference itself is compared reference by reference, at the same spot."""
    return [ref.text_span for ref in scanned.refs if ref.text_span is not None]


def _mask(text: str, body: str, spans: Sequence[tuple[int, int]]) -> str:
    """`body` (the end of `text`) with each span of `text` (text offsets; none overlap) that
    falls in it made one NUL."""
    offset = len(text) - len(body)
    pieces, cursor = [], 0
    for start, end in sorted(spans):
        if start >= offset:
            pieces += [body[cursor : start - offset], "\0"]
            cursor = end - offset
    if not pieces:
        return body
    pieces.append(body[cursor:])
    return "".join(pieces)


def _after_front_matter(text: str, scan: ScanResult) -> tuple[str | None, str]:
    """The front matter with its image fields cut out (None: there is none), and the
    Markdown after it, which site generators read without the front matter."""
    end = front_matter.front_matter_end(text)
    if end is None:
        return None, text
    pieces, cursor = [], 0
    for ref in scan.refs:
        if ref.kind == "front_matter":
            pieces.append(text[cursor : ref.start])
            pieces.append("\0")
            cursor = ref.end
    pieces.append(text[cursor:end])
    return "".join(pieces), text[end:]


def _told(scan: ScanResult) -> list[tuple[int, str, str]]:
    """The unhandled images of a scan but where they start, which a rewrite before them moves."""
    return [(item.line, item.reason, item.image) for item in scan.unhandled]
