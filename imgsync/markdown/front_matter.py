"""The image fields of a Markdown file's front matter, with exact spans (pure, linear time).

Hugo, Hexo, Jekyll and Docusaurus strip a YAML (`---`) or TOML (`+++`) block from the top of a
post before the Markdown is read, and take a cover or a social card from its fields. This is
not a YAML or TOML parser: it is a line reader that knows exactly the shapes those fields take
(`key: value` at the top or one level down, block `- x` and flow `[a, b]` lists of scalars,
comments, plain, 'single' and "double" scalars; TOML's `key = "..."`, `[table]` headers,
arrays of strings) and says where and why it could not read a configured field, never guessing.
A block that is never closed is not front matter: the file is Markdown from its first line.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Collection
from dataclasses import dataclass, field

from .front_matter_keys import DEFAULT_KEYS

# The styles a value is written in, and so the way its new value must be written.
YAML_PLAIN, YAML_FLOW_PLAIN, YAML_SINGLE, YAML_DOUBLE = "plain", "flow plain", "single", "double"
TOML_BASIC, TOML_LITERAL = "toml basic", "toml literal"

_BREAK = re.compile(r"\r\n|\r|\n")
# A closing fence: a line of its own after the opening one (trailing blanks allowed).
_CLOSING = {
    "yaml": re.compile(r"(?:\r\n|\r|\n)(?:---|\.\.\.)[ \t]*(?=\r\n|\r|\n|\Z)"),
    "toml": re.compile(r"(?:\r\n|\r|\n)\+\+\+[ \t]*(?=\r\n|\r|\n|\Z)"),
}
_YAML_KEY = re.compile(r"""([A-Za-z0-9_][\w.-]*|"[^"\\\n\r]*"|'[^'\n\r]*')[ \t]*:(?=[ \t]|$)""")
_TOML_KEY = re.compile(
    r"""[ \t]*((?:[A-Za-z0-9_-]+|"[^"\\\n\r]*"|'[^'\n\r]*')"""
    r"""(?:[ \t]*\.[ \t]*(?:[A-Za-z0-9_-]+|"[^"\\\n\r]*"|'[^'\n\r]*'))*)[ \t]*=[ \t]*"""
)
_TOML_TABLE = re.compile(r"[ \t]*\[[ \t]*([A-Za-z0-9_-]+(?:[ \t]*\.[ \t]*[A-Za-z0-9_-]+)*)[ \t]*\]")
# A line this reader skips is a problem only when it may name an image. The extensions are
# destinations.IMAGE_EXTENSIONS', spelt again: that module loads markdown-it, and this one is
# loaded on the nothing-to-do path (test_fast_path).
_IMAGE_LIKE = re.compile(r"\.(?:png|jpe?g|gif|webp|svg|bmp|avif|ico|tiff?)\b", re.IGNORECASE)
_YAML_ESCAPES = {"\\": "\\", '"': '"', "/": "/", "t": "\t", "n": "\n", "r": "\r", "0": "\0"}
_TOML_ESCAPES = {"\\": "\\", '"': '"', "t": "\t", "n": "\n", "r": "\r", "b": "\b", "f": "\f"}
_HEX = {"x": 2, "u": 4, "U": 8}
# A plain YAML scalar may hold a URL only if no character of it means something to YAML.
_PLAIN_SAFE = re.compile(r"[^\s\-?:,\[\]{}#&*!|>'\"%@`][^\s#]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# What a YAML value starting with these is, for the problem that says it is not read.
_FORMS = {
    "|": "a block scalar (`|`), which imgsync does not read",
    ">": "a folded block scalar (`>`), which imgsync does not read",
    "&": "an anchor (`&name`), which imgsync does not read",
    "*": "an alias (`*name`), which imgsync does not read",
    "!": "a tagged value (`!tag`), which imgsync does not read",
}
_STYLES = {
    (False, False): YAML_SINGLE,
    (False, True): YAML_DOUBLE,
    (True, False): TOML_LITERAL,
    (True, True): TOML_BASIC,
}


@dataclass(frozen=True, slots=True)
class Field:
    """One image value of the front matter: text[start:end] is `raw`, which reads as `value`."""

    key: str  # "cover.image"; a list's items all carry the list's key
    start: int
    end: int
    raw: str
    value: str
    style: str  # YAML_PLAIN, ..., TOML_LITERAL: how a new value must be written here
    line: int  # 1-based


@dataclass
class FrontMatter:
    """The front matter block at the top of a text: where the Markdown after it begins."""

    end: int  # offset of the first character after the closing fence's line
    lines: int  # lines the block takes, both fences included
    fields: list[Field] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (1-based line, reason)


def front_matter_end(text: str) -> int | None:
    """Where the Markdown after the front matter begins; None when the text has none."""
    found = _fences(text)
    return None if found is None else found[3]


def read_front_matter(text: str, keys: Collection[str] = DEFAULT_KEYS) -> FrontMatter | None:
    """The front matter at the top of `text` and its fields named by `keys`; None if none."""
    found = _fences(text)
    if found is None:
        return None
    dialect, lines, taken, end = found
    paths = _paths(tuple(keys))
    reader: _Reader = (_Yaml if dialect == "yaml" else _Toml)(text, lines, paths)
    reader.read()
    return FrontMatter(end, taken, reader.fields, reader.problems)


def encode_value(style: str, value: str) -> str:
    """`value` written for the place of a field in `style`, re-quoted if it can't be so.

    ValueError when no quoting can hold it on one line.
    """
    if "\n" in value or "\r" in value:
        raise ValueError("a line break cannot stand in a front matter field")
    if style in (YAML_PLAIN, YAML_FLOW_PLAIN):
        flow_safe = style == YAML_PLAIN or not any(c in value for c in ",[]{}")
        if _PLAIN_SAFE.fullmatch(value) and not value.endswith(":") and flow_safe:
            return value
        style = YAML_SINGLE  # the least quoting that holds any URL
    if style == YAML_SINGLE and not _CONTROL.search(value):
        return "'" + value.replace("'", "''") + "'"
    if style in (YAML_SINGLE, YAML_DOUBLE):
        return '"' + _escape(value, r"\x{:02x}") + '"'
    if style == TOML_LITERAL and "'" not in value and not _CONTROL.search(value):
        return "'" + value + "'"
    return '"' + _escape(value, r"\u{:04x}") + '"'


def _escape(value: str, control: str) -> str:
    value = value.replace("\\", "\\\\").replace('"', '\\"')
    return _CONTROL.sub(lambda m: control.format(ord(m.group())), value)


@functools.lru_cache(maxsize=8)
def _paths(keys: tuple[str, ...]) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(key.split(".")) for key in keys)


def _fences(text: str) -> tuple[str, list[tuple[int, int]], int, int] | None:
    """(dialect, the lines between the fences as (start, end), the lines the block takes,
    the body's start); None when the text does not open with a fence that is closed."""
    start = 1 if text.startswith("\ufeff") else 0
    if not text.startswith(("---", "+++"), start):
        return None
    dialect = "yaml" if text[start] == "-" else "toml"
    first = _BREAK.search(text, start)
    if first is None or text[start + 3 : first.start()].strip(" \t"):
        return None  # `---` alone, `---x` or `--- a`: Markdown
    close = _CLOSING[dialect].search(text, first.start())
    if close is None:
        return None
    lines: list[tuple[int, int]] = []
    cursor = first.end()
    for found in _BREAK.finditer(text, cursor, close.start()):
        lines.append((cursor, found.start()))
        cursor = found.end()
    if cursor <= close.start():
        lines.append((cursor, close.start()))
    after = _BREAK.match(text, close.end())
    return dialect, lines, len(lines) + 2, after.end() if after else len(text)


class _Reader:
    """What both dialects share: the lines, where offsets fall, and what was found."""

    def __init__(
        self, text: str, lines: list[tuple[int, int]], paths: frozenset[tuple[str, ...]]
    ) -> None:
        self.text = text
        self.lines = lines
        self.starts = [start for start, _ in lines]
        self.paths = paths
        self.fields: list[Field] = []
        self.problems: list[tuple[int, str]] = []
        self.limit = lines[-1][1] if lines else 0  # the front matter's last character + 1

    def read(self) -> None:
        raise NotImplementedError

    def line_of(self, pos: int) -> int:
        """1-based line of the file (the opening fence is line 1)."""
        return bisect.bisect_right(self.starts, pos) + 1

    def index_of(self, pos: int) -> int:
        """Index into self.lines of the line holding `pos`."""
        return max(0, bisect.bisect_right(self.starts, pos) - 1)

    def add(self, path: tuple[str, ...], start: int, end: int, value: str, style: str) -> None:
        raw = self.text[start:end]
        self.fields.append(
            Field(".".join(path), start, end, raw, value, style, self.line_of(start))
        )

    def problem(self, pos: int, path: tuple[str, ...] | None, reason: str) -> None:
        where = f"front matter field `{'.'.join(path)}`" if path else "front matter"
        self.problems.append(
            (self.line_of(pos), f"{where}: {reason}; imgsync leaves it as it is: edit it by hand")
        )

    def quoted(
        self, pos: int, escapes: dict[str, str] | None, doubled: bool
    ) -> tuple[int, str | None]:
        """The end of the quoted scalar opening at `pos` (-1: never closed) and its value
        (None: an escape this reader does not know). `doubled`: `''` stands for a quote."""
        text, limit, quote = self.text, self.limit, self.text[pos]
        pieces: list[str] = []
        known, cursor = True, pos + 1
        stop = text.find(quote, cursor, limit)
        while True:
            if stop < cursor:  # the quote found before was escaped: find the next one
                stop = text.find(quote, cursor, limit)
            if stop < 0:
                return -1, None
            slash = text.find("\\", cursor, stop) if escapes is not None else -1
            if slash >= 0:
                assert escapes is not None
                pieces.append(text[cursor:slash])
                letter = text[slash + 1 : slash + 2]
                size = _HEX.get(letter, 0)
                digits = text[slash + 2 : slash + 2 + size]
                cursor = slash + 2
                if letter in escapes:
                    pieces.append(escapes[letter])
                elif size and len(digits) == size and _is_character(digits):
                    pieces.append(chr(int(digits, 16)))
                    cursor += size
                else:
                    known = False  # read on to the closing quote all the same
                continue
            if doubled and text.startswith(quote, stop + 1):
                pieces.append(text[cursor : stop + 1])
                cursor = stop + 2
                continue
            pieces.append(text[cursor:stop])
            return stop + 1, "".join(pieces) if known else None

    def flow_end(self, pos: int, toml: bool) -> int:
        """The end of the bracketed collection opening at `pos`, quotes and comments
        skipped (-1: never closed)."""
        text, depth, cursor = self.text, 0, pos
        while cursor < self.limit:
            char = text[cursor]
            if char in "[{":
                depth += 1
            elif char in "]}":
                depth -= 1
                if depth == 0:
                    return cursor + 1
            elif char in "\"'":
                end, _ = self.quoted(cursor, None if char == "'" else _TOML_ESCAPES, False)
                if end < 0:
                    return -1
                cursor = end
                continue
            elif char == "#" and (toml or text[cursor - 1] in " \t\r\n"):
                newline = _BREAK.search(text, cursor, self.limit)
                cursor = newline.start() if newline else self.limit
                continue
            cursor += 1
        return -1

    def items(self, start: int, stop: int, toml: bool) -> list[tuple[int, int, str, str]] | str:
        """The scalars of the list text[start:stop] (its brackets excluded), or why not."""
        text, cursor = self.text, start
        found: list[tuple[int, int, str, str]] = []
        while True:
            cursor = self._gap(cursor, stop, toml)
            if cursor >= stop:
                return found
            char = text[cursor]
            if char in "\"'":
                double = char == '"'
                escapes = (_TOML_ESCAPES if toml else _YAML_ESCAPES) if double else None
                style = _STYLES[toml, double]
                end, value = self.quoted(cursor, escapes, not toml and not double)
                if end < 0 or value is None or end > stop or _BREAK.search(text, cursor, end):
                    return "a list item imgsync can't read exactly"
            elif toml or char in "[]{},":
                return "a list item that is not a string"
            else:
                end = cursor
                while (
                    end < stop
                    and text[end] not in ",\r\n"
                    and text[end : end + 2] not in (" #", "\t#")
                ):
                    end += 1
                value = text[cursor:end].rstrip(" \t")
                end = cursor + len(value)
                if any(c in value for c in "[]{}") or ": " in value:
                    return "a list item imgsync can't read exactly"
                style = YAML_FLOW_PLAIN
            found.append((cursor, end, value, style))
            cursor = self._gap(end, stop, toml)
            if cursor < stop and text[cursor] != ",":
                return "a list whose items imgsync can't separate exactly"
            cursor += 1

    def _gap(self, cursor: int, stop: int, toml: bool) -> int:
        """Past spaces, line breaks and comments."""
        text = self.text
        while cursor < stop:
            if text[cursor] in " \t\r\n":
                cursor += 1
            elif text[cursor] == "#" and (toml or cursor == 0 or text[cursor - 1] in " \t\r\n["):
                newline = _BREAK.search(text, cursor, stop)
                cursor = newline.start() if newline else stop
            else:
                break
        return cursor

    def rest_is_blank(self, pos: int, end: int, toml: bool = False) -> bool:
        """Nothing but spaces and a comment from `pos` to the line's `end` (YAML's `#`
        needs a space before it; TOML's does not)."""
        rest = self.text[pos:end]
        stripped = rest.lstrip(" \t")
        return not stripped or (stripped.startswith("#") and (toml or len(stripped) < len(rest)))


class _Yaml(_Reader):
    def read(self) -> None:
        index = self._mapping((), 0, 0)
        while index < len(self.lines):  # lines the top-level mapping did not take
            self._unread(index)
            index = self._skip_blank(self._deeper(index + 1, 0))
            index = self._mapping((), index, 0)

    def _indent(self, index: int) -> int:
        start, end = self.lines[index]
        content = self.text[start:end]
        return len(content) - len(content.lstrip(" "))

    def _is_blank(self, index: int) -> bool:
        start, end = self.lines[index]
        stripped = self.text[start:end].strip(" \t")
        return not stripped or stripped.startswith("#")

    def _skip_blank(self, index: int) -> int:
        while index < len(self.lines) and self._is_blank(index):
            index += 1
        return index

    def _deeper(self, index: int, indent: int) -> int:
        """Past the lines indented more than `indent`: they belong to what came before."""
        while index < len(self.lines) and (self._is_blank(index) or self._indent(index) > indent):
            index += 1
        return index

    def _continues(self, index: int, indent: int) -> bool:
        """Whether lines from `index` go on with the value before (they are more indented)."""
        index = self._skip_blank(index)
        return index < len(self.lines) and self._indent(index) > indent

    def _unread(self, index: int) -> None:
        """A line this reader can't place: a problem if it may name an image."""
        start, end = self.lines[index]
        if _IMAGE_LIKE.search(self.text, start, end):
            self.problem(start + self._indent(index), None, "a line imgsync can't read exactly")

    def _mapping(self, path: tuple[str, ...], index: int, indent: int) -> int:
        """The `key: value` lines at `indent`, from `index`; the first line not theirs."""
        while True:
            index = self._skip_blank(index)
            if index >= len(self.lines) or self._indent(index) != indent:
                return index
            start, end = self.lines[index]
            match = _YAML_KEY.match(self.text, start + indent, end)
            if match is None:
                return index
            index = self._value((*path, _key(match.group(1))), match.end(), index, indent)

    def _value(self, path: tuple[str, ...], pos: int, index: int, indent: int) -> int:
        """The value after `key:` at `pos` on line `index`; the next line to read."""
        end = self.lines[index][1]
        while pos < end and self.text[pos] in " \t":
            pos += 1
        if pos == end or self.text[pos] == "#":
            return self._nested(path, index + 1, indent)
        return self._scalar(path, pos, index, indent, "a value")

    def _scalar(self, path: tuple[str, ...], pos: int, index: int, indent: int, what: str) -> int:
        """A value (or list item) at `pos` on line `index`, kept if `path` is wanted."""
        text, end = self.text, self.lines[index][1]
        wanted = path in self.paths
        char = text[pos] if pos < end else ""
        after = index
        if char in "\"'[{":
            double = char == '"'
            if char in "[{":
                stop = self.flow_end(pos, toml=False)
            else:
                stop, value = self.quoted(pos, _YAML_ESCAPES if double else None, not double)
            if stop < 0:
                self.problem(pos, path, f"{what} whose bracket or quote is never closed")
                return len(self.lines)
            after = self.index_of(stop - 1)
            tail = self.lines[after][1]
            if not wanted:
                pass
            elif after != index and char not in "[":
                self.problem(pos, path, f"{what} over several lines")
            elif char == "{":
                self.problem(pos, path, "a {flow mapping}, which imgsync does not read")
            elif not self.rest_is_blank(stop, tail):
                self.problem(
                    pos, path, f"text after the closing {'bracket' if char == '[' else 'quote'}"
                )
            elif self._continues(after + 1, indent):
                self.problem(pos, path, f"{what} over several lines")
            elif char == "[":
                self._flow_list(path, pos, stop)
            elif value is None:
                self.problem(pos, path, "an escape sequence imgsync does not read")
            else:
                self.add(path, pos, stop, value, YAML_DOUBLE if double else YAML_SINGLE)
        elif wanted and (char in "|>&*!@`%,]}" or text.startswith(("- ", "? ", "-\t"), pos)):
            form = _FORMS.get(char, "a form imgsync does not read")
            self.problem(pos, path, f"{what} written as {form}")
        elif wanted:
            stop = pos
            while stop < end and text[stop : stop + 2] not in (" #", "\t#"):
                stop += 1
            value = text[pos:stop].rstrip(" \t")
            if ": " in value or value.endswith(":") or value in ("-", "?"):
                self.problem(pos, path, f"{what} imgsync can't read exactly")
            elif self._continues(index + 1, indent):
                self.problem(pos, path, f"{what} over several lines")
            else:
                self.add(path, pos, pos + len(value), value, YAML_PLAIN)
        return self._deeper(after + 1, indent)

    def _flow_list(self, path: tuple[str, ...], pos: int, stop: int) -> None:
        items = self.items(pos + 1, stop - 1, toml=False)
        if isinstance(items, str):
            self.problem(pos, path, items)
            return
        for start, item_end, value, style in items:
            self.add(path, start, item_end, value, style)

    def _nested(self, path: tuple[str, ...], index: int, indent: int) -> int:
        """What follows `key:` with nothing after it: a list, a mapping, or no value."""
        index = self._skip_blank(index)
        if index >= len(self.lines):
            return index
        start, end = self.lines[index]
        inner = self._indent(index)
        content = self.text[start + inner : end]
        if (content == "-" or content.startswith(("- ", "-\t"))) and inner >= indent:
            return self._list(path, index, inner)
        if inner <= indent:
            return index  # no value
        if len(path) == 1 and _YAML_KEY.match(self.text, start + inner, end):
            index = self._mapping(path, index, inner)
            if index < len(self.lines) and self._indent(index) > indent:
                self._unread(index)  # a line of the mapping it could not read
            return self._deeper(index, indent)
        if path in self.paths or any(p[: len(path)] == path for p in self.paths):
            self.problem(start + inner, path, "nested deeper than imgsync reads")
        return self._deeper(index, indent)

    def _list(self, path: tuple[str, ...], index: int, indent: int) -> int:
        """The `- item` lines at `indent`; the first line not theirs."""
        while True:
            index = self._skip_blank(index)
            if index >= len(self.lines) or self._indent(index) != indent:
                return index
            start, end = self.lines[index]
            pos = start + indent
            if not (self.text[pos:end] == "-" or self.text.startswith(("- ", "-\t"), pos)):
                return index
            pos += 1
            while pos < end and self.text[pos] in " \t":
                pos += 1
            if path in self.paths and (pos == end or self.text[pos] == "#"):
                self.problem(pos, path, "a list item imgsync can't read exactly")
                index = self._deeper(index + 1, indent)
            else:
                index = self._scalar(path, pos, index, indent, "a list item")


class _Toml(_Reader):
    def read(self) -> None:
        table: tuple[str, ...] | None = ()
        index = 0
        while index < len(self.lines):
            start, end = self.lines[index]
            content = self.text[start:end].strip(" \t")
            if not content or content.startswith("#"):
                index += 1
                continue
            if content.startswith("["):
                header = _TOML_TABLE.match(self.text, start, end)
                if (
                    header
                    and not content.startswith("[[")
                    and self.rest_is_blank(header.end(), end, toml=True)
                ):
                    table = tuple(part.strip(" \t") for part in header.group(1).split("."))
                else:
                    table = None  # an array of tables, or a header not read: no field of ours
                index += 1
                continue
            match = _TOML_KEY.match(self.text, start, end)
            if match is None:
                if _IMAGE_LIKE.search(content):
                    self.problem(start, None, "a line imgsync can't read exactly")
                index += 1
                continue
            keys = tuple(_key(part.strip(" \t")) for part in _split_dotted(match.group(1)))
            path = None if table is None else (*table, *keys)
            index = self._value(path, match.end(), index)

    def _value(self, path: tuple[str, ...] | None, pos: int, index: int) -> int:
        text, end = self.text, self.lines[index][1]
        wanted = path in self.paths
        assert path is not None or not wanted
        char = text[pos] if pos < end else ""
        if text.startswith(('"""', "'''"), pos):
            close = text.find(text[pos : pos + 3], pos + 3, self.limit)
            if wanted:
                self.problem(pos, path, "a multi-line string, which imgsync does not read")
            return len(self.lines) if close < 0 else self.index_of(close) + 1
        if char in "\"'":
            stop, value = self.quoted(pos, _TOML_ESCAPES if char == '"' else None, False)
            if stop <= 0 or self.index_of(stop - 1) != index:
                self.problem(pos, path, "a string that is not closed on its line")
                return index + 1
            if wanted and path is not None:
                if value is None:
                    self.problem(pos, path, "an escape sequence imgsync does not read")
                elif not self.rest_is_blank(stop, end, toml=True):
                    self.problem(pos, path, "text after the closing quote")
                else:
                    style = TOML_BASIC if char == '"' else TOML_LITERAL
                    self.add(path, pos, stop, value, style)
            return index + 1
        if char in "[{":
            stop = self.flow_end(pos, toml=True)
            if stop < 0:
                self.problem(pos, path, "an array or table that is never closed")
                return len(self.lines)
            after = self.index_of(stop - 1)
            if wanted and path is not None:
                if char == "{":
                    self.problem(pos, path, "an inline table, which imgsync does not read")
                elif not self.rest_is_blank(stop, self.lines[after][1], toml=True):
                    self.problem(pos, path, "text after the closing bracket")
                else:
                    items = self.items(pos + 1, stop - 1, toml=True)
                    if isinstance(items, str):
                        self.problem(pos, path, items)
                    else:
                        for start, item_end, value, style in items:
                            self.add(path, start, item_end, value, style)
            return after + 1
        return index + 1  # a number, a date, true or false: no image


def _key(written: str) -> str:
    return written[1:-1] if written[:1] in "\"'" else written


def _split_dotted(written: str) -> list[str]:
    """`a."b.c".d` -> ['a', '"b.c"', 'd']: dots outside quotes."""
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for char in written:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == ".":
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _is_character(digits: str) -> bool:
    """Hex digits naming a character that can stand in a file name (no surrogate)."""
    if not all(c in "0123456789abcdefABCDEF" for c in digits):
        return False
    number = int(digits, 16)
    return number <= 0x10FFFF and not 0xD800 <= number <= 0xDFFF
