"""Where an Obsidian embed (`![[name.png]]`) points: the file Obsidian itself would show.

Obsidian resolves a link path with `MetadataCache.getFirstLinkpathDest(linkpath, sourcePath)`,
"the best match for a linkpath". The vault is the project. A path with a `/` names a file from
the vault's root (then, as a fallback, from the note's folder). A bare name is found anywhere
in the vault, its case ignored; when several files share it, the one at the vault's root (the
exact vault path) wins, then the one in the note's own folder (an ancestor folder counts for
nothing), else the one with the shortest vault path in characters (not in folders: `a/b/x.png`
before `zzzz/x.png`), then the first in alphabetical order, so that the choice never depends on
the listing order. That order is Obsidian's as observed through getFirstLinkpathDest on
Obsidian 1.13.7 (markdown-vault-mcp#1380, which tried each rule against the others).

The name index is built once per run, and only when a bare name is first looked up: a vault
without embeds is never walked. Nothing outside the project is listed (folder links are not
followed), nor hidden folders (`.git`, `.obsidian`, `.trash`, `.imgsync`: Obsidian does not
index them either), nor `node_modules`. What is found still goes through
`images.resolve_target`, which confines it to the project.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path, PurePosixPath

_SKIPPED_FOLDERS = frozenset({"node_modules"})


def name_key(name: str) -> str:
    """A name as Obsidian's lookup compares it: case ignored (and one Unicode form)."""
    return unicodedata.normalize("NFC", name).casefold()


class Vault:
    """The project seen as an Obsidian vault: its files by name, listed at most once."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))
        self._by_name: dict[str, list[str]] | None = None
        self.walks = 0  # for the tests: the index is built at most once, and only when needed

    def locate(self, linkpath: str, note: Path) -> Path | None:
        """The file `linkpath` (as written in the embed, `/` separators) names for the note at
        `note`, or None when the vault has none."""
        path = linkpath.lstrip("/")
        if not path or "\0" in path:
            return None
        if "/" in linkpath:
            for base in (self.root, Path(os.path.realpath(note.parent))):
                candidate = Path(os.path.normpath(base / path))
                # `../..` may lead out: not even looked at there (resolve_target refuses it)
                if candidate.is_relative_to(self.root) and candidate.is_file():
                    return candidate
            return None
        return self._by_bare_name(path, note)

    def _by_bare_name(self, name: str, note: Path) -> Path | None:
        found = self._index().get(name_key(name), [])
        if not found:
            return None
        at_root = [path for path in found if "/" not in path]
        folder = self._vault_folder(note)
        beside = [path for path in found if str(PurePosixPath(path).parent) == folder]
        best = min(at_root or beside or found, key=lambda path: (len(path), path))
        return self.root / best

    def _vault_folder(self, note: Path) -> str:
        """The note's folder as a vault path ("." for the vault's root)."""
        parent = Path(os.path.realpath(note.parent))
        try:
            return parent.relative_to(self.root).as_posix() or "."
        except ValueError:
            return ""  # a note outside the vault has no folder in it

    def _index(self) -> dict[str, list[str]]:
        if self._by_name is None:
            self.walks += 1
            index: dict[str, list[str]] = {}
            for folder, subfolders, files in os.walk(self.root):  # links to folders not followed
                subfolders[:] = sorted(
                    name
                    for name in subfolders
                    if not name.startswith(".") and name not in _SKIPPED_FOLDERS
                )
                where = Path(folder).relative_to(self.root).as_posix()
                for name in files:
                    path = name if where == "." else f"{where}/{name}"
                    index.setdefault(name_key(name), []).append(path)
            self._by_name = index
        return self._by_name
