"""The parts of watch mode that need no watching: which files count, when a burst is over,
which writes were imgsync's own, and which images a post still waits for."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from .cache import lock_path
from .config import Settings
from .discover import is_selected
from .errors import MarkdownError
from .images import reference_path
from .markdown.text_file import decode_markdown
from .remote import rooted_prefixes
from .scan import scan_markdown
from .vault import name_key

_TEMP_ENDINGS = ("~", ".tmp", ".swp", ".swx", ".part", ".crdownload")


class Scope:
    """The posts watch mode acts on: what a sync of the same paths would pick (include and
    exclude of the configuration, no hidden folders), less hidden and temporary files
    (editors' and imgsync's own atomic-write files) and imgsync's cache and its lock."""

    def __init__(self, paths: Sequence[Path], settings: Settings) -> None:
        self._settings = settings
        self.folders = [p for p in paths if p.is_dir()]
        self.files = {p for p in paths if not p.is_dir()}
        cache = settings.cache_path.resolve()
        self._own_files = {cache, lock_path(cache)}

    def observed(self) -> dict[Path, bool]:
        """The folders to observe, each with whether to observe below it."""
        watched = {file.parent: False for file in self.files}
        watched.update((folder, True) for folder in self.folders)
        return watched

    def is_post(self, path: Path) -> bool:
        if path in self.files:
            return True
        if path.name.startswith((".", "#")) or path.name.endswith(_TEMP_ENDINGS):
            return False
        s = self._settings
        return any(
            is_selected(path, folder, root=s.root, include=s.include, exclude=s.exclude)
            for folder in self.folders
        ) and (path.resolve() not in self._own_files)


class Debouncer:
    """Each key falls due once `quiet` seconds have passed since it was last touched; the
    caller says what time it is, so the clock stays outside (and out of the tests)."""

    def __init__(self, quiet: float) -> None:
        self.quiet = quiet
        self._due: dict[Path, float] = {}

    def touch(self, key: Path, now: float) -> None:
        self._due[key] = now + self.quiet

    def pop_due(self, now: float) -> list[Path]:
        """The keys due at `now`, earliest first; they are forgotten until touched again."""
        ready = sorted((due, key) for key, due in self._due.items() if due <= now)
        for _, key in ready:
            del self._due[key]
        return [key for _, key in ready]

    def wait(self, now: float) -> float | None:
        """Seconds until the next key falls due (0 if one is), or None if none is pending."""
        return max(0.0, min(self._due.values()) - now) if self._due else None


class OwnWrites:
    """What imgsync last wrote to each file: a file holding exactly those bytes needs no
    round, whatever events its writing caused, and whenever they arrive."""

    def __init__(self) -> None:
        self._digests: dict[Path, bytes] = {}

    def remember(self, path: Path, data: bytes) -> None:
        self._digests[path] = hashlib.sha256(data).digest()

    def forget(self, path: Path) -> None:
        self._digests.pop(path, None)

    def is_own(self, path: Path, data: bytes) -> bool:
        return self._digests.get(path) == hashlib.sha256(data).digest()


class Awaited(NamedTuple):
    """What a post still waits for: files at known places, and the bare names of its
    Obsidian embeds (`![[shot.png]]`), which a file of that name anywhere in the vault (the
    project) fills, wherever the note app saves it."""

    files: frozenset[Path] = frozenset()
    names: frozenset[str] = frozenset()  # as vault.py compares them: case ignored

    def wants(self, path: Path) -> bool:
        return path in self.files or (bool(self.names) and name_key(path.name) in self.names)


def awaited_images(post: Path, data: bytes, settings: Settings) -> Awaited:
    """What the local references left in a post (bytes `data`) point at: missing files, or
    ones that failed. When one of them appears or changes, the post is due again."""
    try:
        text = decode_markdown(post, data).text
    except MarkdownError:
        return Awaited()
    files, names = set(), set()
    scanned = scan_markdown(text, settings.front_matter_keys, settings.dialect)
    scanned.hosted_prefixes = rooted_prefixes(settings.hosts)
    for ref in scanned.local_refs:
        target = ref.target
        if target is None:
            continue
        if ref.kind == "embed" and "/" not in target.path:
            names.add(name_key(target.path))
            continue
        if ref.kind == "embed":  # a path with a `/` names a file from the vault's root first
            files.add(Path(os.path.normpath(settings.root / target.path.lstrip("/"))))
        path = reference_path(target, post, settings.site_root, scanned.typora_root)
        files.add(Path(os.path.normpath(path)))
    return Awaited(frozenset(files), frozenset(names))
