"""Find the image references of a Markdown text, with exact spans (pure: text in, references out).

markdown-it-py decides what is an image and what is code; it does not say where
a destination sits in the source. Our parser instance wraps four of its rules to
note offsets (markdown/parser.py), and `SourceLines` (source_lines.py) maps those
offsets, which are relative to a block's inline content, back onto the original text. Every span
is checked against the text markdown-it saw; one that can't be placed exactly,
or can't be rewritten safely, becomes a problem (line, reason), never a guess.
A file past one of the parser's caps (lines, links, definitions, tokens) is one problem
and no reference: a pull request's Markdown can't make a run take minutes or gigabytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NamedTuple

from markdown_it.token import Token

from .markdown.destinations import (
    decode_html_attribute,
    decode_markdown_destination,
    local_target,
    looks_like_image_path,
)
from .markdown.front_matter import DEFAULT_KEYS, read_front_matter
from .markdown.html_tags import HtmlReader, ImgSource
from .markdown.parser import (
    MAX_LINES,
    MAX_LINKS,
    MAX_NESTING,
    TooBig,
    definition_destination,
    parse_blocks,
    parse_inline,
)
from .markdown.source_lines import SourceLines

# "definition": the `[label]: dest` of a reference image; one that only links use
# is a "link", like any other link destination. "front_matter": an image field of the
# YAML or TOML block at the top (markdown/front_matter.py), read before the Markdown.
RefKind = Literal["image", "link", "definition", "html", "front_matter"]
# Past a cap (markdown/parser.py) the file is not half-read: none of its references, one problem.
_LEFT = ": the file is left as it is; split it into smaller files"

# Cheap test before parsing: a text without any of these has no reference.
_MAYBE_REFERENCE = re.compile(r"!\[|\]\s*[(\[:]|<img", re.IGNORECASE)


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
    attribute: str = ""  # raw HTML: "src" or "srcset"; front matter: the key ("cover.image")
    # raw HTML: the quote around the attribute value, "" for none; front matter: the
    # value's style (markdown/front_matter.py), which a new value is written in
    quote: str = ""

    @property
    def is_local(self) -> bool:
        target = local_target(self.url)
        if target is None:
            return False
        return self.kind not in ("link", "front_matter") or looks_like_image_path(target.path)


class Problem(NamedTuple):
    """Something at `line` (1-based) that can't be handled, and why: never a guess."""

    # A NamedTuple rather than a dataclass: it compares equal to a (line, reason) tuple,
    # as the scanner's tests write them, and it costs less to define at import.
    line: int
    reason: str


@dataclass
class ScanResult:
    """The references of a text, and the problems of those that can't be handled."""

    refs: list[ImageRef] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # The front matter keys the text was read with: a rewrite's check reads it back the same.
    front_matter_keys: tuple[str, ...] = DEFAULT_KEYS

    @property
    def local_refs(self) -> list[ImageRef]:
        return [ref for ref in self.refs if ref.is_local]


@dataclass(frozen=True, slots=True)
class _Block:
    """A block's content as markdown-it saw it, and where it sits in the source."""

    to_source: Callable[[int], int | None]  # content offset -> source offset (None: nowhere)
    escaped_pipes: bool  # a table cell's: markdown-it saw `|` for each `\|` of the source
    content: str
    first_line: int  # 0-based


def may_contain_references(text: str) -> bool:
    """False only when the text certainly holds no image reference."""
    return _MAYBE_REFERENCE.search(text) is not None


def scan_markdown(text: str, front_matter_keys: Collection[str] = DEFAULT_KEYS) -> ScanResult:
    """Every image reference of `text`, in document order (definitions where they stand).

    The image fields of a front matter block come first; the Markdown after the block is
    read as if the file began there, its offsets and lines then moved to where it stands.
    """
    keys = tuple(front_matter_keys)
    front = read_front_matter(text, keys)
    if front is None:
        result = _scan_body(text)
        result.front_matter_keys = keys
        return result
    body = _scan_body(text[front.end :])
    fields = [
        ImageRef(
            "front_matter", f.start, f.end, f.raw, f.value, f.line, attribute=f.key, quote=f.style
        )
        for f in front.fields
    ]
    moved = [
        replace(
            ref, start=ref.start + front.end, end=ref.end + front.end, line=ref.line + front.lines
        )
        for ref in body.refs
    ]
    problems = [Problem(line, reason) for line, reason in front.problems]
    problems += [Problem(line + front.lines, reason) for line, reason in body.problems]
    return ScanResult(fields + moved, problems, keys)


def _scan_body(text: str) -> ScanResult:
    """The references of Markdown `text` (no front matter: it was split off before)."""
    if not may_contain_references(text):
        return ScanResult()
    # Counted before the lines are split (that alone costs), the way markdown-it splits them.
    breaks = text.count("\n") + text.count("\r") - text.count("\r\n")
    if breaks >= MAX_LINES:
        reason = f"more than {MAX_LINES:,} lines in one file"
        return ScanResult(problems=[Problem(MAX_LINES + 1, reason + _LEFT)])
    scan = _Scan(text)
    try:
        scan.run()
    except TooBig as stop:
        line = stop.line + 1 if stop.line is not None else scan.line_at(stop.pos or 0)
        scan.result = ScanResult(problems=[Problem(line, stop.reason + _LEFT)])
    return scan.result


class _Scan:
    def __init__(self, text: str) -> None:
        self.lines = SourceLines(text)
        self.result = ScanResult()
        self.html = HtmlReader()  # one for the document: a comment may span blocks
        self.labels: dict[str, tuple[str, bool]] = {}  # label -> (alt, used by an image)
        self.table_heads: list[int] = []
        self.block = _Block(lambda pos: None, False, "", 0)  # the block being read

    def run(self) -> None:
        env: dict[str, Any] = {}
        parent = ""
        for token in parse_blocks(self.lines.text, env):
            if token.map is not None and token.type == "inline":
                self._inline(token, parent, env)
            elif token.map is not None and token.type == "html_block":
                to_source = self.lines.block_map(token.content, token.map, keep_last=True)
                self.block = _Block(to_source, False, token.content, token.map[0])
                self._html(token.content, 0)
            elif token.nesting == 1:
                parent = token.type if token.type != "heading_open" else f"heading{token.markup}"
        definitions = env.get("imgsync_definitions", {})
        source = env.get("imgsync_source", "")
        self.block = _Block(self.lines.from_normalized, False, source, 0)
        for label, (alt, by_image) in self.labels.items():
            span = (
                definition_destination(source, definitions[label]) if label in definitions else None
            )
            if span is not None:
                self._add("definition" if by_image else "link", *span, alt=alt)
        for first, stop in env.get("imgsync_unread", []):
            self._unread(first, stop)
        self._distrust()

    def _unread(self, first: int, stop: int) -> None:
        """Lines markdown-it did not read (nested too deeply): a problem if they may hold one."""
        begin, end = self.lines.starts[first], self.lines.ends[stop - 1]
        found = _MAYBE_REFERENCE.search(self.lines.text, begin, end)
        if found is not None:
            self.result.problems.append(
                Problem(
                    self.lines.line_of(found.start()),
                    f"nested too deeply to be read ({MAX_NESTING} levels or more; a block "
                    "quote counts 1, a list 2): the images here are left as they are; "
                    "flatten the nesting or edit them by hand",
                )
            )

    def _inline(self, token: Token, parent: str, env: dict[str, Any]) -> None:
        assert token.map is not None
        if parent == "th_open":
            self.table_heads.append(token.map[0])
        self.block = self._block(parent, token.content, token.map)
        for child in parse_inline(token, env):
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
            self.result.problems.append(Problem(self.line_at(offset + position), reason))
        for src in sources:
            self._add("html", offset + src.start, offset + src.end, html=src)

    def line_at(self, pos: int) -> int:
        """The 1-based source line of `pos` in the block being read."""
        return self.block.first_line + self.block.content.count("\n", 0, pos) + 1

    def _add(
        self, kind: RefKind, start: int, end: int, *, alt: str = "", html: ImgSource | None = None
    ) -> None:
        """Record the destination at content[start:end] (what markdown-it saw), if placed."""
        block = self.block
        seen = block.content[start:end]
        span = self.lines.span(
            block.to_source(start), block.to_source(end), seen, block.escaped_pipes
        )
        if span is None:
            what = "<img> source" if html else "destination"
            reason = f"could not place this {what} exactly"
            self.result.problems.append(Problem(self.line_at(start), reason))
            return
        begin, stop = span
        text = self.lines.text
        url = decode_html_attribute(seen) if html else decode_markdown_destination(seen)
        angle = not html and text.startswith("<", begin)
        extra = (html.attribute, html.quote) if html else ("", "")
        line = self.lines.line_of(begin)
        if len(self.result.refs) >= MAX_LINKS:  # an <img srcset> may hold many
            raise TooBig(f"more than {MAX_LINKS:,} image references in one file", line=line - 1)
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
            self.result.problems.append(Problem(refs[index].line, reason))
        self.result.refs = [ref for index, ref in enumerate(refs) if index not in bad]

    def _block(self, parent: str, content: str, lines: list[int]) -> _Block:
        """The inline content of a `parent` block (a cell, a heading, ...) at `lines`."""
        if parent in ("th_open", "td_open"):
            return _Block(self.lines.cell_map(content, lines[0]), True, content, lines[0])
        if parent.startswith("heading#"):
            return _Block(self.lines.heading_map(content, lines[0]), False, content, lines[0])
        to_source = self.lines.block_map(content, lines, keep_last=False)
        return _Block(to_source, False, content, lines[0])
