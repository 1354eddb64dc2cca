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
from pathlib import Path
from typing import Any, NamedTuple

from .. import __version__
from ..errors import CacheError, NotAFolder, OutsideProject
from ..files import atomic_write, private_folder, read_inside

STATE_NAME = "stamps.json"
VERSION = 2  # 2: a Markdown stamp is one string (1: a list), a third of the memory
RACY_SECONDS = 2.0  # coarse file-system clocks (FAT: 2 s) can't tell edits closer than this


class Stamp(NamedTuple):
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

    @classmethod
    def from_json(cls, entry: list[Any]) -> Stamp:
        """The stamp at the head of a stored entry; TypeError or ValueError if damaged."""
        return cls(*map(int, entry[:5]))

    def to_json(self) -> list[Any]:
        return [self.size, self.mtime_ns, self.inode, self.ctime_ns, self.seen_ns]

    def matches(self, st: os.stat_result) -> bool:
        """Whether `st` describes the version of the file this stamp was taken of."""
        return (
            self.size == st.st_size
            and self.mtime_ns == st.st_mtime_ns
            and self.inode == st.st_ino
            and self.ctime_ns == st.st_ctime_ns
        )

    @property
    def racy(self) -> bool:
        """Whether an edit right after the stamp could have left stat() unchanged."""
        return self.seen_ns - max(self.mtime_ns, self.ctime_ns) < RACY_SECONDS * 1e9


class ImageFacts(NamedTuple):
    """What an image's bytes told: its hashes and real type."""

    size: int
    md5: str
    sha256: str
    extension: str
    mime: str


class MarkdownStamp(NamedTuple):
    """A clean Markdown file (no local image, no problem): its stamp and the MD5 of its bytes.

    Stored as the string `"size mtime_ns inode ctime_ns seen_ns md5"`: a large tree has one
    a file, all read at once, and a string is a third of the memory of a list of six and
    read three times as fast.
    """

    stamp: Stamp
    md5: str

    @classmethod
    def from_json(cls, entry: object) -> MarkdownStamp | None:
        """The stored entry read back; None if it is damaged."""
        if not isinstance(entry, str):
            return None
        fields = entry.split(" ")
        if len(fields) != 6:
            return None
        try:
            return cls(Stamp.from_json(fields), fields[5])
        except ValueError:
            return None

    def to_json(self) -> str:
        return " ".join([*map(str, self.stamp.to_json()), self.md5])


class ImageStamp(NamedTuple):
    """An image's stamp and the facts of its bytes.

    Stored as the list `[size, mtime_ns, inode, ctime_ns, seen_ns, md5, sha256, extension,
    mime]`; the size is the stamp's.
    """

    stamp: Stamp
    facts: ImageFacts

    @classmethod
    def from_json(cls, entry: object) -> ImageStamp | None:
        """The stored entry read back; None if it is damaged."""
        if not isinstance(entry, list) or len(entry) < 9:
            return None
        try:
            stamp = Stamp.from_json(entry)
        except (TypeError, ValueError):
            return None
        return cls(stamp, ImageFacts(stamp.size, *entry[5:9]))

    def to_json(self) -> list[Any]:
        facts = self.facts
        return [*self.stamp.to_json(), facts.md5, facts.sha256, facts.extension, facts.mime]


class Stamps:
    """The stamps of one project, loaded once per run and saved at its end. Thread-safe."""

    def __init__(
        self,
        path: Path | None,
        data: dict[str, Any] | None = None,
        project: Path | None = None,
        reading: str = "",
    ) -> None:
        self.path = path  # None: remember nothing (e.g. the state folder can't be written)
        self.reading = reading  # how Markdown was read (the front matter keys): see load()
        # Where the stamps and the files they speak of must stay (default: the state
        # folder's parent): no read or write through a link out of it.
        self.project = project or (path.parent.parent if path is not None else None)
        data = data or {}
        # Entries stay as stored (JSON lists) and are read into records one at a time, when
        # asked for: a run that looks at a few files doesn't pay for the whole tree's.
        self._markdown: dict[str, str] = data.get("markdown", {})
        self._images: dict[str, list[Any]] = data.get("images", {})
        self._changed = False
        self.discarded: str | None = None  # why the stored stamps were thrown away, to tell
        self._lock = threading.Lock()

    @classmethod
    def load(cls, state_dir: Path, *, project: Path | None = None, reading: str = "") -> Stamps:
        """The stamps in `state_dir`; empty if there are none or they can't be trusted.

        `reading` says how Markdown is read (the configured front matter keys): a file found
        clean under other keys may hold an image under these, so its stamp is dropped.

        CacheError if the state folder or the file is a link leading outside `project`
        (default: the folder holding `state_dir`): imgsync neither reads nor writes there.
        """
        path = state_dir / STATE_NAME
        project = state_dir.parent if project is None else project
        try:
            data = json.loads(read_inside(path, project))
        except OutsideProject as error:
            advice = f"remove the link: imgsync makes {state_dir.name}/ itself, never committed"
            raise CacheError(path, f"{error.reason}; {advice}") from None
        except (OSError, ValueError):
            return cls(path, project=project, reading=reading)
        except RecursionError:
            # Only a hostile file is nested this deep (.imgsync/ could come from a pull
            # request); the stamps are a speed-up, so the run says so and starts afresh.
            fresh = cls(path, project=project, reading=reading)
            fresh.discarded = (
                "is nested too deeply to be read; it was discarded and will be rebuilt"
            )
            return fresh
        if not (
            isinstance(data, dict)
            and data.get("version") == VERSION
            and data.get("imgsync") == __version__  # a new scanner may read files differently
            and isinstance(data.get("markdown"), dict)
            and isinstance(data.get("images"), dict)
        ):
            return cls(path, project=project, reading=reading)
        if data.get("reading", "") != reading:
            data["markdown"] = {}
        return cls(path, data, project, reading)

    # Markdown files

    def is_clean(self, path: Path | str, st: os.stat_result, seen_ns: int | None = None) -> bool:
        """Whether `path`, as `st` describes it, is known to hold no local image and no problem.

        `seen_ns`: the wall time taken just before that stat() (default: now).
        """
        with self._lock:
            entry = self._markdown.get(_key(path))
        if _unchanged_long_before(entry, st):
            return True  # the common case of a large tree, without a record made of it
        clean = MarkdownStamp.from_json(entry)
        if clean is None or not clean.stamp.matches(st):
            return False
        if not clean.stamp.racy:
            return True
        path = Path(path)
        try:
            data = path.read_bytes() if self.project is None else read_inside(path, self.project)
        except OSError:
            return False
        if _md5(data) != clean.md5:
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
        entry = MarkdownStamp(Stamp.of(st, seen_ns), _md5(data)).to_json()
        with self._lock:
            self._markdown[_key(path)] = entry
            self._changed = True

    def forget(self, path: Path | str) -> None:
        with self._lock:
            if self._markdown.pop(_key(path), None) is not None:
                self._changed = True

    # Images

    def image(self, path: Path, st: os.stat_result) -> ImageFacts | None:
        """The facts of an image unchanged since they were noted (and not racily so)."""
        with self._lock:
            entry = self._images.get(_key(path))
        known = ImageStamp.from_json(entry)
        if known is None or not known.stamp.matches(st) or known.stamp.racy:
            return None
        return known.facts

    def note_image(
        self, path: Path, st: os.stat_result, facts: ImageFacts, seen_ns: int | None = None
    ) -> None:
        """The facts of `path`'s bytes, as `st` (taken just after `seen_ns`) describes it."""
        entry = ImageStamp(Stamp.of(st, seen_ns), facts).to_json()
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
                "reading": self.reading,
                "markdown": dict(self._markdown),
                "images": dict(self._images),
            }
            self._changed = False
        # A link leading out of the project too, or a file where the folder should be.
        with contextlib.suppress(OSError, NotAFolder):
            private_folder(self.path.parent, project=self.project)
            data = json.dumps(document, separators=(",", ":")).encode()
            atomic_write(self.path, data, project=self.project)


def _md5(data: bytes) -> str:
    import hashlib  # loads OpenSSL: only when a file's bytes must be checked

    return hashlib.md5(data).hexdigest()


def _unchanged_long_before(entry: object, st: os.stat_result) -> bool:
    """Whether a stored Markdown entry (`MarkdownStamp.to_json`) matches `st` and was taken
    long enough after the file's last change (not racy): MarkdownStamp's test, read off the
    string. Anything else it says no to, for MarkdownStamp to read, damaged entries too."""
    if not isinstance(entry, str):
        return False
    described = f"{st.st_size} {st.st_mtime_ns} {st.st_ino} {st.st_ctime_ns} "
    if not entry.startswith(described):
        return False
    seen, space, md5 = entry[len(described) :].partition(" ")
    if not (space and seen.isascii() and seen.isdigit() and md5 and " " not in md5):
        return False
    return int(seen) - max(st.st_mtime_ns, st.st_ctime_ns) >= RACY_SECONDS * 1e9


def _key(path: Path | str) -> str:
    """The absolute, normal path stamps are kept by (os.path.abspath), quicker for a path
    that is already one (POSIX: no `.` or `..`, no doubled or trailing `/`)."""
    text = os.fspath(path)
    normal = text.startswith("/") and not text.endswith("/")
    if os.sep == "/" and normal and "/." not in text and "//" not in text:
        return text
    return os.path.abspath(text)
