"""Per-file stamps: what imgsync already knows about a file, valid while the file is unchanged.

A stamp is a file's size, mtime, inode and ctime as stat() told them, plus what
was learned from its bytes: for a Markdown file, that it held no local image
and nothing imgsync had to report (a *clean* file, which a sync or a check can
skip without reading); for an image, its hashes and type (no need to hash it
again). They live in `.imgsync/stamps.json` beside the cache, never committed,
so the committed cache never churns.

A stamp is a speed-up, never a source of truth: a missing, old or damaged state
file is simply started afresh. A file changed within the same clock tick as its
stamp, keeping its size, would fool stat(); so a stamp taken less than
`RACY_SECONDS` after the file's mtime is trusted only once the file's bytes are
read and found to hash the same (git's "racily clean" rule).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..files import atomic_write, private_folder

STATE_NAME = "stamps.json"
VERSION = 1
RACY_SECONDS = 2.0  # coarse file-system clocks (FAT: 2 s) can't tell edits closer than this


@dataclass(frozen=True)
class Stamp:
    """What stat() says of one version of a file, and when we looked."""

    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int
    seen_ns: int  # wall time at which the file was seen like this

    @classmethod
    def of(cls, st: os.stat_result, seen_ns: int | None = None) -> Stamp:
        seen = time.time_ns() if seen_ns is None else seen_ns
        return cls(st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns, seen)

    def matches(self, st: os.stat_result) -> bool:
        return (self.size, self.mtime_ns, self.inode, self.ctime_ns) == (
            st.st_size,
            st.st_mtime_ns,
            st.st_ino,
            st.st_ctime_ns,
        )

    @property
    def racy(self) -> bool:
        """Whether an edit right after the stamp could have left stat() unchanged."""
        return self.seen_ns - max(self.mtime_ns, self.ctime_ns) < RACY_SECONDS * 1e9


@dataclass(frozen=True)
class ImageFacts:
    """What an image's bytes told: its hashes and real type."""

    size: int
    md5: str
    sha256: str
    extension: str
    mime: str


class Stamps:
    """The stamps of one project, loaded once per run and saved at its end. Thread-safe."""

    def __init__(self, path: Path | None, data: dict[str, Any] | None = None) -> None:
        self.path = path  # None: remember nothing (e.g. the state folder can't be written)
        data = data or {}
        self._markdown: dict[str, list[Any]] = data.get("markdown", {})
        self._images: dict[str, list[Any]] = data.get("images", {})
        self._changed = False
        self._lock = threading.Lock()

    @classmethod
    def load(cls, state_dir: Path) -> Stamps:
        """The stamps in `state_dir`; empty if there are none or they can't be trusted."""
        path = state_dir / STATE_NAME
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return cls(path)
        if not (
            isinstance(data, dict)
            and data.get("version") == VERSION
            and data.get("imgsync") == __version__  # a new scanner may read files differently
            and isinstance(data.get("markdown"), dict)
            and isinstance(data.get("images"), dict)
        ):
            return cls(path)
        return cls(path, data)

    # Markdown files

    def is_clean(self, path: Path, st: os.stat_result, seen_ns: int | None = None) -> bool:
        """Whether `path`, as `st` describes it, is known to hold no local image and no problem.

        `seen_ns`: the wall time taken just before that stat() (default: now).
        """
        with self._lock:
            entry = self._markdown.get(_key(path))
        # Compared as the lists they are stored as: this runs for every file of a tree.
        if not entry or entry[:4] != [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]:
            return False
        stamp = _stamp(entry)
        if stamp is None:
            return False
        if not stamp.racy:
            return True
        try:
            data = path.read_bytes()
        except OSError:
            return False
        if _md5(data) != entry[5]:
            return False
        # The bytes are those: later runs may trust stat() (if st was taken long enough ago).
        self.note_clean(path, st, data, seen_ns)
        return True

    def note_clean(
        self, path: Path, st: os.stat_result, data: bytes, seen_ns: int | None = None
    ) -> None:
        """`path`, as `st` describes it, with these bytes, holds no local image or problem.

        `seen_ns` is the wall time taken just before that stat() (default: now); a stamp
        is only as trustworthy as the moment the file was looked at, not noted.
        """
        stamp = Stamp.of(st, seen_ns)
        entry = [*_fields(stamp), _md5(data)]
        with self._lock:
            self._markdown[_key(path)] = entry
            self._changed = True

    def forget(self, path: Path) -> None:
        with self._lock:
            if self._markdown.pop(_key(path), None) is not None:
                self._changed = True

    # Images

    def image(self, path: Path, st: os.stat_result) -> ImageFacts | None:
        """The facts of an image unchanged since they were noted (and not racily so)."""
        with self._lock:
            entry = self._images.get(_key(path))
        stamp = _stamp(entry)
        if stamp is None or not stamp.matches(st) or stamp.racy:
            return None
        assert entry is not None
        try:
            return ImageFacts(stamp.size, *entry[5:9])
        except TypeError:
            return None

    def note_image(
        self, path: Path, st: os.stat_result, facts: ImageFacts, seen_ns: int | None = None
    ) -> None:
        """The facts of `path`'s bytes, as `st` (taken just after `seen_ns`) describes it."""
        stamp = Stamp.of(st, seen_ns)
        entry = [*_fields(stamp), facts.md5, facts.sha256, facts.extension, facts.mime]
        with self._lock:
            self._images[_key(path)] = entry
            self._changed = True

    def save(self) -> None:
        """Write the stamps if anything changed; a failure only costs speed next time."""
        if self.path is None or not self._changed:
            return
        with self._lock:
            document = {
                "version": VERSION,
                "imgsync": __version__,
                "markdown": dict(self._markdown),
                "images": dict(self._images),
            }
            self._changed = False
        with contextlib.suppress(OSError):
            private_folder(self.path.parent)
            atomic_write(self.path, json.dumps(document, separators=(",", ":")).encode())


def _md5(data: bytes) -> str:
    import hashlib  # loads OpenSSL: only when a file's bytes must be checked

    return hashlib.md5(data).hexdigest()


def _key(path: Path) -> str:
    return os.path.abspath(path)


def _fields(stamp: Stamp) -> list[int]:
    return [stamp.size, stamp.mtime_ns, stamp.inode, stamp.ctime_ns, stamp.seen_ns]


def _stamp(entry: list[Any] | None) -> Stamp | None:
    if not isinstance(entry, list) or len(entry) < 6:
        return None
    try:
        return Stamp(*(int(value) for value in entry[:5]))
    except (TypeError, ValueError):
        return None
