"""The real files a reference that names none probably meant: another case, another Unicode
form, a close name, the same name in another folder, the name without curly quotes.

Computed only for a reference that failed, so a run that finds every file pays nothing.
Each folder is listed at most once per `Nearby` (one per run), and nothing outside the
project is ever listed: a pull request's Markdown must not learn what lies around it.
"""

from __future__ import annotations

import contextlib
import os
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

# Quotes that smart-quote editors type in place of `"` and `'`: in `src=”x.png”` the browser,
# and imgsync, read them as part of the name.
# Written as escapes (ruff rightly flags them in source): the double and single curly quotes,
# low-9 and reversed-9 quotes, guillemets, and the full-width " and '.
CURLY_QUOTES = (
    "\u201c\u201d\u201e\u201f\u2018\u2019\u201a\u201b\u00ab\u00bb\u2039\u203a\uff02\uff07"
)
_STRAIGHT_QUOTES = "\"'"
_MOST = 3  # suggestions in one message
_INDEX_FOLDERS = 2000  # folders walked, at most, to find a name elsewhere in the project
_SKIPPED_FOLDERS = frozenset({".git", ".hg", ".svn", "node_modules", ".imgsync", "__pycache__"})


class Suggestion(NamedTuple):
    """A file that exists, and how its name differs from the one written."""

    path: Path
    why: str  # "another case", "a close name", ...


def name_key(name: str) -> str:
    """A name as a person reads it: one Unicode form, case ignored."""
    return unicodedata.normalize("NFC", name).casefold()


def shown(path: Path) -> str:
    """A path as the user would type it: normalised (no `a/../b`), relative to the current
    folder when inside it, else absolute."""
    plain = Path(os.path.normpath(os.path.abspath(path)))
    try:
        return plain.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(plain)


def without_quotes(written: str) -> str | None:
    """`written` without the quotes around it (or left inside it) that an editor made curly;
    None when it holds none."""
    if not any(quote in written for quote in CURLY_QUOTES):
        return None
    return written.strip(CURLY_QUOTES + _STRAIGHT_QUOTES + " ")


class Nearby:
    """The project's folders as listed for suggestions: each at most once, none outside it."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))
        self._listings: dict[Path, list[str]] = {}
        self._by_name: dict[str, list[Path]] | None = None
        self.folders_listed = 0  # for the tests: the promise of one listing a folder

    def names(self, folder: Path) -> list[str]:
        """The entries of `folder` (a real path inside the project), sorted; [] if unreadable."""
        if folder not in self._listings:
            entries: list[str] = []
            if folder.is_relative_to(self.root):
                self.folders_listed += 1
                with contextlib.suppress(OSError):  # unreadable: nothing to suggest there
                    entries = sorted(os.listdir(folder))
            self._listings[folder] = entries
        return self._listings[folder]

    def suggest(self, wanted: Path) -> list[Suggestion]:
        """Existing files of the project whose path is close to `wanted` (absolute; missing).

        First the same path with some names in another case or Unicode form, or a close
        name in the same folder; else the same file name in another folder.
        """
        real = Path(os.path.realpath(wanted))
        if not real.is_relative_to(self.root) or real == self.root:
            return []
        parts = real.relative_to(self.root).parts
        found = list(_unique(self._walk(self.root, parts, ())))
        if not found:
            found = [
                Suggestion(path, "the same name in another folder")
                for path in self._elsewhere(parts[-1])
            ]
        return found[:_MOST]

    def _walk(
        self, folder: Path, parts: tuple[str, ...], whys: tuple[str, ...]
    ) -> Iterator[Suggestion]:
        """Files reached from `folder` by `parts`, each name taken as written where it exists,
        else as the names of the folder that read the same or close to it."""
        if not parts:
            if whys and folder.is_file():
                yield Suggestion(folder, " and ".join(dict.fromkeys(whys)))
            return
        name, rest = parts[0], parts[1:]
        exact = os.path.lexists(folder / name)
        choices = [(name, None)] if exact else self._alternatives(folder, name)
        for other, why in choices:
            step = Path(os.path.realpath(folder / other))
            if step.is_relative_to(self.root):  # a link out of the project is no suggestion
                yield from self._walk(step, rest, whys if why is None else (*whys, why))

    def _alternatives(self, folder: Path, name: str) -> list[tuple[str, str | None]]:
        names = self.names(folder)
        key = name_key(name)
        same: list[tuple[str, str | None]] = [
            (other, _how_it_differs(name, other)) for other in names if name_key(other) == key
        ]
        if same:
            return same
        import difflib  # the standard library's; only a reference that failed gets here

        by_key = {name_key(other): other for other in names}
        close = difflib.get_close_matches(key, list(by_key), n=_MOST, cutoff=0.75)
        return [(by_key[match], "a close name") for match in close]

    def _elsewhere(self, name: str) -> list[Path]:
        """Files of the project named `name` (case and Unicode form aside), found by a walk of
        at most _INDEX_FOLDERS folders, made once and only when first needed."""
        if self._by_name is None:
            self._by_name = {}
            for walked, (top, folders, files) in enumerate(os.walk(self.root)):
                if walked >= _INDEX_FOLDERS:
                    break
                folders[:] = sorted(f for f in folders if f not in _SKIPPED_FOLDERS)
                for file in files:
                    self._by_name.setdefault(name_key(file), []).append(Path(top, file))
        found = self._by_name.get(name_key(name), [])
        # A file of the walk may be a link: only those that stay inside are offered.
        return [path for path in found if Path(os.path.realpath(path)).is_relative_to(self.root)][
            :_MOST
        ]


def _how_it_differs(written: str, on_disk: str) -> str:
    if unicodedata.normalize("NFC", written) == unicodedata.normalize("NFC", on_disk):
        return "the same letters in another Unicode form"
    return "letters in another case"


def _unique(suggestions: Iterator[Suggestion]) -> Iterator[Suggestion]:
    seen: set[Path] = set()
    for suggestion in suggestions:
        if suggestion.path not in seen:
            seen.add(suggestion.path)
            yield suggestion
