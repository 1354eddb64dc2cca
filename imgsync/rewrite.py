"""Replace destinations in a Markdown text, then prove nothing else changed (pure)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from .destinations import encode_html_attribute, encode_markdown_destination
from .html_tags import find_img_sources
from .scan import ImageRef, scan_markdown


class RewriteRefused(Exception):
    """The rewritten text would differ from the original in more than its destinations."""


@dataclass(frozen=True)
class Replacement:
    """Point `ref` at `url` (the hosted URL, query and fragment already joined)."""

    ref: ImageRef
    url: str


def rewrite_markdown(text: str, replacements: Sequence[Replacement]) -> str:
    """`text` with each replacement applied, checked; RewriteRefused if the check fails."""
    if not replacements:
        return text
    ordered = sorted(replacements, key=lambda r: r.ref.start)
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.ref.start < before.ref.end:
            raise RewriteRefused("two replacements overlap")
    pieces: list[str] = []
    cursor = 0
    for replacement in ordered:
        ref = replacement.ref
        if text[ref.start : ref.end] != ref.raw:
            raise RewriteRefused("the text changed since it was scanned")
        pieces.append(text[cursor : ref.start])
        pieces.append(format_destination(ref, replacement.url))
        cursor = ref.end
    pieces.append(text[cursor:])
    new_text = "".join(pieces)
    verify_rewrite(text, new_text, ordered)
    return new_text


def format_destination(ref: ImageRef, url: str) -> str:
    """The text to write in place of `ref.raw` so that it reads back as `url`."""
    if ref.kind == "html":
        return encode_html_attribute(url)
    try:
        return encode_markdown_destination(url, angle=ref.angle)
    except ValueError as error:
        raise RewriteRefused(f"cannot write {url!r} as a destination: {error}") from None


def verify_rewrite(old: str, new: str, replacements: Sequence[Replacement]) -> None:
    """Re-parse `new` and prove it differs from `old` only in the intended destinations."""
    wanted = {r.ref.start: r.url for r in replacements}
    old_refs, new_refs = scan_markdown(old).refs, scan_markdown(new).refs
    if len(old_refs) != len(new_refs):
        raise RewriteRefused(
            f"the rewrite changed the number of image references ({len(old_refs)} -> {len(new_refs)})"
        )
    allowed: set[tuple[str, str]] = set()
    for old_ref, new_ref in zip(old_refs, new_refs, strict=True):
        expected = wanted.get(old_ref.start, old_ref.url)
        if new_ref.kind != old_ref.kind or new_ref.url != expected:
            raise RewriteRefused(
                f"line {old_ref.line}: the new destination reads back as {new_ref.url!r}, "
                f"not {expected!r}"
            )
        md = _renderer()
        allowed.add((md.normalizeLink(old_ref.url), md.normalizeLink(expected)))
    old_shape, old_links = _shape(old)
    new_shape, new_links = _shape(new)
    if old_shape != new_shape:
        raise RewriteRefused("the rewrite would change the document beyond image destinations")
    for before, after in zip(old_links, new_links, strict=True):
        if before != after and (before, after) not in allowed:
            raise RewriteRefused(f"the rewrite would change the link {before!r} into {after!r}")


@functools.cache
def _renderer() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


def _shape(text: str) -> tuple[list[Any], list[str]]:
    """The token stream with link targets and <img> sources cut out (returned aside)."""
    env: dict[str, Any] = {}
    tokens = _renderer().parse(text, env)
    links: list[str] = []
    shape: list[Any] = []
    _flatten(tokens, shape, links)
    references = env.get("references", {})
    shape.append(sorted((label, ref.get("title")) for label, ref in references.items()))
    return shape, links


def _flatten(tokens: Sequence[Token], shape: list[Any], links: list[str]) -> None:
    for token in tokens:
        attrs = dict(token.attrs)
        for name in ("src", "href"):
            if name in attrs:
                links.append(str(attrs.pop(name)))
        content = token.content
        if token.type in ("html_block", "html_inline"):
            content = _mask_img_sources(content)
        elif token.type in ("image", "inline"):
            content = ""  # raw source holding destinations; the children are compared
        shape.append(
            (
                token.type,
                token.tag,
                token.nesting,
                content,
                token.markup,
                token.info,
                sorted(attrs.items()),
                token.block,
                token.hidden,
            )
        )
        if token.children:
            _flatten(token.children, shape, links)


def _mask_img_sources(html: str) -> str:
    pieces, cursor = [], 0
    for start, end in find_img_sources(html):
        pieces.append(html[cursor:start])
        pieces.append("\0")
        cursor = end
    pieces.append(html[cursor:])
    return "".join(pieces)
