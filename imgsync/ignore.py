"""Known problems, accepted: the references a project chose to leave alone.

A blog with one reference to an image that is really gone could never pass `check`, nor
have a sync exit 0. The `ignore` key lists such references (globs), and an
`<!-- imgsync-ignore -->` comment marks the next one in place. An ignored reference is
neither uploaded nor rewritten nor a failure, but it is counted and listed, never dropped
in silence; an entry that matches nothing is told, since stale ignores hide new breakage.

An entry is `IMAGE` or `FILE:IMAGE`. IMAGE is matched against the reference's path as
written (decoded, without `./`, query or fragment) and against the project path it points
to; FILE against the Markdown file's project path. All are globs as `include` takes them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .discover import compile_glob

# What the inline marker says: `<!-- imgsync-ignore -->` (scan.py finds it).
MARKER = "imgsync-ignore"


def split_entry(entry: str) -> tuple[str, str] | None:
    """(FILE glob or "", IMAGE glob) of an `ignore` entry; None when it can't be one."""
    file, colon, image = entry.partition(":")
    if not colon:
        return "", entry
    if not file.strip() or not image.strip():
        return None
    return file, image


@dataclass
class IgnoreList:
    """The `ignore` entries of a project, and which of them matched in this run."""

    entries: tuple[str, ...]
    used: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._rules = []
        for entry in self.entries:
            parts = split_entry(entry)
            assert parts is not None  # config_keys.py refused it
            file, image = parts
            image = written_path(image)  # `./img/a.png` names what `img/a.png` does
            self._rules.append((entry, compile_glob(file) if file else None, compile_glob(image)))

    def match(self, markdown: str, written: str, points_to: str | None) -> str | None:
        """The first entry that ignores a reference, or None.

        `markdown` is the file's project path, `written` the reference's path as written,
        `points_to` the project path it names (None when outside the project).
        """
        for entry, file, image in self._rules:
            if file is not None and not file.fullmatch(markdown):
                continue
            if image.fullmatch(written) or (points_to is not None and image.fullmatch(points_to)):
                self.used.add(entry)
                return entry
        return None

    def stale(self) -> list[str]:
        """The entries that matched no reference in this run, in the order written."""
        return [entry for entry in self.entries if entry not in self.used]


def written_path(path: str) -> str:
    """A reference's path as a glob sees it: `./img/a.png` is `img/a.png`."""
    while path.startswith("./"):
        path = path[2:]
    return path


def project_path(candidate: Path, root: Path) -> str | None:
    """`candidate` relative to the project, `/`-separated, `..` folded; None when outside."""
    folded = os.path.normpath(candidate)
    try:
        return Path(folded).relative_to(root).as_posix()
    except ValueError:
        return None
