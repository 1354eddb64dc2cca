"""The markdown-it parser the scanner uses: its rules wrapped to note where destinations stand.

markdown-it decides what is an image, a link or code, but its tokens don't say where
a destination sits in the source. The wrapped rules put the offsets (within the
block's inline content) into each token's meta and the env, for scan.py to map back.
Every rule is also wrapped to count what it made: past a cap, `TooBig` stops the parse.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.helpers import parseLinkDestination, parseLinkLabel
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin

from .dispatch import dispatch_inline

# markdown-it's own limit (the commonmark preset's): block quotes and lists deeper than
# this are not parsed at all; the scanner reports what that leaves out.
MAX_NESTING = 20
# A file is read whole, all its blocks before any of its text: these caps keep a hostile one
# (a million images, a million paragraphs) within a bounded time and memory. Past one of
# them, parsing stops and the file is left as it is, with a problem at that line.
MAX_LINES = 400_000  # markdown-it keeps five numbers a line
MAX_LINKS = 100_000  # links and images: one paragraph's are all held at once, ~1.5 KB each
MAX_DEFINITIONS = 150_000  # reference definitions, ~0.5 KB each
MAX_BLOCK_TOKENS = 300_000  # about 100,000 paragraphs, ~0.4 KB each, all held to the end
MAX_INLINE_TOKENS = 400_000  # in one block (`*a* ` a million times), all held at once


# The inline rules whose source is not prose: code, math, autolinks, raw HTML, and an escaped
# character. With `env[NOT_TEXT_SPANS] = []` before `parse_inline`, each one's span is noted
# there, so that scan.py can tell a Hugo shortcode or a broken tag written in the text from
# one shown inside code.
NOT_TEXT = frozenset({"backticks", "math_inline", "autolink", "html_inline", "escape"})
NOT_TEXT_SPANS = "imgsync_not_text"
# With `env[IMAGE_SPANS] = []`, each image's span is noted there, and the destination and
# title of each inline link (from its label's `]` on): no place for an Obsidian embed, as an
# alt text is shown as plain text (scan.py).
IMAGE_SPANS = "imgsync_image_spans"
# The block text being parsed, and where in it the alt text being parsed begins (markdown-it
# parses an image's alt text as a text of its own): the spans above are the block's offsets.
_BLOCK_TEXT = "imgsync_block_text"
_ALT_TEXT_AT = "imgsync_alt_text_at"


class TooBig(Exception):
    """Parsing stopped at a cap: at `line` (0-based, block phase) or at `pos` of the inline text."""

    def __init__(self, reason: str, *, line: int | None = None, pos: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.line, self.pos = reason, line, pos


def scan_parser(dispatch: bool = True, emphasis: bool = True) -> MarkdownIt:
    """The scanner's parser, built once. `dispatch`: its inline rules looked up by character
    (dispatch.py), the same tokens as markdown-it's own loop (False: the test's oracle).
    `emphasis` False: without markdown-it's emphasis rules (see `parse_inline`)."""
    return _built_parser(dispatch, emphasis)  # one cache key however it is called


@functools.cache
def _built_parser(dispatch: bool, emphasis: bool) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"store_labels": True, "maxNesting": MAX_NESTING})
    if not emphasis:
        md.disable("emphasis")  # its rule and its pairing after the inline rules
    md.enable("table")
    quicken(md)
    # Math is never touched: `$...$`, `$$...$$` and `$$` blocks are read as math, by pandoc's
    # rule (no space inside the dollars, no digit right after the closing one), so that
    # prices such as "$5 and $10" stay prose and their images are still found.
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True)
    _wrap_inline_rule(md, "image", _note_destination)
    _wrap_inline_rule(md, "link", _note_destination)
    _wrap_inline_rule(
        md, "html_inline", lambda _, start, token: token.meta.update(imgsync_start=start)
    )
    original = _rule(md.block.ruler, "reference")

    def reference(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
        # Whether this definition is its label's first shows in the count of labels; a
        # copy of the labels known so far, on every definition, made many of them quadratic.
        known = len(state.env.get("references", ()))
        if not original(state, start_line, end_line, silent):
            return False
        if not silent:
            _count(state, "reference definitions", line=start_line)
            if len(state.env["references"]) > known:
                _note_definition(state, start_line)
        return True

    md.block.ruler.at("reference", reference)  # no "alt": it can't interrupt a paragraph
    for block_rule in md.block.ruler.__rules__:
        md.block.ruler.at(block_rule.name, _counted(block_rule.fn), {"alt": block_rule.alt})
    for inline_rule in md.inline.ruler.__rules__:
        md.inline.ruler.at(inline_rule.name, _counted_inline(inline_rule.name, inline_rule.fn))
    tokenize = md.block.tokenize

    def tokenize_noting_unread(state: StateBlock, start_line: int, end_line: int) -> None:
        # This deep, markdown-it skips the lines to `end_line` without a word (its first
        # checks are these): note them, so that no image there goes unmentioned.
        first = state.skipEmptyLines(start_line)
        if (
            state.level >= MAX_NESTING
            and first < end_line
            and state.sCount[first] >= state.blkIndent
        ):
            state.env.setdefault("imgsync_unread", []).append((first, end_line))
        tokenize(state, start_line, end_line)

    # An instance attribute, so it shadows the method for the nested calls as well.
    md.block.tokenize = tokenize_noting_unread  # type: ignore[method-assign,assignment]
    if dispatch:
        dispatch_inline(md)
    return md


def quicken(md: MarkdownIt) -> None:
    """Spare `md` work whose result is known, the tokens unchanged:

    - its first core rule turns `\r\n` and `\r` into `\n` and NUL into U+FFFD with re.sub
      over the whole text, even a text with none of them (its pattern replaces each `\n`
      with itself): such a text is left as it is, which is what the rule makes of it;
    - what `normalizeLink` made of each destination is kept: a pure function of it, which
      mdurl's parse, encode and format in Python make a tenth of a parse-heavy tree's CPU,
      and docs name the same pages again and again (a definition in each file, a nav link).
    """
    md.normalizeLink = functools.lru_cache(maxsize=1 << 14)(md.normalizeLink)  # type: ignore[method-assign]
    original = _rule(md.core.ruler, "normalize")

    def normalize(state: StateCore) -> None:
        if "\r" in state.src or "\0" in state.src:
            original(state)

    md.core.ruler.at("normalize", normalize)


def parse_blocks(text: str, env: dict[str, Any]) -> list[Token]:
    """markdown-it's `parse` without its inline stage: `parse_inline` reads each block's text.

    One block's inline tokens at a time, dropped once read, rather than all of them at once:
    a million images would be a million tokens held to the end.
    """
    return block_stage(scan_parser(), text, env)


def block_stage(md: MarkdownIt, text: str, env: dict[str, Any]) -> list[Token]:
    """`md`'s core rules up to its inline stage: the block tokens, each inline one without
    its children (what follows, "text_join", only joins the inline stage's text)."""
    state = StateCore(text, md, env)
    for core_rule in md.core.ruler.__rules__:
        if core_rule.name == "inline":
            break
        if core_rule.enabled:
            core_rule.fn(state)
    return state.tokens


def parse_inline(token: Token, env: dict[str, Any], emphasis: bool = True) -> list[Token]:
    """The inline tokens of an "inline" block token, as markdown-it's inline stage makes them.

    `emphasis` False leaves out its emphasis: the same links, images, code spans, HTML, math,
    but `*` and `_` left as text (about a quarter less work) and fewer tokens counted against
    the cap, for a block the scan reads only links of (scan.py's `_inline_reading`).
    """
    md = scan_parser(emphasis=emphasis)
    children: list[Token] = []
    env[_BLOCK_TEXT] = token.content
    try:
        md.inline.parse(token.content, md, env, children)
    finally:
        del env[_BLOCK_TEXT]
    return children


def _counted(original: Any) -> Any:
    def rule(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
        if not original(state, start_line, end_line, silent):
            return False
        if not silent and len(state.tokens) > MAX_BLOCK_TOKENS:
            raise TooBig(
                f"more than {MAX_BLOCK_TOKENS:,} Markdown blocks' tokens in one file",
                line=start_line,
            )
        return True

    return rule


def _counted_inline(name: str, original: Any) -> Any:
    if name == "text":
        return original  # it only moves text to `pending`: no token to count, no span to note
    if name == "image":
        return _counted_image(original)
    marked = name in NOT_TEXT

    def rule(state: StateInline, silent: bool) -> bool:
        start = state.pos
        if not original(state, silent):
            return False
        if not silent:
            if len(state.tokens) > MAX_INLINE_TOKENS:
                raise TooBig(
                    f"more than {MAX_INLINE_TOKENS:,} inline tokens in one block", pos=start
                )
            if marked and (spans := state.env.get(NOT_TEXT_SPANS)) is not None:
                # The offset after the rule: any image it held has put back the one before.
                offset = _offset(state)
                spans.append((offset + start, offset + state.pos))
        return True

    return rule


def _counted_image(original: Any) -> Any:
    def rule(state: StateInline, silent: bool) -> bool:
        start = state.pos
        if silent:
            return bool(original(state, silent))
        env = state.env
        # Where this text begins in the block's: markdown-it parses an image's alt text as a
        # text of its own, so what is noted there is moved to where the alt text stands.
        offset = _offset(state)
        env[_ALT_TEXT_AT] = offset + start + 2  # after `![`
        try:
            if not original(state, silent):
                return False
        finally:
            env[_ALT_TEXT_AT] = offset
        if len(state.tokens) > MAX_INLINE_TOKENS:
            raise TooBig(f"more than {MAX_INLINE_TOKENS:,} inline tokens in one block", pos=start)
        if (images := env.get(IMAGE_SPANS)) is not None:
            images.append((offset + start, offset + state.pos))
        return True

    return rule


def _offset(state: StateInline) -> int:
    """Where the text `state` reads begins in the block's text (see `_ALT_TEXT_AT`)."""
    env = state.env
    return 0 if state.src is env.get(_BLOCK_TEXT) else int(env.get(_ALT_TEXT_AT, 0))


def _count(state: Any, what: str, pos: int | None = None, line: int | None = None) -> None:
    count = state.env[what] = state.env.get(what, 0) + 1
    cap = MAX_DEFINITIONS if what == "reference definitions" else MAX_LINKS
    if count > cap:
        raise TooBig(f"more than {cap:,} {what} in one file", line=line, pos=pos)


def _rule(ruler: Any, name: str) -> Any:
    return next(rule.fn for rule in ruler.__rules__ if rule.name == name)


def _wrap_inline_rule(
    md: MarkdownIt, name: str, note: Callable[[StateInline, int, Token], None]
) -> None:
    original = _rule(md.inline.ruler, name)
    wanted = {"image": "image", "link": "link_open"}.get(name, name)

    def rule(state: StateInline, silent: bool) -> bool:
        start, count = state.pos, len(state.tokens)
        if not original(state, silent):
            return False
        token = next((t for t in state.tokens[count:] if t.type == wanted), None)
        if not silent and token is not None:
            if name != "html_inline":
                _count(state, "links and images", pos=start)
            note(state, start, token)
        return True

    md.inline.ruler.at(name, rule)


def _note_destination(state: StateInline, start: int, token: Token) -> None:
    """Re-read `[label](dest ...)` from `start` to find where `dest` sits."""
    if "label" in token.meta:
        return  # a reference (`[a](not a link)` may fall back to one): its definition counts
    is_image = token.type == "image"
    saved_pos = state.pos
    label_end = parseLinkLabel(state, start + 1 if is_image else start, not is_image)
    state.pos = saved_pos
    pos, maximum, src = label_end + 1, state.posMax, state.src
    if label_end < 0 or pos >= maximum or src[pos] != "(":
        return
    pos += 1
    while pos < maximum and src[pos] in " \t\n":
        pos += 1
    result = parseLinkDestination(src, pos, maximum)
    if result.ok and (token.attrs.get("src" if is_image else "href") or ""):
        token.meta["imgsync_dest"] = (pos, result.pos)
    if not is_image and (spans := state.env.get(IMAGE_SPANS)) is not None:
        offset = _offset(state)
        spans.append((offset + label_end, offset + state.pos))  # `](dest "title")`


def _note_definition(state: StateBlock, start_line: int) -> None:
    """Note the lines of a label's first definition, for `definition_destination`."""
    # The rule joins its lines from each line's first non-blank character on. Only these
    # spans are kept: most labels of a hostile file are never used, so never re-read.
    spans = tuple(
        (state.bMarks[line] + state.tShift[line], state.eMarks[line] + 1)
        for line in range(start_line, state.line)
    )
    label = next(reversed(state.env["references"]))  # the one this definition added
    state.env.setdefault("imgsync_definitions", {})[label] = spans
    state.env["imgsync_source"] = state.src


def definition_destination(src: str, spans: tuple[tuple[int, int], ...]) -> tuple[int, int] | None:
    """Where the destination of the definition on `spans` (as noted) sits in markdown-it's `src`."""
    segments: list[tuple[int, int]] = []  # (offset in joined text, offset in src)
    joined = ""
    for begin, stop in spans:
        segments.append((len(joined), begin))
        joined += src[begin:stop]
    pos = 1
    while pos < len(joined) and joined[pos] != "]":
        pos += 2 if joined[pos] == "\\" else 1
    pos += 2  # past "]:"
    while pos < len(joined) and joined[pos] in " \t\n":
        pos += 1
    result = parseLinkDestination(joined, pos, len(joined))
    if not result.ok:
        return None
    joined_start, src_start = max(segment for segment in segments if segment[0] <= pos)
    start = src_start + (pos - joined_start)
    return start, start + result.pos - pos
