"""The original text split the way markdown-it splits it, to map its offsets back onto the source.

markdown-it hands each block's inline content normalised (tabs, trimmed margins,
block-quote markers and table pipes taken out); the scanner notes offsets in that
content, and `SourceLines` places them in the text as written.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import operator
import re
from collections.abc import Callable

from markdown_it.common.utils import MD_TRIM_CHARS

_NEWLINE = re.compile(r"\r\n?|\n")


class SourceLines:
    """The original text split the way markdown-it splits it, for mapping offsets back."""

    def __init__(self, text: str) -> None:
        self.text = text
        if "\r" in text:
            self.starts: list[int] = [0]
            self.ends: list[int] = []
            for match in _NEWLINE.finditer(text):
                self.ends.append(match.start())
                self.starts.append(match.end())
            self.ends.append(len(text))
        else:  # every break one "\n": the same lists, counted in C (a third of the time)
            lengths = list(map(len, text.split("\n")))
            self.starts = list(itertools.accumulate((n + 1 for n in lengths[:-1]), initial=0))
            self.ends = list(map(operator.add, self.starts, lengths))
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
