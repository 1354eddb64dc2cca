"""Find the image references of a Markdown text, with exact spans (pure: text in, references out).

markdown-it-py decides what is an image and what is code; it does not say where
a destination sits in the source. Our parser instance wraps four of its rules to
note offsets (see `_parser`), and `_SourceLines` maps those offsets, which are
relative to a block's inline content, back onto the original text. Every span
is checked against the text it claims to cover before it is returned.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Iterator
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
from .html_tags import find_img_sources

RefKind = Literal["image", "link", "definition", "html"]

_NEWLINE = re.compile(r"\r\n?|\n")
# Cheap test before parsing: a text without any of these has no reference.
_MAYBE_REFERENCE = re.compile(r"!\[|\]\s*[(\[:]|<img|\[[^\]]*\]:", re.IGNORECASE)


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

    @property
    def is_local(self) -> bool:
        target = local_target(self.url)
        if target is None:
            return False
        return self.kind != "link" or looks_like_image_path(target.path)


@dataclass
class ScanResult:
    """The references of a text, and the ones that could not be located exactly."""

    refs: list[ImageRef] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)

    @property
    def local_refs(self) -> list[ImageRef]:
        return [ref for ref in self.refs if ref.is_local]


def may_contain_references(text: str) -> bool:
    """False only when the text certainly holds no image reference."""
    return _MAYBE_REFERENCE.search(text) is not None


def scan_markdown(text: str) -> ScanResult:
    """Every image reference of `text`, in document order (definitions where they stand)."""
    result = ScanResult()
    if not may_contain_references(text):
        return result
    env: dict[str, Any] = {}
    tokens = _parser().parse(text, env)
    lines = _SourceLines(text)
    used_labels: dict[str, str] = {}
    parent = ""
    for token in tokens:
        if token.type == "inline" and token.map is not None:
            _scan_inline(token, parent, lines, result, used_labels)
        elif token.type == "html_block" and token.map is not None:
            content_map = lines.block_map(token.content, token.map[0], keep_last=True)
            _scan_html(token.content, 0, content_map, lines, result)
        elif token.nesting == 1:
            parent = token.type if token.type != "heading_open" else f"heading{token.markup}"
    definitions = env.get("imgsync_definitions", {})
    for label, alt in used_labels.items():
        if label in definitions:
            start, end = (
                lines.from_normalized(offset, env["imgsync_normalized"])
                for offset in definitions[label]
            )
            _add(result, lines, "definition", start, end, alt=alt)
    result.refs.sort(key=lambda ref: ref.start)
    return result


def _scan_inline(
    token: Token,
    parent: str,
    lines: _SourceLines,
    result: ScanResult,
    used_labels: dict[str, str],
) -> None:
    assert token.map is not None
    content = token.content
    content_map = _content_map(parent, content, token.map[0], lines)
    for child in token.children or []:
        if child.type == "image":
            kind: RefKind = "image"
        elif child.type == "link_open":
            kind = "link"
        elif child.type == "html_inline":
            if "imgsync_start" in child.meta and not child.content.startswith("<!--"):
                _scan_html(child.content, child.meta["imgsync_start"], content_map, lines, result)
            continue
        else:
            continue
        alt = child.content if kind == "image" else ""
        span = child.meta.get("imgsync_dest")
        if span is not None:
            start, end = content_map(span[0]), content_map(span[1])
            if start is None or end is None:
                result.problems.append(
                    (
                        lines.line_of_content(token.map[0], content, span[0]),
                        "could not locate this destination exactly",
                    )
                )
                continue
            _add(result, lines, kind, start, end, alt=alt)
        elif "label" in child.meta:
            href = child.attrs.get("src" if kind == "image" else "href", "")
            if kind == "image" or looks_like_image_path(str(href)):
                used_labels.setdefault(child.meta["label"], alt)


def _scan_html(
    html_text: str,
    offset: int,
    content_map: Callable[[int], int | None],
    lines: _SourceLines,
    result: ScanResult,
) -> None:
    for value_start, value_end in find_img_sources(html_text):
        start = content_map(offset + value_start)
        end = content_map(offset + value_end)
        if (
            start is None
            or end is None
            or lines.text[start:end] != html_text[value_start:value_end]
        ):
            line = lines.line_of(start) if start is not None else 0
            result.problems.append((line, "could not locate this <img> source exactly"))
            continue
        _add(result, lines, "html", start, end)


def _add(
    result: ScanResult, lines: _SourceLines, kind: RefKind, start: int, end: int, alt: str = ""
) -> None:
    raw = lines.text[start:end]
    if kind == "html":
        url = decode_html_attribute(raw)
    else:
        url = decode_markdown_destination(raw)
    angle = kind != "html" and raw.startswith("<")
    line = lines.line_of(start)
    result.refs.append(ImageRef(kind, start, end, raw, url, line, alt, angle))


def _content_map(
    parent: str, content: str, first_line: int, lines: _SourceLines
) -> Callable[[int], int | None]:
    if parent in ("th_open", "td_open"):
        return lines.cell_map(content, first_line)
    if parent.startswith("heading#"):
        return lines.heading_map(content, first_line)
    return lines.block_map(content, first_line, keep_last=False)


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
        self._normalized_starts: list[int] | None = None

    def line_text(self, index: int) -> str:
        # markdown-it sees NUL as U+FFFD: compare like with like, offsets unchanged
        return self.text[self.starts[index] : self.ends[index]].replace("\0", "\ufffd")

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)

    def from_normalized(self, offset: int, normalized: str) -> int:
        """An offset in markdown-it's normalized source (all line breaks `\\n`) -> ours."""
        if self._normalized_starts is None:
            self._normalized_starts = [0] + [m.end() for m in re.finditer("\n", normalized)]
        line = bisect.bisect_right(self._normalized_starts, offset) - 1
        return self.starts[line] + (offset - self._normalized_starts[line])

    def line_of_content(self, first_line: int, content: str, pos: int) -> int:
        return first_line + content.count("\n", 0, pos) + 1

    def block_map(
        self, content: str, first_line: int, *, keep_last: bool
    ) -> Callable[[int], int | None]:
        """Offsets of paragraph, setext heading and HTML block content.

        Each content line is the end of its source line (container markers and
        indentation cut from the front), so positions are anchored at the line
        end; the last line of a paragraph also lost trailing whitespace.
        """
        pieces = content.split("\n")
        piece_starts = list(_accumulate_starts(pieces))
        last = len(pieces) - 1

        def to_source(pos: int) -> int | None:
            k = bisect.bisect_right(piece_starts, pos) - 1
            line = first_line + k
            if line >= len(self.starts):
                return None
            source = self.line_text(line)
            end = len(source) if (keep_last or k < last) else len(source.rstrip(MD_TRIM_CHARS))
            column = end - (len(pieces[k]) - (pos - piece_starts[k]))
            if column < 0 or not source[:end].endswith(pieces[k].lstrip(" ")):
                return None
            return self.starts[line] + column

        return to_source

    def heading_map(self, content: str, line: int) -> Callable[[int], int | None]:
        source = self.line_text(line)
        column = source.find("#")
        while column < len(source) and source[column] == "#":
            column += 1
        while column < len(source) and source[column] in MD_TRIM_CHARS:
            column += 1
        valid = source.startswith(content, column)
        base = self.starts[line] + column
        return lambda pos: base + pos if valid else None

    def cell_map(self, content: str, line: int) -> Callable[[int], int | None]:
        # In a cell every `|` was written `\|`; cells are found left to right.
        source = self.line_text(line)
        written = content.replace("|", "\\|")
        cursor = self._cell_cursor.get(line, 0)
        column = source.find(written, cursor) if written else -1
        if column == -1:
            return lambda pos: None
        self._cell_cursor[line] = column + len(written)
        base = self.starts[line] + column
        return lambda pos: base + pos + content.count("|", 0, pos)


def _accumulate_starts(pieces: list[str]) -> Iterator[int]:
    position = 0
    for piece in pieces:
        yield position
        position += len(piece) + 1


# --- the parser and the rule wrappers that note offsets -----------------------------


@functools.cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"store_labels": True}).enable("table")
    for name in ("image", "link"):
        _wrap_inline_rule(md, name, _note_destination)
    _wrap_inline_rule(md, "html_inline", _note_start)
    original_reference = _find_rule(md.block.ruler, "reference")

    def reference(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
        known = set(state.env.get("references", {}))
        if not original_reference(state, start_line, end_line, silent):
            return False
        if not silent:
            _note_definition(state, start_line, known)
        return True

    md.block.ruler.at("reference", reference, {"alt": ["paragraph", "reference"]})
    return md


def _find_rule(ruler: Any, name: str) -> Any:
    for rule in ruler.__rules__:
        if rule.name == name:
            return rule.fn
    raise LookupError(name)


NoteFn = Callable[[StateInline, int, Token], None]


def _wrap_inline_rule(md: MarkdownIt, name: str, note: NoteFn) -> None:
    original = _find_rule(md.inline.ruler, name)
    wanted = {"image": "image", "link": "link_open", "html_inline": "html_inline"}[name]

    def rule(state: StateInline, silent: bool) -> bool:
        start, count = state.pos, len(state.tokens)
        if not original(state, silent):
            return False
        if not silent:
            for token in state.tokens[count:]:
                if token.type == wanted:
                    note(state, start, token)
                    break
        return True

    md.inline.ruler.at(name, rule)


def _note_start(state: StateInline, start: int, token: Token) -> None:
    token.meta["imgsync_start"] = start


def _note_destination(state: StateInline, start: int, token: Token) -> None:
    """Re-read `[label](dest ...)` from `start` to find where `dest` sits."""
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
    """Find the destination of the definition just parsed, in original-text offsets."""
    references = state.env.get("references", {})
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
    label = _normalize_label(joined[1:pos])
    if label in known or label not in references:
        return
    pos += 2  # past "]:"
    while pos < len(joined) and joined[pos] in " \t\n":
        pos += 1
    result = parseLinkDestination(joined, pos, len(joined))
    if not result.ok:
        return
    seg_start, src_start = max(seg for seg in segments if seg[0] <= pos)
    normalized_start = src_start + (pos - seg_start)
    definitions = state.env.setdefault("imgsync_definitions", {})
    definitions[label] = (normalized_start, normalized_start + (result.pos - pos))
    state.env.setdefault("imgsync_normalized", state.src)


def _normalize_label(label: str) -> str:
    return normalizeReference(label)
