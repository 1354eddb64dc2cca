"""Find the image references of a Markdown text, with exact spans (pure: text in, references out).

markdown-it-py decides what is an image and what is code; it does not say where
a destination sits in the source. Our parser instance wraps four of its rules to
note offsets (see `_parser`), and `_SourceLines` maps those offsets, which are
relative to a block's inline content, back onto the original text. Every span
is checked against the text markdown-it saw; one that can't be placed exactly,
or can't be rewritten safely, becomes a problem (line, reason), never a guess.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from markdown_it import MarkdownIt
from markdown_it.common.utils import MD_TRIM_CHARS, normalizeReference
from markdown_it.helpers import parseLinkDestination, parseLinkLabel
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from .destinations import (
    decode_html_attribute,
    decode_markdown_destination,
    local_target,
    looks_like_image_path,
)
from .html_tags import HtmlReader, ImgSource

# "definition": the `[label]: dest` of a reference image; one that only links use
# is a "link", like any other link destination.
RefKind = Literal["image", "link", "definition", "html"]
# Content offset -> source offset (None: nowhere), and whether the content is a
# table cell's, where markdown-it saw `|` for each `\|` of the source.
_Where = tuple[Callable[[int], int | None], bool]

_NEWLINE = re.compile(r"\r\n?|\n")
# Cheap test before parsing: a text without any of these has no reference.
_MAYBE_REFERENCE = re.compile(r"!\[|\]\s*[(\[:]|<img", re.IGNORECASE)
# markdown-it's own limit (the commonmark preset's): block quotes and lists deeper than
# this are not parsed at all; `_Scan._unread` reports what that leaves out.
_MAX_NESTING = 20


@dataclass(frozen=True)
class ImageRef:
    """One destination in the text that may name an image.

    `start`/`end` index the text (str offsets; the file layer turns them into
    bytes). `raw` is exactly text[start:end]; `url` is what it decodes to.
    """

    kind: RefKind
    start: int
    end: int
    raw: str
    url: str
    line: int  # 1-based line of the destination
    alt: str = ""
    angle: bool = False  # written as <...>
    attribute: str = ""  # raw HTML: "src" or "srcset"
    quote: str = ""  # raw HTML: the quote around the attribute value, "" for none

    @property
    def is_local(self) -> bool:
        target = local_target(self.url)
        if target is None:
            return False
        return self.kind != "link" or looks_like_image_path(target.path)


@dataclass
class ScanResult:
    """The references of a text, and (line, reason) for those that can't be handled."""

    refs: list[ImageRef] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def local_refs(self) -> list[ImageRef]:
        return [ref for ref in self.refs if ref.is_local]


def may_contain_references(text: str) -> bool:
    """False only when the text certainly holds no image reference."""
    return _MAYBE_REFERENCE.search(text) is not None


def scan_markdown(text: str) -> ScanResult:
    """Every image reference of `text`, in document order (definitions where they stand)."""
    scan = _Scan(text)
    if may_contain_references(text):
        scan.run()
    return scan.result


class _Scan:
    def __init__(self, text: str) -> None:
        self.lines = _SourceLines(text)
        self.result = ScanResult()
        self.html = HtmlReader()  # one for the document: a comment may span blocks
        self.labels: dict[str, tuple[str, bool]] = {}  # label -> (alt, used by an image)
        self.table_heads: list[int] = []
        # The block being read: where its content sits, the content, its first line.
        self.block: tuple[_Where, str, int] = ((lambda pos: None, False), "", 0)

    def run(self) -> None:
        env: dict[str, Any] = {}
        parent = ""
        for token in _parser().parse(self.lines.text, env):
            if token.map is not None and token.type == "inline":
                self._inline(token, parent)
            elif token.map is not None and token.type == "html_block":
                where = self.lines.block_map(token.content, token.map, keep_last=True), False
                self.block = where, token.content, token.map[0]
                self._html(token.content, 0)
            elif token.nesting == 1:
                parent = token.type if token.type != "heading_open" else f"heading{token.markup}"
        definitions = env.get("imgsync_definitions", {})
        self.block = (self.lines.from_normalized, False), env.get("imgsync_source", ""), 0
        for label, (alt, by_image) in self.labels.items():
            if label in definitions:
                self._add("definition" if by_image else "link", *definitions[label], alt=alt)
        for first, stop in env.get("imgsync_unread", []):
            self._unread(first, stop)
        self._distrust()

    def _unread(self, first: int, stop: int) -> None:
        """Lines markdown-it did not read (nested too deeply): a problem if they may hold one."""
        begin, end = self.lines.starts[first], self.lines.ends[stop - 1]
        found = _MAYBE_REFERENCE.search(self.lines.text, begin, end)
        if found is not None:
            self.result.problems.append(
                (
                    self.lines.line_of(found.start()),
                    f"nested too deeply to be read ({_MAX_NESTING} levels or more; a block "
                    "quote counts 1, a list 2): the images here are left as they are; "
                    "flatten the nesting or edit them by hand",
                )
            )

    def _inline(self, token: Token, parent: str) -> None:
        assert token.map is not None
        if parent == "th_open":
            self.table_heads.append(token.map[0])
        self.block = self._where(parent, token.content, token.map), token.content, token.map[0]
        for child in token.children or []:
            if child.type == "html_inline" and "imgsync_start" in child.meta:
                self._html(child.content, child.meta["imgsync_start"])
            elif child.type in ("image", "link_open"):
                kind: RefKind = "image" if child.type == "image" else "link"
                alt = child.content if kind == "image" else ""
                if "imgsync_dest" in child.meta:
                    self._add(kind, *child.meta["imgsync_dest"], alt=alt)
                elif "label" in child.meta:
                    old_alt, by_image = self.labels.get(child.meta["label"], (alt, False))
                    self.labels[child.meta["label"]] = (old_alt, by_image or kind == "image")

    def _html(self, html: str, offset: int) -> None:
        sources, problems = self.html.read(html)
        for position, reason in problems:
            self.result.problems.append((self._line(offset + position), reason))
        for src in sources:
            self._add("html", offset + src.start, offset + src.end, html=src)

    def _line(self, pos: int) -> int:
        _, content, first = self.block
        return first + content.count("\n", 0, pos) + 1

    def _add(
        self, kind: RefKind, start: int, end: int, *, alt: str = "", html: ImgSource | None = None
    ) -> None:
        """Record the destination at content[start:end] (what markdown-it saw), if placed."""
        (to_source, escaped_pipes), content, _ = self.block
        seen = content[start:end]
        span = self.lines.span(to_source(start), to_source(end), seen, escaped_pipes)
        if span is None:
            what = "<img> source" if html else "destination"
            self.result.problems.append((self._line(start), f"could not place this {what} exactly"))
            return
        begin, stop = span
        text = self.lines.text
        url = decode_html_attribute(seen) if html else decode_markdown_destination(seen)
        angle = not html and text.startswith("<", begin)
        extra = (html.attribute, html.quote) if html else ("", "")
        line = self.lines.line_of(begin)
        self.result.refs.append(
            ImageRef(kind, begin, stop, text[begin:stop], url, line, alt, angle, *extra)
        )

    def _distrust(self) -> None:
        """Drop the references that can't be rewritten safely, each with its reason."""
        refs = sorted(self.result.refs, key=lambda ref: (ref.start, ref.end))
        bad = {
            i: "two references share this text"
            for i in range(len(refs) - 1)
            if refs[i + 1].start < refs[i].end
        }
        bad.update({i + 1: "two references share this text" for i in bad})
        for line in self.table_heads:
            # A table's head row needs a `|`: if all of them are in destinations that
            # will be rewritten, the new text would have no table.
            first, last = self.lines.starts[line], self.lines.ends[line]
            here = [i for i, r in enumerate(refs) if first <= r.start < last and r.is_local]
            pipes = sum(refs[i].raw.count("|") for i in here)
            if pipes and pipes == self.lines.text[first:last].count("|"):
                reason = "the `|` of this destination makes its line a table row: edit it by hand"
                bad.update((i, reason) for i in here if "|" in refs[i].raw)
        for index, reason in sorted(bad.items()):
            self.result.problems.append((refs[index].line, reason))
        self.result.refs = [ref for index, ref in enumerate(refs) if index not in bad]

    def _where(self, parent: str, content: str, lines: list[int]) -> _Where:
        if parent in ("th_open", "td_open"):
            return self.lines.cell_map(content, lines[0]), True
        if parent.startswith("heading#"):
            return self.lines.heading_map(content, lines[0]), False
        return self.lines.block_map(content, lines, keep_last=False), False


class _SourceLines:
    """The original text split the way markdown-it splits it, for mapping offsets back."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts: list[int] = [0]
        self.ends: list[int] = []
        for match in _NEWLINE.finditer(text):
            self.ends.append(match.start())
            self.starts.append(match.end())
        self.ends.append(len(text))
        self._cell_cursor: dict[int, int] = {}

    def line_text(self, index: int) -> str:
        # markdown-it sees NUL as U+FFFD: compare like with like, offsets unchanged
        return self.text[self.starts[index] : self.ends[index]].replace("\0", "\ufffd")

    def span(
        self, start: int | None, end: int | None, seen: str, escaped_pipes: bool
    ) -> tuple[int, int] | None:
        """(start, end) if the source there is what markdown-it saw as `seen`."""
        if escaped_pipes:
            seen = seen.replace("|", "\\|")
        if start is None or end is None or self.text[start:end].replace("\0", "\ufffd") != seen:
            return None
        return start, end

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)

    def from_normalized(self, offset: int) -> int:
        """An offset in markdown-it's source (every line break one `\\n`) -> ours."""
        line = bisect.bisect_right(self._normalized_starts, offset) - 1
        return self.starts[line] + (offset - self._normalized_starts[line])

    @functools.cached_property
    def _normalized_starts(self) -> list[int]:
        starts = [0]
        for start, end in zip(self.starts[:-1], self.ends[:-1], strict=True):
            starts.append(starts[-1] + end - start + 1)
        return starts

    def block_map(
        self, content: str, lines: list[int], *, keep_last: bool
    ) -> Callable[[int], int | None]:
        """Offsets of paragraph, setext heading and HTML block content.

        Each content line is the end of a source line (container markers and
        indentation cut, tabs partly made spaces): positions are anchored at
        line ends. Paragraph content is trimmed (`keep_last=False`): its last
        line lost trailing whitespace, lines of whitespace at either end too.
        """
        pieces = content.split("\n")
        piece_starts = list(itertools.accumulate((len(piece) + 1 for piece in pieces), initial=0))

        @functools.cache
        def anchors() -> list[int | None]:
            return self._align(pieces, lines, keep_last)

        def to_source(pos: int) -> int | None:
            k = bisect.bisect_right(piece_starts, pos) - 1
            anchor = anchors()[k] if k < len(anchors()) else None
            from_end = len(pieces[k]) - (pos - piece_starts[k])
            if anchor is None or from_end > len(pieces[k].lstrip(" ")):
                return None
            return anchor - from_end

        return to_source

    def _align(self, pieces: list[str], lines: list[int], keep_last: bool) -> list[int | None]:
        """Where each piece ends in the source, trying each count of dropped leading lines."""
        first, stop = lines
        last = len(pieces) - 1
        for dropped in range(max(stop - first - len(pieces), 0) + 1):
            anchors: list[int | None] = []
            for k, piece in enumerate(pieces):
                line = first + dropped + k
                if line >= stop:
                    if piece:
                        break
                    anchors.append(None)  # the final line break of an HTML block
                    continue
                source = self.line_text(line)
                if not keep_last and k == last:
                    source = source.rstrip(MD_TRIM_CHARS)
                if not source.endswith(piece.lstrip(" ")):
                    break
                anchors.append(self.starts[line] + len(source))
            else:
                return anchors
        return []

    def heading_map(self, content: str, line: int) -> Callable[[int], int | None]:
        source = self.line_text(line)
        column = source.find("#")
        while column < len(source) and source[column] == "#":
            column += 1
        while column < len(source) and source[column] in MD_TRIM_CHARS:
            column += 1
        base = self.starts[line] + column
        return lambda pos: base + pos if 0 <= pos <= len(content) else None

    def cell_map(self, content: str, line: int) -> Callable[[int], int | None]:
        # In a cell every `|` was written `\\|`; cells are found left to right.
        source = self.line_text(line)
        written = content.replace("|", "\\|")
        cursor = self._cell_cursor.get(line, 0)
        column = source.find(written, cursor) if written else -1
        if column == -1:
            return lambda pos: None
        self._cell_cursor[line] = column + len(written)
        base = self.starts[line] + column
        return lambda pos: base + pos + content.count("|", 0, pos)


# --- the parser and the rule wrappers that note offsets -----------------------------


@functools.cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"store_labels": True, "maxNesting": _MAX_NESTING})
    md.enable("table")
    _wrap_inline_rule(md, "image", _note_destination)
    _wrap_inline_rule(md, "link", _note_destination)
    _wrap_inline_rule(
        md, "html_inline", lambda _, start, token: token.meta.update(imgsync_start=start)
    )
    original = _rule(md.block.ruler, "reference")

    def reference(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
        known = set(state.env.get("references", {}))
        if not original(state, start_line, end_line, silent):
            return False
        if not silent:
            _note_definition(state, start_line, known)
        return True

    md.block.ruler.at("reference", reference)  # no "alt": it can't interrupt a paragraph
    tokenize = md.block.tokenize

    def tokenize_noting_unread(state: StateBlock, start_line: int, end_line: int) -> None:
        # This deep, markdown-it skips the lines to `end_line` without a word (its first
        # checks are these): note them, so that no image there goes unmentioned.
        first = state.skipEmptyLines(start_line)
        if (
            state.level >= _MAX_NESTING
            and first < end_line
            and state.sCount[first] >= state.blkIndent
        ):
            state.env.setdefault("imgsync_unread", []).append((first, end_line))
        tokenize(state, start_line, end_line)

    # An instance attribute, so it shadows the method for the nested calls as well.
    md.block.tokenize = tokenize_noting_unread  # type: ignore[method-assign,assignment]
    return md


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


def _note_definition(state: StateBlock, start_line: int, known: set[str]) -> None:
    """Note where the destination of the definition just parsed sits in markdown-it's source."""
    # The rule joins its lines from each line's first non-blank character on.
    segments: list[tuple[int, int]] = []  # (offset in joined text, offset in state.src)
    joined = ""
    for line in range(start_line, state.line):
        begin = state.bMarks[line] + state.tShift[line]
        segments.append((len(joined), begin))
        joined += state.src[begin : state.eMarks[line] + 1]
    pos = 1
    while pos < len(joined) and joined[pos] != "]":
        pos += 2 if joined[pos] == "\\" else 1
    label = normalizeReference(joined[1:pos])
    if label in known or label not in state.env.get("references", {}):
        return  # the first definition of a label wins
    pos += 2  # past "]:"
    while pos < len(joined) and joined[pos] in " \t\n":
        pos += 1
    result = parseLinkDestination(joined, pos, len(joined))
    if not result.ok:
        return
    joined_start, src_start = max(segment for segment in segments if segment[0] <= pos)
    start = src_start + (pos - joined_start)
    state.env.setdefault("imgsync_definitions", {})[label] = (start, start + result.pos - pos)
    state.env["imgsync_source"] = state.src
