"""Find the image references of a Markdown text, with exact spans (pure: text in, references out).

markdown-it-py decides what is an image and what is code; it does not say where
a destination sits in the source. Our parser instance wraps four of its rules to
note offsets (markdown/parser.py), and `SourceLines` (source_lines.py) maps those
offsets, which are relative to a block's inline content, back onto the original text. Every span
is checked against the text markdown-it saw; one that can't be placed exactly,
or can't be rewritten safely, becomes a problem (line, reason), never a guess.
A file past one of the parser's caps (lines, links, definitions, tokens) is one problem
and no reference: a pull request's Markdown can't make a run take minutes or gigabytes.

Raw HTML is read by `HtmlReader` (markdown/html_tags.py) as a browser joins it. The text
around it, where markdown-it saw neither code nor HTML, holds Hugo's figure shortcodes
(Hugo expands them before Markdown runs) and the tags Markdown shows as text (an `<img`
left without its `>`): the first are references, the second problems, never silence.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NamedTuple

from markdown_it.token import Token

from .markdown import parser as markdown_parser
from .markdown.destinations import (
    LocalTarget,
    decode_html_attribute,
    decode_markdown_destination,
    local_target,
    looks_like_image_path,
)
from .markdown.front_matter import front_matter_end, read_front_matter
from .markdown.front_matter_keys import DEFAULT_KEYS
from .markdown.gate import (
    definitions_may_name_images,
    html_may_matter,
    links_may_name_images,
    text_may_hold_references,
)
from .markdown.html_tags import (
    IMAGE_ATTRIBUTES,
    HtmlReader,
    ImgSource,
    read_attributes,
    tag_sources,
)
from .markdown.jsx_tags import jsx_attributes
from .markdown.parser import (
    IMAGE_SPANS,
    MAX_LINES,
    MAX_LINKS,
    MAX_NESTING,
    NOT_TEXT_SPANS,
    TooBig,
    definition_destination,
    parse_blocks,
    parse_inline,
)
from .markdown.source_lines import SourceLines
from .markdown.unhandled import MAYBE as _MAYBE_UNHANDLED
from .markdown.unhandled import TEXT_FORMS as _UNHANDLED_FORMS
from .markdown.unhandled import (
    Finding,
    component_tag,
    curly_title,
    hexo_tag,
    in_html,
    mdx_import,
    mdx_require,
    other_shortcode,
)

# "definition": the `[label]: dest` of a reference image; one that only links use
# is a "link", like any other link destination. "shortcode": a value of Hugo's `figure`.
# "front_matter": an image field of the YAML or TOML block at the top
# (markdown/front_matter.py), read before the Markdown. "embed": an Obsidian image embed
# `![[name.png|300]]`, whose span is the whole embed (a rewrite writes a Markdown image).
# "jsx": a string source of a JSX tag (MDX) that Markdown shows as text (markdown/jsx_tags.py).
RefKind = Literal[
    "image", "link", "definition", "html", "jsx", "shortcode", "front_matter", "embed"
]
# Past a cap (markdown/parser.py) the file is not half-read: none of its references, one problem.
_LEFT = ": the file is left as it is; split it into smaller files"

# The inline marker that ignores the next local reference (ignore.py), as one HTML comment.
_IGNORE_MARK = re.compile(r"<!--\s*imgsync-ignore\s*-->")

# Cheap test before parsing: a text without any of these has no reference. Read faster,
# form by form, by gate.text_may_hold_references; this one finds where (`_unread`).
_MAYBE_REFERENCE = re.compile(
    r"!\[|\]\s*[(\[:]|<img|<(?:a|source|video)\s|\{\{[<%]|" + _MAYBE_UNHANDLED,
    re.IGNORECASE,
)
# In a block's text (not code, not HTML): a Hugo figure shortcode, a tag that would name an
# image had Markdown read it as HTML (left unclosed, say), and the forms of unhandled.py (a
# Hexo tag, an MDX `require(`): never passed over in silence.
_IN_TEXT = re.compile(
    r"(?P<shortcode>\{\{(?P<delimiter>[<%])\s*(?P<code>\w[\w/.-]*)(?=\s))"
    r"|<(?P<tag>img|a|source|video)(?=[\s/>])|" + _UNHANDLED_FORMS,
    re.IGNORECASE,
)
_COMPONENT = re.compile(r"<[A-Z]")  # an MDX component's tag, in raw HTML
# What a block's text needs of markdown-it's inline stage (`_inline_reading`): none of it,
# all but emphasis (only links can be there), or all of it.
Reading = Literal["nothing", "links", "all"]
# `_IN_TEXT`, one pattern a form (what each begins with: `<`, `{`, `e(` is in `require(`,
# `mport` in `import`, lowered): one pattern of several alternatives is read at ~14 MB/s,
# these, searched only where what they begin with is there, at 150 or more.
_IN_TEXT_TAG = re.compile(r"<(?:img|a|source|video)(?=[\s/>])|(?-i:<[A-Z][\w.]*(?=[\s/>]))", re.I)
_IN_TEXT_TEMPLATE = re.compile(
    r"\{\{[<%]\s*\w[\w/.-]*(?=\s)|\{%-?\s*(?:asset_img|asset_path|asset_link|img)\s", re.I
)
_IN_TEXT_REQUIRE = re.compile(r"\brequire\(\s*[\"'`]", re.I)
_IN_TEXT_IMPORT = re.compile(r"(?:^|(?<=\n))[ \t]*import\s", re.I)
_WHAT = {
    "html": "HTML image source",
    "jsx": "JSX image source",
    "shortcode": "shortcode value",
    "embed": "embed",
}
# Obsidian's embed in a block's text: `![[path|display]]`, on one line, no brackets inside. The
# path ends at `#` (a heading or block of a note: never an image's) or `|`.
_EMBED = re.compile(
    r"!\[\[(?P<path>[^\[\]|#\n]+)(?:#[^\[\]|\n]*)?(?:\|(?P<display>[^\[\]\n]*))?\]\]"
)
# Typora's raw-space image: `![alt](` (an alt without brackets), up to its matching `)`.
_MAYBE_RAW_SPACE = re.compile(r"!\[[^\[\]\n]*\]\((?:[^\n)\\]|\\.)*[ \t]")  # `\)` is escaped
# A paragraph that begins `[label]:` (a line break at most) before a raw-space image: once the
# image is valid, CommonMark reads the whole as a reference definition with it as destination.
_LABEL_BEFORE = re.compile(r"[ \t]*\[(?:[^\[\]\\]|\\.)+\]:[ \t]*(?:\n[ \t]*)?")
_RAW_SPACE_OPEN = re.compile(r"!\[(?P<alt>(?:[^\[\]\n\\]|\\.)*)\]\(")
# Attributes whose value names an image only when it has an image's extension.
_LINK_ATTRIBUTES = frozenset({"href", "link"})


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
    # raw HTML, shortcode: "src", "srcset", "poster", "href" or "link"; front matter: the
    # key ("cover.image"); embed: what follows its `|` (a size such as "300", or an alt text)
    attribute: str = ""
    # raw HTML, shortcode: the quote around the value, "" for none; front matter: the
    # value's style (markdown/front_matter.py), which a new value is written in
    quote: str = ""
    # Typora's raw-space image (`![](images/timg (1).jpeg)`), which CommonMark reads as text:
    # where its whole `![...](...)` stands; its rewrite makes it an image (rewrite.py masks it).
    text_span: tuple[int, int] | None = None

    @property
    def target(self) -> LocalTarget | None:
        """The project file the reference names, as written (None: not a local one)."""
        if self.kind == "embed":  # a vault path, never percent-encoded, with no query
            local = local_target(self.url) is not None  # not `![[https://...]]`
            return LocalTarget(path=self.url, suffix="") if local else None
        return local_target(self.url)

    @property
    def is_local(self) -> bool:
        target = self.target
        if target is None:
            return False
        if self.kind in ("link", "front_matter") or self.attribute in _LINK_ATTRIBUTES:
            return looks_like_image_path(target.path)  # `<a href="post.html">` stays a link
        return True


class Problem(NamedTuple):
    """Something at `line` (1-based) that can't be handled, and why: never a guess."""

    # A NamedTuple rather than a dataclass: it compares equal to a (line, reason) tuple,
    # as the scanner's tests write them, and it costs less to define at import.
    line: int
    reason: str


class Unhandled(NamedTuple):
    """A local image named in a form a sync does not host (a Hexo tag, an MDX `require`, a
    raw space, a tag left unclosed): a problem, unless the project ignores it (ignore.py)."""

    line: int
    reason: str
    image: str  # the path as written, which `ignore` entries match
    start: int  # where it is written (text offset): an inline marker before it ignores it


@dataclass
class ScanResult:
    """The references of a text, and the problems of those that can't be handled."""

    refs: list[ImageRef] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unhandled: list[Unhandled] = field(default_factory=list)
    # Where each `<!-- imgsync-ignore -->` that markdown-it read as HTML ends (text offsets).
    ignore_marks: list[int] = field(default_factory=list)
    # The front matter keys the text was read with: a rewrite's check reads it back the same.
    front_matter_keys: tuple[str, ...] = DEFAULT_KEYS
    # The front matter's `typora-root-url`, as it reads (not an image field: never rewritten):
    # the folder, from the post's, under which Typora, and so imgsync, looks up `/rooted` images.
    typora_root: str | None = None
    # "typora": raw-space images are references; "commonmark": each is a problem with its fix.
    dialect: str = "commonmark"
    # Root-relative prefixes a folder of the site serves its images under (remote.py's
    # rooted_prefixes, set by the caller): a `/images/…` reference under one is hosted there.
    hosted_prefixes: tuple[str, ...] = ()
    # The blocks (by the order of their inline text) passed over because no link in them can
    # name a local image (`every_link` False): a rewrite's re-check passes over the same.
    links_passed_over: frozenset[int] = frozenset()

    @property
    def local_refs(self) -> list[ImageRef]:
        """The references that name a project file to upload: local, and not already in a
        folder of the site that serves them (`hosted_prefixes`)."""
        served = self.hosted_prefixes
        return [ref for ref in self.refs if ref.is_local and not _served(ref, served)]


def _served(ref: ImageRef, prefixes: tuple[str, ...]) -> bool:
    return bool(prefixes) and ref.kind != "embed" and ref.url.startswith(prefixes)


@dataclass(frozen=True, slots=True)
class _Block:
    """A block's content as markdown-it saw it, and where it sits in the source."""

    to_source: Callable[[int], int | None]  # content offset -> source offset (None: nowhere)
    escaped_pipes: bool  # a table cell's: markdown-it saw `|` for each `\|` of the source
    content: str
    first_line: int  # 0-based


def _inline_reading(
    content: str, env: dict[str, Any], in_text: bool, *, html_hiding: bool = False
) -> Reading:
    """How much of markdown-it's inline stage a block's `content` needs for the scan to
    read all it would read from a full one (an exact test: tests/test_scan_gate.py);
    `in_text`: whether `_IN_TEXT` matches in it; `html_hiding`: whether the raw HTML read
    so far hides what follows (an open `<script>`), so that any tag may matter.

    Only these make anything the scan reads: images, links and the raw HTML that names an
    image, hides what follows or marks what to ignore (gate.READ_HTML); the shortcodes,
    tags and told forms of `_IN_TEXT`; a reference link (`[label]`) once the document has a
    definition (the block stage has read them all). Code spans, math, autolinks, other
    tags, entities and escapes only hide text from those. Emphasis makes nothing the scan
    reads, and changes no link: its rule only pairs `*` and `_` after the fact (and gives
    up at once in look-ahead).
    """
    if (
        in_text
        or "![" in content  # images, embeds, raw-space images
        or html_may_matter(content, html_hiding)
        or (
            "<" in content
            and ("require(" in content or "{%" in content)  # what `_html` tells (`in_html`)
        )
        # A text this long is parsed whole whatever it holds: markdown-it's inline rules push
        # at most one token per character read (and one for the pending text), so a shorter
        # one can't pass the parser's cap on inline tokens, whose problem a full parse reports.
        or len(content) >= markdown_parser.MAX_INLINE_TOKENS // 2
    ):
        return "all"
    if "](" in content or (bool(env.get("references")) and "[" in content):
        return "links"
    return "nothing"


def _in_text_may_match(content: str) -> bool:
    """`_IN_TEXT.search(content) is not None`, a form at a time, each only where what it
    begins with is there (tests/test_scan_gate.py compares them)."""
    return (
        ("<" in content and _IN_TEXT_TAG.search(content) is not None)
        or ("{" in content and _IN_TEXT_TEMPLATE.search(content) is not None)
        or (("e(" in content or "E(" in content) and _IN_TEXT_REQUIRE.search(content) is not None)
        or ("mport" in content.lower() and _IN_TEXT_IMPORT.search(content) is not None)
    )


def may_contain_references(text: str) -> bool:
    """False only when the text certainly holds no image reference (`_MAYBE_REFERENCE`)."""
    return text_may_hold_references(text)


def scan_markdown(
    text: str,
    front_matter_keys: Collection[str] = DEFAULT_KEYS,
    dialect: str = "commonmark",
    *,
    every_block: bool = False,
    every_link: bool = True,
    pass_over: frozenset[int] = frozenset(),
) -> ScanResult:
    """Every image reference of `text`, in document order (definitions where they stand).

    The image fields of a front matter block come first; the Markdown after the block is
    read as if the file began there, its offsets and lines then moved to where it stands.
    `dialect` "typora" reads Typora's raw-space images as references (else: problems).
    `every_block`: run markdown-it's inline stage on every block, even those whose text
    can't hold anything the scan reads (`_inline_reading`): the same result, slower; the
    oracle the fast path is tested against (tests/test_scan_gate.py).
    `every_link` False: a block whose only references can be links is passed over when none
    of them can name a local image file, all a sync needs (`ScanResult.local_refs`); the
    references found are then those of a full scan but the links of the blocks listed in
    `links_passed_over`. `pass_over`: the blocks to pass over so, for a rewrite's re-check
    (the original's `links_passed_over`): its links have moved to hosted URLs.
    """
    keys = tuple(front_matter_keys)
    front = read_front_matter(text, keys)
    passing = _Passing(every_block, every_link, pass_over)
    if front is None:
        result = _scan_body(text, dialect, passing)
        result.front_matter_keys, result.dialect = keys, dialect
        return result
    body = _scan_body(text[front.end :], dialect, passing)
    fields = [
        ImageRef(
            "front_matter", f.start, f.end, f.raw, f.value, f.line, attribute=f.key, quote=f.style
        )
        for f in front.fields
    ]
    moved = [
        replace(
            ref,
            start=ref.start + front.end,
            end=ref.end + front.end,
            line=ref.line + front.lines,
            text_span=_moved(ref.text_span, front.end),
        )
        for ref in body.refs
    ]
    problems = [Problem(line, reason) for line, reason in front.problems]
    problems += [Problem(line + front.lines, reason) for line, reason in body.problems]
    unhandled = [
        item._replace(line=item.line + front.lines, start=item.start + front.end)
        for item in body.unhandled
    ]
    marks = [mark + front.end for mark in body.ignore_marks]
    root = _typora_root(text)
    return ScanResult(
        fields + moved,
        problems,
        unhandled,
        marks,
        keys,
        typora_root=root,
        dialect=dialect,
        links_passed_over=body.links_passed_over,
    )


def _moved(span: tuple[int, int] | None, by: int) -> tuple[int, int] | None:
    return None if span is None else (span[0] + by, span[1] + by)


def _typora_root(text: str) -> str | None:
    """The `typora-root-url` of the front matter at the top of `text`; None without one.
    Read by the front matter reader, as one more key, only for its value."""
    if "typora-root-url" not in text[: front_matter_end(text) or 0]:
        return None
    front = read_front_matter(text, (_TYPORA_ROOT_KEY,))
    values = [f.value for f in front.fields] if front is not None else []
    return values[0] if values and values[0] else None


_TYPORA_ROOT_KEY = "typora-root-url"


@dataclass(frozen=True, slots=True)
class _Passing:
    """Which blocks the scan may pass over (see scan_markdown)."""

    every_block: bool = False
    every_link: bool = True
    pass_over: frozenset[int] = frozenset()


def _scan_body(text: str, dialect: str, passing: _Passing) -> ScanResult:
    """The references of Markdown `text` (no front matter: it was split off before)."""
    if not may_contain_references(text):
        return ScanResult()
    # Counted before the lines are split (that alone costs), the way markdown-it splits them.
    breaks = text.count("\n") + text.count("\r") - text.count("\r\n")
    if breaks >= MAX_LINES:
        reason = f"more than {MAX_LINES:,} lines in one file"
        return ScanResult(problems=[Problem(MAX_LINES + 1, reason + _LEFT)])
    scan = _Scan(text, dialect, passing)
    try:
        scan.run()
    except TooBig as stop:
        if scan.skipped_brackets:
            # The links of the blocks passed over count toward the caps too: the whole
            # scan may have passed one earlier, at another line.
            return _scan_body(text, dialect, replace(passing, every_link=True))
        line = stop.line + 1 if stop.line is not None else scan.line_at(stop.pos or 0)
        scan.result = ScanResult(problems=[Problem(line, stop.reason + _LEFT)])
        return scan.result
    if scan.near_caps:
        return _scan_body(text, dialect, replace(passing, every_link=True))
    return scan.result


class _Scan:
    def __init__(self, text: str, dialect: str, passing: _Passing) -> None:
        self.lines = SourceLines(text)
        self.passing = passing
        self.links_passed_over: list[int] = []
        # The `[` of the blocks passed over: at most that many links the caps did not count.
        self.skipped_brackets = 0
        self.near_caps = False  # see _near_caps
        self._definitions_may: bool | None = None  # may a definition name a local image
        self.typora = dialect == "typora"  # raw-space images hosted (else reported)
        self.result = ScanResult()
        self.html = HtmlReader()  # one for the document: a comment may span blocks
        self.labels: dict[str, tuple[str, bool]] = {}  # label -> (alt, used by an image)
        self.table_heads: list[int] = []
        self.block = _Block(lambda pos: None, False, "", 0)  # the block being read
        self._text_read = [0, 0]  # in the block's text: see _read_text

    def run(self) -> None:
        env: dict[str, Any] = {}
        parent = ""
        inline_blocks = 0
        for token in parse_blocks(self.lines.text, env):
            if token.map is not None and token.type == "inline":
                if inline_blocks not in self.passing.pass_over:
                    self._inline(token, parent, env, inline_blocks)
                elif parent == "th_open":
                    self.table_heads.append(token.map[0])
                inline_blocks += 1
            elif token.map is not None and token.type == "html_block":
                to_source = self.lines.block_map(token.content, token.map, keep_last=True)
                self.block = _Block(to_source, False, token.content, token.map[0])
                self._html(token.content, 0)
                if "{{" in token.content:
                    self._block_shortcodes(token.content)
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
        self.near_caps = self._near_caps(env.get("links and images", 0), len(self.result.refs))
        self._distrust()
        self.result.links_passed_over = frozenset(self.links_passed_over)

    def _near_caps(self, links: int, refs: int) -> bool:
        """Whether the links passed over could have taken the whole scan past the cap on
        `links` and images (markdown/parser.py) or on `refs` (`_add`): each needs a `[`."""
        skipped = self.skipped_brackets
        return bool(skipped) and (
            links + skipped > markdown_parser.MAX_LINKS or refs + skipped > MAX_LINKS
        )

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

    def _inline(self, token: Token, parent: str, env: dict[str, Any], index: int) -> None:
        assert token.map is not None
        if parent == "th_open":
            self.table_heads.append(token.map[0])
        content = token.content
        if self.passing.every_block:  # the oracle (tests/test_scan_gate.py) trusts no quick test
            in_text_found = _IN_TEXT.search(content) is not None
            reading: Reading = "all"
        else:
            in_text_found = _in_text_may_match(content)
            hiding = self.html.hiding
            reading = _inline_reading(content, env, in_text_found, html_hiding=hiding)
        if reading == "links" and not self.passing.every_link:
            if self._definitions_may is None:
                self._definitions_may = definitions_may_name_images(env.get("references", {}))
            if not links_may_name_images(content, self._definitions_may):
                self.links_passed_over.append(index)
                self.skipped_brackets += content.count("[")
                return
        if reading == "nothing":
            return
        self.block = self._block(parent, content, token.map)
        not_text: list[tuple[int, int]] | None = None
        images: list[tuple[int, int]] | None = None
        if "![[" in content:
            env[IMAGE_SPANS] = images = []
        if in_text_found or images is not None or _MAYBE_RAW_SPACE.search(content):
            env[NOT_TEXT_SPANS] = not_text = []
        try:
            children = parse_inline(token, env, emphasis=reading == "all")
        finally:
            env.pop(NOT_TEXT_SPANS, None)
            env.pop(IMAGE_SPANS, None)
        if not_text is not None:
            not_text.sort()
        in_text = self._in_text(content, not_text) if not_text is not None else []
        in_text.reverse()  # popped from the end, in document order
        embeds = []
        if not_text is not None and images is not None:
            embeds = self._embeds_in_text(content, not_text, images)
        self._text_read = [0, 0]
        destinations: list[tuple[int, int]] = []  # of the images and links markdown-it read
        for child in children:
            if child.type == "html_inline" and "imgsync_start" in child.meta:
                # What the HTML so far leaves open (a comment, say) hides the text up to here.
                self._read_text(content, in_text, before=child.meta["imgsync_start"])
                self._read_embeds(embeds, before=child.meta["imgsync_start"])
                self._html(child.content, child.meta["imgsync_start"])
            elif child.type in ("image", "link_open"):
                kind: RefKind = "image" if child.type == "image" else "link"
                alt = child.content if kind == "image" else ""
                if "imgsync_dest" in child.meta:
                    destinations.append(child.meta["imgsync_dest"])
                    self._add(kind, *child.meta["imgsync_dest"], alt=alt)
                elif "label" in child.meta:
                    label = child.meta["label"]
                    old_alt, by_image = self.labels.get(label, ("", False))
                    if kind == "image" and not by_image:
                        # The first image's alt text, whatever links came before: a link has
                        # none, and a sync's scan may pass over a block of links (its alt
                        # text must not hang on that).
                        old_alt = alt
                    self.labels[label] = (old_alt, by_image or kind == "image")
        self._read_text(content, in_text, before=len(content) + 1)
        self._read_embeds(embeds, before=len(content) + 1)
        if not_text is not None and _MAYBE_RAW_SPACE.search(content):
            self._raw_spaces(content, not_text, destinations)

    @staticmethod
    def _embeds_in_text(
        content: str, not_text: list[tuple[int, int]], images: list[tuple[int, int]]
    ) -> list[re.Match[str]]:
        """The Obsidian image embeds of a block's text, last first: none in its code, math,
        autolinks, HTML or an image (its alt text is text to show, not to read), nor after a
        backslash; `![[Note]]` and `![[doc.pdf]]` are no image."""
        spans: list[tuple[int, int]] = []  # merged: an image holds the code of its alt text
        for start, end in sorted(not_text + images):
            if spans and start < spans[-1][1]:
                spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
            else:
                spans.append((start, end))
        starts = [start for start, _ in spans]
        found = []
        for match in _EMBED.finditer(content):
            index = bisect.bisect_right(starts, match.start()) - 1
            inside = index >= 0 and match.start() < spans[index][1]
            # ... nor one that code or HTML starts inside of (`![[a`b`.png]]`)
            inside |= index + 1 < len(spans) and spans[index + 1][0] < match.end()
            if not inside and looks_like_image_path(match.group("path").strip()):
                found.append(match)
        found.reverse()
        return found

    def _read_embeds(self, embeds: list[re.Match[str]], *, before: int) -> None:
        """Add the embeds (last first) that start before `before`, but those hidden by HTML
        left open before them (a comment, a <script>)."""
        while embeds and embeds[-1].start() < before:
            match = embeds.pop()
            if not self.html.hiding:
                display = match.group("display") or ""
                self._add("embed", match.start(), match.end(), attribute=display)

    def _raw_spaces(
        self, content: str, not_text: list[tuple[int, int]], destinations: list[tuple[int, int]]
    ) -> None:
        """Typora's images whose destination holds a raw space (`![](images/timg (1).jpeg)`):
        CommonMark reads them as text. Found only in the block's text (not in its code, math,
        HTML or escapes, nor in a destination markdown-it read), only when the inside names a
        local image file; hosted in the "typora" dialect, else a problem with the exact fix."""
        starts = [start for start, _ in not_text]
        read = sorted(start for start, _ in destinations)
        pairs: dict[int, int] | None = None  # made for the first candidate
        for found in _RAW_SPACE_OPEN.finditer(content):
            at = found.start()
            index = bisect.bisect_right(starts, at) - 1
            if index >= 0 and at < not_text[index][1]:
                continue  # in code, math, an autolink, HTML, or escaped
            pairs = _paren_pairs(content) if pairs is None else pairs
            close = pairs.get(found.end() - 1)
            if close is None:
                continue
            inside = content[found.end() : close]
            begin = found.end() + len(inside) - len(inside.lstrip(" \t"))
            end = close - (len(inside) - len(inside.rstrip(" \t")))
            destination = content[begin:end]
            if bisect.bisect_left(read, at) < bisect.bisect_left(read, close):
                continue  # markdown-it read a destination in it: its own image, or a link
            alt = found.group("alt")
            if not _is_raw_space_image(destination):
                written = content[at : close + 1]
                if (curly := curly_title(written, alt, destination, at)) is not None:
                    self._tell_unhandled(curly)
                continue
            if self.typora and _LABEL_BEFORE.fullmatch(content, 0, at):
                reason = (
                    f"`{content[at : close + 1]}` would become the destination of the "
                    "reference definition before it once hosted: edit it by hand"
                )
                self.result.problems.append(Problem(self.line_at(at), reason))
                continue
            if self.typora:
                self._raw_space_ref(begin, end, alt, (at, close + 1))
                continue
            written = content[at : close + 1]
            reason = (
                f"`{written}` is not an image to CommonMark (a destination cannot hold a raw "
                f"space), so it is not hosted: write it as {_raw_space_fix(alt, destination)}, "
                'or set dialect = "typora" in the config to host it as Typora shows it'
            )
            image = decode_markdown_destination(destination)
            self._tell_unhandled(Finding(at, image, reason))

    def _raw_space_ref(self, begin: int, end: int, alt: str, whole: tuple[int, int]) -> None:
        """Add the raw-space image at content[begin:end], noting where all of it stands."""
        before = len(self.result.refs)
        self._add("image", begin, end, alt=alt)
        if len(self.result.refs) == before:
            return  # not placed exactly: _add said so
        opens, closes = self.block.to_source(whole[0]), self.block.to_source(whole[1])
        if opens is None or closes is None:
            self.result.refs.pop()
            reason = "could not place this image exactly"
            self.result.problems.append(Problem(self.line_at(whole[0]), reason))
            return
        self.result.refs[-1] = replace(self.result.refs[-1], text_span=(opens, closes))

    @staticmethod
    def _in_text(content: str, not_text: list[tuple[int, int]]) -> list[re.Match[str]]:
        """The shortcodes and tags of a block's text: not in its code, math, autolinks or HTML
        (nor after a backslash: `\\<img` is text on purpose)."""
        starts = [start for start, _ in not_text]
        found = []
        for match in _IN_TEXT.finditer(content):
            index = bisect.bisect_right(starts, match.start()) - 1
            if index < 0 or match.start() >= not_text[index][1]:
                found.append(match)
        return found

    def _read_text(self, content: str, in_text: list[re.Match[str]], *, before: int) -> None:
        """Read the `in_text` matches (last first) that start before `before`."""
        # What a shortcode holds is its own, and a tag's is no other tag: each character is
        # read once by each kind, never once per `<img` of a hostile line.
        read = self._text_read  # [shortcodes read up to, tags read up to]
        while in_text and in_text[-1].start() < before:
            match = in_text.pop()
            if match.group("tag") is None and match.group("shortcode") is None:
                if not self.html.hiding:  # what a tag holds is read too: a JSX `src={require(`
                    self._unhandled_form(content, match)
                continue
            if self.html.hiding or match.start() < read[match.group("shortcode") is None]:
                continue  # hidden by HTML left open before it (a comment, a <script>), or read
            if match.group("shortcode"):
                read[0] = read[1] = self._shortcode(content, match)
            else:
                read[1] = self._unread_tag(content, match.start(), match.group("tag").lower())

    def _unhandled_form(self, content: str, match: re.Match[str]) -> None:
        """A Hexo tag, an MDX `require(`, `import` or component found in the text: told if it
        names a local image."""
        finding: Finding | None
        if match.group("component"):
            for finding in component_tag(content, match.start(), match.group("component"))[0]:
                self._tell_unhandled(finding)
            return
        if match.group("hexo"):
            finding, _ = hexo_tag(content, match.start())
        elif match.group("require"):
            finding = mdx_require(content, match.start())
        else:
            finding = mdx_import(content, match.start())
        if finding is not None:
            self._tell_unhandled(finding)

    def _tell_unhandled(self, finding: Finding, offset: int = 0) -> None:
        """Note a finding of unhandled.py at `offset` + its place in the block's content."""
        at = offset + finding.at
        start = self.block.to_source(at)
        if start is None:  # not placed exactly: its line's start is as good for a marker
            start = self.lines.starts[self.line_at(at) - 1]
        line = self.line_at(at)
        self.result.unhandled.append(Unhandled(line, finding.reason, finding.image, start))

    def _block_shortcodes(self, content: str) -> None:
        """The figure shortcodes of an HTML block (Hugo expands them before Markdown reads
        the HTML), but not those in its comments, as none in a paragraph's comment is read."""
        end = 0  # what the last shortcode read
        pos, in_comment = 0, False  # the comments are followed once, left to right
        for match in _IN_TEXT.finditer(content):
            at = match.start()
            if at < end or not match.group("shortcode"):
                continue
            while (mark := content.find("-->" if in_comment else "<!--", pos, at)) != -1:
                pos, in_comment = mark + (3 if in_comment else 4), not in_comment
            pos = at  # no `<!--` or `-->` holds the `{{` found here
            if not in_comment:
                end = self._shortcode(content, match)

    def _shortcode(self, content: str, match: re.Match[str]) -> int:
        """Add the figure shortcode's images, tell those another shortcode names; where it
        ends (the content's end if it doesn't)."""
        pos, start, code = match.end(), match.start(), match.group("code")
        closer = ">}}" if match.group("delimiter") == "<" else "%}}"
        read = shortcode_params(content, pos, closer)
        if read is None and self._closed_after_block(content, closer):
            # Hugo reads shortcodes before Markdown: a `>}}` at the start of the next line
            # is a block quote to Markdown, but it ends the shortcode all the same.
            read = shortcode_params(content + "\n" + closer, pos, closer)
            if read is not None:
                read = (read[0], len(content))
        if read is None:
            if code == "figure":  # another one is Hugo's error to tell (the build stops)
                reason = f"this figure shortcode has no end (`{closer}`): its image is not hosted"
                self.result.problems.append(Problem(self.line_at(start), reason))
            return len(content)
        params, shortcode_end = read
        if code != "figure":
            finding = other_shortcode(content, code, params, start)
            if finding is not None:
                self._tell_unhandled(finding)
            return shortcode_end
        for name, begin, end, quote in params:
            if name in ("src", "link") and begin < end:  # each, whichever one Hugo keeps
                self._add("shortcode", begin, end, attribute=name, quote=quote)
        return shortcode_end

    def _closed_after_block(self, content: str, closer: str) -> bool:
        """Whether the source right after the block's content is blank space, then `closer`."""
        last = self.block.to_source(len(content) - 1) if content else None
        if last is None:
            return False
        after = self.lines.text[last + 1 : last + 1 + 256]
        return after.lstrip(" \t\r\n").startswith(closer)

    def _unread_tag(self, content: str, start: int, name: str) -> int:
        """A tag Markdown shows as text: a problem if it would name a local image.
        Returns where the tag ends as a browser would read it (the content's end if it doesn't).
        A JSX tag (MDX: a value in braces) is read as MDX does: its string sources are hosted."""
        jsx = jsx_attributes(content, start + 1 + len(name))
        if jsx is not None:
            strings, jsx_end = jsx
            sources: list[ImgSource] = []
            tag_sources(content, IMAGE_ATTRIBUTES[name], [a[:3] for a in strings], sources, [])
            for source in sources:
                self._add(
                    "jsx", source.start, source.end, attribute=source.attribute, quote=source.quote
                )
            return jsx_end
        attributes, end = read_attributes(content, start + 1 + len(name))
        tag_end = end if end >= 0 else len(content)
        sources = []
        tag_sources(content, IMAGE_ATTRIBUTES[name], attributes, sources, [])
        urls = [decode_html_attribute(content[source.start : source.end]) for source in sources]
        local = [
            url
            for url, source in zip(urls, sources, strict=True)
            if (target := local_target(url)) is not None
            and (source.attribute != "href" or looks_like_image_path(target.path))
        ]
        if not local:
            return tag_end
        why = "is never closed with `>`" if end < 0 else "is not HTML that Markdown reads"
        reason = (
            f"this <{name}> tag {why}, so it shows as text and {local[0]!r} is not hosted: "
            "write the tag whole on its lines, ending with `>`"
        )
        self._tell_unhandled(Finding(start, local[0], reason))
        return tag_end

    def _html(self, html: str, offset: int) -> None:
        self._ignore_marks(html, offset)
        if ("require(" in html or "{%" in html or _COMPONENT.search(html)) and not self.html.hiding:
            for finding in in_html(html):  # JSX's `src={require(...)}`, a component, a Hexo tag
                self._tell_unhandled(finding, offset)
        sources, problems = self.html.read(html)
        for position, reason in problems:
            self.result.problems.append(Problem(self.line_at(offset + position), reason))
        for src in sources:
            start, end = offset + src.start, offset + src.end
            self._add("html", start, end, attribute=src.attribute, quote=src.quote)

    def _ignore_marks(self, html: str, offset: int) -> None:
        """Note where each ignore marker of this raw HTML ends, in the text."""
        for mark in _IGNORE_MARK.finditer(html):
            end = self.block.to_source(offset + mark.end())
            if end is None:  # not placed exactly: its line's end is as good for "next"
                end = self.lines.ends[self.line_at(offset + mark.end()) - 1]
            self.result.ignore_marks.append(end)

    def line_at(self, pos: int) -> int:
        """The 1-based source line of `pos` in the block being read."""
        return self.block.first_line + self.block.content.count("\n", 0, pos) + 1

    def _add(
        self,
        kind: RefKind,
        start: int,
        end: int,
        *,
        alt: str = "",
        attribute: str = "",
        quote: str = "",
    ) -> None:
        """Record the destination at content[start:end] (what markdown-it saw), if placed."""
        block = self.block
        seen = block.content[start:end]
        span = self.lines.span(
            block.to_source(start), block.to_source(end), seen, block.escaped_pipes
        )
        if span is None:
            what = _WHAT.get(kind, "destination")
            reason = f"could not place this {what} exactly"
            self.result.problems.append(Problem(self.line_at(start), reason))
            return
        begin, stop = span
        text = self.lines.text
        if kind in ("html", "jsx"):
            url = decode_html_attribute(seen)
        elif kind == "shortcode":
            url = seen  # Hugo reads a shortcode's value as written
        elif kind == "embed":
            match = _EMBED.fullmatch(seen)
            assert match is not None  # `seen` is the embed found in this content
            url = match.group("path").strip()  # Obsidian trims the path, as written otherwise
        else:
            url = decode_markdown_destination(seen)
        angle = kind in ("image", "link", "definition") and text.startswith("<", begin)
        line = self.lines.line_of(begin)
        if len(self.result.refs) >= MAX_LINKS:  # an <img srcset> may hold many
            raise TooBig(f"more than {MAX_LINKS:,} image references in one file", line=line - 1)
        self.result.refs.append(
            ImageRef(kind, begin, stop, text[begin:stop], url, line, alt, angle, attribute, quote)
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


def _paren_pairs(content: str) -> dict[int, int]:
    """Where each `(` of `content` is closed: the `)` at the same depth on its line,
    parentheses inside balanced as Typora writes them (`timg (1).jpeg`), a backslash escaping
    the next character. One pass for the whole block: a line of a thousand unclosed `![](`
    costs no more than one."""
    pairs: dict[int, int] = {}
    opened: list[int] = []
    pos, size = 0, len(content)
    while pos < size:
        char = content[pos]
        if char == "\\":
            pos += 1
        elif char == "(":
            opened.append(pos)
        elif char == ")" and opened:
            pairs[opened.pop()] = pos
        elif char == "\n":
            opened.clear()
        pos += 1
    return pairs


def _is_raw_space_image(destination: str) -> bool:
    """A raw-space destination (no `<...>`) that names a local file looking like an image."""
    if not destination or destination.startswith("<") or not re.search(r"[ \t]", destination):
        return False
    target = local_target(decode_markdown_destination(destination))
    return target is not None and looks_like_image_path(target.path)


def _raw_space_fix(alt: str, destination: str) -> str:
    """The image as CommonMark reads it: the destination in `<...>` (spaces as %20 where
    angle brackets can't hold it)."""
    if "<" in destination or ">" in destination:
        escaped = destination.replace(" ", "%20").replace("\t", "%09")
        return f"![{alt}]({escaped})"
    return f"![{alt}](<{destination}>)"


def shortcode_params(
    text: str, pos: int, closer: str
) -> tuple[list[tuple[str, int, int, str]], int] | None:
    """(name, value start, value end, quote) of each `name=value` of a shortcode, read from
    `pos` to its `closer`, and where it ends; None when the shortcode does not end.

    Values are double-quoted, single-quoted, in backticks, or bare up to a space or the end.
    """
    params: list[tuple[str, int, int, str]] = []
    size = len(text)
    while True:
        while pos < size and text[pos] in _SHORTCODE_SPACE:
            pos += 1
        if pos >= size:
            return None
        if text.startswith(closer, pos):
            return params, pos + len(closer)
        name_start = pos
        while pos < size and (text[pos].isalnum() or text[pos] in "_-"):
            pos += 1
        name = text[name_start:pos]  # as Hugo reads it: `SRC=` is not `src=`
        if pos < size and text[pos] == "=":
            pos += 1
        elif name:
            continue  # a positional word: no value to read
        quote = text[pos] if pos < size and text[pos] in "\"'`" else ""
        if quote:
            close = pos + 1
            while close < size and text[close] != quote:
                close += 2 if text[close] == "\\" and quote == '"' else 1
            if close >= size:
                return None
            value = (pos + 1, close)
            pos = close + 1
        else:
            value_start = pos
            while (
                pos < size
                and text[pos] not in _SHORTCODE_SPACE
                and not text.startswith(closer, pos)
            ):
                pos += 1
            if pos == value_start:
                pos += 1  # a lone character that is neither a name nor a value: pass it
                continue
            value = (value_start, pos)
        if name:
            params.append((name, *value, quote))


_SHORTCODE_SPACE = " \t\n\r"
