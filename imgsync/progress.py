"""Telling the user what is happening: a bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from .terminal import safe_line


class Progress:
    """Upload progress: a redrawn bar when `bar` (the CLI's choice: a terminal, not CI),
    else one line per event; nothing but notes when `quiet`."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        quiet: bool = False,
        verbose: bool = False,
        bar: bool = False,
    ) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.verbose = verbose
        self.bar = bar and not quiet
        self.action = "uploading"  # what the bar says is going on ("listing", "deleting")
        self._lock = threading.Lock()
        self._total = 0
        self._done = 0
        self._drawn = False

    @property
    def prints_each_event(self) -> bool:
        """Whether each `advance()` line is printed as it comes (no bar, not quiet): a list
        of the same events printed afterwards would repeat them."""
        return not self.bar and not self.quiet

    @property
    def prints_details(self) -> bool:
        """Whether `detail()` lines are printed (--verbose, not quiet)."""
        return self.verbose and not self.quiet

    def start(self, total: int) -> None:
        with self._lock:
            self._total, self._done = total, 0
            self._draw("")

    def grow(self, more: int) -> None:
        """`more` uploads to wait for, found while the first ones went up."""
        with self._lock:
            self._total += more
            if not self._drawn:
                self._draw("")

    def advance(self, line: str) -> None:
        """One upload finished; `line` says which and where it went (empty: nothing to say)."""
        with self._lock:
            self._done += 1
            if self.bar:
                self._draw(line)
            elif line and not self.quiet:
                print(safe_line(line), file=self.stream, flush=True)

    def note(self, line: str) -> None:
        """A message that must be seen (a wait, a warning), bar or not."""
        with self._lock:
            self._clear()
            if not self.quiet:
                print(safe_line(line), file=self.stream, flush=True)
            self._draw("")

    def detail(self, line: str) -> None:
        """A message only for --verbose."""
        if self.verbose:
            self.note(line)

    def finish(self) -> None:
        with self._lock:
            self._clear()

    def _draw(self, label: str) -> None:
        if not self.bar or self._total == 0:
            return
        import shutil  # loads bz2 and lzma: only for a run that draws a bar

        width = max(10, min(30, shutil.get_terminal_size().columns - 50))
        filled = width * self._done // self._total
        text = f"{self.action} [{'#' * filled}{'.' * (width - filled)}] {self._done}/{self._total}"
        if label:  # a file name or host URL: never raw on a terminal
            label = safe_line(label)
            text += " " + label[: max(0, shutil.get_terminal_size().columns - len(text) - 2)]
        self.stream.write("\r\x1b[K" + text)
        self.stream.flush()
        self._drawn = True

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False
