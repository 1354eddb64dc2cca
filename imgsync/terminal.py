"""Text made safe to print: controls escaped, and no line a CI runner takes as a command."""

from __future__ import annotations

import re
import unicodedata

# Cc: C0, DEL and C1 (ESC starts ANSI codes, NEL and CSI are C1); Cf: bidi controls and
# zero-width characters (they reorder or hide text, and .NET's culture-aware string search,
# which CI runners use, ignores them); Cs: lone surrogates from undecodable file names, which
# would make printing fail; Zl/Zp: U+2028/U+2029 end a line for some readers.
_UNSAFE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Characters a runner's search may skip (marks, private use, unassigned), so that `:\u034f:`
# would still be `::` to it; what is left after escaping the categories above.
_SKIPPED = frozenset({"Mn", "Me", "Mc", "Co", "Cn"})
# GitHub's runner takes a line as a command when it starts with `::` after leading spaces,
# or holds `##[` anywhere (its old syntax); Azure's agent when it holds `##vso[` anywhere.
_HASH_COMMAND = re.compile(r"#(?=#(?:vso)?\[)", re.IGNORECASE)


def _is_unsafe(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def escape_controls(text: str, *, keep: str = "") -> str:
    """`text` with each unsafe character (but those in `keep`) written as a visible escape."""
    if text.isprintable() or not any(_is_unsafe(c) and c not in keep for c in text):
        return text
    return "".join(_escape(c) if _is_unsafe(c) and c not in keep else c for c in text)


def _command_marks(text: str) -> list[int]:
    """Where a CI runner would see a command begin in `text` (one line, controls escaped):
    the index of the `#` of each `##[`/`##vso[`, and of the first `:` of a leading `::`."""
    marks = []
    if "#" in text:
        if text.isascii():  # nothing to skip: the line is the runner's view
            marks = [m.start() for m in _HASH_COMMAND.finditer(text)]
        else:  # the runner's view: without the characters its search may skip
            kept = [i for i, c in enumerate(text) if unicodedata.category(c) not in _SKIPPED]
            view = "".join(text[i] for i in kept)
            marks = [kept[m.start()] for m in _HASH_COMMAND.finditer(view)]
    colons = []  # the first two characters that count, if they are colons
    for i, char in enumerate(text):
        if char.isspace() or (not char.isascii() and unicodedata.category(char) in _SKIPPED):
            continue
        if char != ":":
            break
        colons.append(i)
        if len(colons) == 2:
            marks.append(colons[0])
            break
    return marks


def safe_line(text: str) -> str:
    """One printed line: controls escaped, and no CI workflow command can start in it.

    The escapes are visible (`\\x3a`, `\\x23`), so the line still reads the same; applying
    it twice changes nothing more."""
    text = escape_controls(text)
    marks = set(_command_marks(text))
    return "".join(_escape(c) if i in marks else c for i, c in enumerate(text)) if marks else text


def safe_document(text: str) -> str:
    """A JSON document as json.dumps(ensure_ascii=False) wrote it, with what is unsafe to print
    (in its strings: DEL, C1, bidi, U+2028, lone surrogates; the `#` that would start a CI
    command) as JSON escapes, so it decodes to the same values. Its own newlines stay."""
    if "#" not in text and text.replace("\n", " ").isprintable():  # the usual case, at C speed
        return text
    lines = []
    for line in text.split("\n"):
        if not line.isprintable():
            line = "".join(_json_escape(c) if _is_unsafe(c) else c for c in line)
        marks = set(_command_marks(line))
        lines.append("".join(_json_escape(c) if i in marks else c for i, c in enumerate(line)))
    return "\n".join(lines)


def _json_escape(char: str) -> str:
    encoded = char.encode("utf-16-be", "surrogatepass")
    units = [int.from_bytes(encoded[i : i + 2], "big") for i in range(0, len(encoded), 2)]
    return "".join(f"\\u{unit:04x}" for unit in units)
