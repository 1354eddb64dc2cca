"""The last check of a rewrite: the document reads the same but for its destinations (pure).

Both texts are parsed by plain markdown-it (CommonMark and tables, none of the scanner's
wrapping), and their token streams compared with link targets and raw HTML image sources
cut out; those are compared aside, each pair equal or one of the rewrite's. The block
stage is compared whole. An inline text that reads the same in both (most of a file: a
rewrite changes a few destinations) makes the same tokens in both, as inline parsing
depends only on the text and on the labels of the definitions, which are compared: its
inline stage is run only where its raw HTML may change how later HTML is read.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from .errors import RewriteRefused
from .markdown.gate import html_may_matter
from .markdown.html_tags import HtmlReader
from .markdown.parser import block_stage, quicken


@functools.cache
def renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark").enable("table")
    quicken(md)
    return md


def check_same_shape(old: str, new: str, allowed: Collection[tuple[str, str]]) -> None:
    """RewriteRefused unless `new` reads as `old` does, but for link targets and image
    sources changed into one of the `allowed` (before, after) pairs (normalized links)."""
    md = renderer()
    old_env: dict[str, Any] = {}
    new_env: dict[str, Any] = {}
    old_blocks, new_blocks = block_stage(md, old, old_env), block_stage(md, new, new_env)
    if len(old_blocks) != len(new_blocks):
        raise RewriteRefused("the rewrite would change the document beyond image destinations")
    old_side, new_side = _Side(), _Side()
    for before, after in zip(old_blocks, new_blocks, strict=True):
        old_side.add(before)
        new_side.add(after)
        if before.type == "inline" and after.type == "inline":
            same = before.content == after.content
            if not same or html_may_matter(before.content, old_side.html.hiding):
                old_side.add_inline(md, before, old_env)
                new_side.add_inline(md, after, new_env)
        if old_side.shape != new_side.shape:
            raise RewriteRefused("the rewrite would change the document beyond image destinations")
        old_side.shape.clear()
        new_side.shape.clear()
    old_refs, new_refs = old_env.get("references", {}), new_env.get("references", {})
    if sorted(_labels(old_refs)) != sorted(_labels(new_refs)):
        raise RewriteRefused("the rewrite would change the document beyond image destinations")
    for label in sorted(old_refs):
        old_side.links.append(str(old_refs[label].get("href", "")))
        new_side.links.append(str(new_refs[label].get("href", "")))
    for before_link, after_link in zip(old_side.links, new_side.links, strict=True):
        if before_link != after_link and (before_link, after_link) not in allowed:
            raise RewriteRefused(
                f"the rewrite would change the link {before_link!r} into {after_link!r}"
            )


def _labels(references: dict[str, dict[str, Any]]) -> list[tuple[str, Any]]:
    return [(label, reference.get("title")) for label, reference in references.items()]


class _Side:
    """One text's tokens, flattened into `shape` (compared block by block, then cleared) and
    `links` (the link targets and image sources cut out, compared at the end)."""

    def __init__(self) -> None:
        self.shape: list[Any] = []
        self.links: list[str] = []
        self.html = HtmlReader()  # raw HTML as a browser joins it: image sources masked

    def add(self, token: Token, in_alt: bool = False) -> None:
        attrs = dict(token.attrs)
        for name in ("src", "href"):
            if name in attrs:
                self.links.append(str(attrs.pop(name)))
        content = token.content
        if token.type in ("html_block", "html_inline") and not in_alt:
            content = self._mask_img_sources(content)
        elif token.type in ("image", "inline"):
            content = ""  # raw source holding destinations; the children are compared
        self.shape.append(
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
        for child in token.children or ():
            self.add(child, in_alt or token.type == "image")

    def add_inline(self, md: MarkdownIt, token: Token, env: dict[str, Any]) -> None:
        """The inline tokens of `token`, as markdown-it's core makes them (its inline stage,
        then what follows it: `text_join`)."""
        children: list[Token] = []
        md.inline.parse(token.content, md, env, children)
        holder = Token("inline", "", 0, content=token.content, children=children)
        state = StateCore("", md, env)
        state.tokens = [holder]
        after_inline = False
        for rule in md.core.ruler.__rules__:
            if after_inline and rule.enabled:
                rule.fn(state)
            after_inline = after_inline or rule.name == "inline"
        for child in holder.children or ():
            self.add(child)

    def _mask_img_sources(self, content: str) -> str:
        pieces, cursor = [], 0
        for source in self.html.read(content)[0]:
            pieces.append(content[cursor : source.start])
            pieces.append("\0")
            cursor = source.end
        pieces.append(content[cursor:])
        return "".join(pieces)
