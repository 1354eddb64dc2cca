"""The upload cache: which image bytes are already on which host, kept in a committed JSON file.

This module keeps it right under concurrency (locks, merging, group commit);
cache_file.py knows the file's format.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import CacheError, OutsideProject
from .files import atomic_write, confined, private_folder, state_dir
from .hosted_url import base_url_of, http_allowed, quoted, url_problem
from .state.cache_file import (
    LEGACY_NAME,
    MD5_RE,
    VERSION,
    CacheEntry,
    read_document,
    read_legacy,
    utc_now,
)
from .state.cache_writer import RenderedEntries, dump_document
from .state.lock import FileLock

__all__ = ["LEGACY_NAME", "VERSION", "CacheEntry", "UploadCache", "lock_path", "utc_now"]

_LOCK_TIMEOUT = 30.0  # the lock is held for one read and one write: waiting longer means a hang


class UploadCache:
    """The cache file `path`: host identity -> MD5 of the image bytes -> CacheEntry.

    Every `record()` rewrites the file atomically under a lock (`.imgsync/<name>.lock` beside
    it, a folder that keeps itself out of git), merging what other
    processes wrote meanwhile, so watch mode and a pre-commit run never lose each
    other's uploads. Safe to share between threads.

    The file, its legacy sibling and `.imgsync/` are read and written only inside
    `project` (default: the cache's folder), symlinks resolved: a committed link that
    leads elsewhere is a CacheError, never followed.
    """

    def __init__(
        self,
        path: Path,
        uploads: dict[str, dict[str, CacheEntry]],
        legacy: dict[str, CacheEntry],
        seen: tuple[int, int, int] | None = None,
        project: Path | None = None,
        *,
        allow_http: bool = False,
    ) -> None:
        self.path = path
        self.project = path.parent if project is None else project
        self._allow_http = allow_http  # http:// URLs allowed under any host (else loopback's)
        self._uploads = uploads
        self._legacy = legacy
        self._mutex = threading.Lock()
        self._file_lock = FileLock(lock_path(path), timeout=_LOCK_TIMEOUT, project=self.project)
        self._seen = seen  # the file as last read or written: reload() skips it
        self._document: dict[str, Any] | None = None  # the document as this object last wrote it
        self._queued: list[tuple[str, str, CacheEntry]] = []  # recorded, not written yet
        self._rendered = RenderedEntries()
        self._last_queued = 0  # tickets: the count of entries ever queued...
        self._last_written = 0  # ...and of those written

    @classmethod
    def open(
        cls, path: Path, *, project: Path | None = None, allow_http: bool = False
    ) -> UploadCache:
        """Read the cache (absent = empty) and a legacy `.lsky_upload_cache.json` beside it.

        CacheError if either file is corrupt, leads outside `project`, or holds a URL that
        can't be used (http:// only under a host on loopback, or anywhere with
        `allow_http`): nothing is ever silently emptied, and nothing a pull request wrote
        is silently trusted.
        """
        project = path.parent if project is None else project
        seen = _identity(path)  # before reading: a write in between then shows in reload()
        _, uploads = read_document(_inside(path, project), allow_http=allow_http)
        legacy_path = path.with_name(LEGACY_NAME)
        legacy = (
            {}
            if legacy_path == path
            else read_legacy(_inside(legacy_path, project), allow_http=allow_http)
        )
        # Its lock too, now: refused after an upload, the upload would go unrecorded.
        _inside(lock_path(path), project, "remove the link: imgsync makes its own lock files")
        return cls(path, uploads, legacy, seen, project, allow_http=allow_http)

    def lookup(self, host_identity: str, md5: str, sha256: str) -> CacheEntry | None:
        """The upload of these bytes to this host, or None.

        An entry whose SHA-256 differs is an MD5 collision: a miss. For Lsky hosts an
        entry of the legacy cache with this SHA-256 also counts. Such a hit is not in
        this cache yet (`taken_from_legacy_cache`; it has no size or time, which the
        legacy file doesn't know); the caller takes it over by recording it, with what
        it knows filled in:

            entry = cache.lookup(identity, md5, sha256)
            if entry is not None and entry.taken_from_legacy_cache:
                cache.record(identity, md5, dataclasses.replace(entry, size=size, ...))
        """
        with self._mutex:
            entry = self._uploads.get(host_identity, {}).get(md5)
        if entry is not None and entry.sha256 == sha256:
            return entry
        if host_identity.startswith("lsky "):
            return self._legacy.get(sha256)
        return None

    def reload(self) -> None:
        """Learn what other processes recorded since this cache was read.

        Writes are atomic renames, so the file is read whole without the lock;
        entries only ever get added, so merging can't lose any. CacheError if
        the file became corrupt meanwhile.
        """
        seen = _identity(self.path)
        if seen is not None and seen == self._seen:
            return
        _, on_disk = read_document(_inside(self.path, self.project), allow_http=self._allow_http)
        with self._mutex:
            self._document = None  # no longer what is on disk: the next write reads it
            for host, by_md5 in on_disk.items():
                self._uploads.setdefault(host, {}).update(by_md5)
            self._seen = seen

    def entries_for(self, host_identity: str) -> Mapping[str, CacheEntry]:
        """A snapshot of one host's entries, by MD5."""
        with self._mutex:
            return MappingProxyType(dict(self._uploads.get(host_identity, {})))

    def record(self, host_identity: str, md5: str, entry: CacheEntry) -> None:
        """Add an upload and write the file now, keeping entries other processes added.

        The file written is the union of what is on disk, what this object knows and the
        new entry (on disk wins over memory, the new entry over both): an entry is never
        dropped, whoever wrote it. CacheError if the file can't be written, or became
        corrupt since it was read (it is then left as it is).
        """
        if not MD5_RE.fullmatch(md5):
            raise ValueError(f"not an MD5 hex digest: {md5!r}")
        CacheEntry.from_json(entry.to_json())  # never write what open() would refuse
        http = self._allow_http or http_allowed(base_url_of(host_identity))
        if (problem := url_problem(entry.url, allow_http=http)) is not None:
            raise ValueError(f"not a URL the cache may hold: {quoted(entry.url)} ({problem})")
        with self._mutex:
            self._queued.append((host_identity, md5, entry))
            self._last_queued += 1
            ticket = self._last_queued
        try:
            private_folder(self._file_lock.path.parent, project=self.project)
            with self._file_lock:
                # Group commit: threads that queued while another one was writing find
                # their entry written by the next writer, one write for them all.
                if self._last_written >= ticket:
                    return
                self._write_queued()
        except OutsideProject as err:  # before OSError, which it subclasses
            raise CacheError(self.path, err.reason if err.path == self.path else str(err)) from None
        except TimeoutError as err:  # likewise
            raise CacheError(self.path, str(err)) from None
        except OSError as err:
            raise CacheError(self.path, f"can't be written: {err.strerror or err}") from None

    def _write_queued(self) -> None:
        """Write every queued entry; the caller holds the file lock."""
        # Edit the document as read from disk, so that keys this version of imgsync
        # doesn't know (written by a newer one) survive the rewrite; unless the file is
        # still the one this object last wrote or read, whose document it kept.
        current = _identity(self.path)
        with self._mutex:  # a reload() in another thread changes these together
            reuse = current is not None and current == self._seen and self._document is not None
            if reuse:
                document = self._document
                uploads = {h: dict(e) for h, e in self._uploads.items()}
        if not reuse or document is None:
            document, uploads = read_document(
                _inside(self.path, self.project), allow_http=self._allow_http
            )
        with self._mutex:
            queued, self._queued = self._queued, []
            written = self._last_queued
            # What this process knows and the file lost (moved aside, an older version
            # checked out) are real uploads: they go back in.
            lost = [
                (host, key, known)
                for host, by_md5 in self._uploads.items()
                for key, known in by_md5.items()
                if key not in uploads.get(host, {})
            ]
        for host, key, new in [*lost, *queued]:
            uploads.setdefault(host, {})[key] = new
            document["uploads"].setdefault(host, {})[key] = new.to_json()
        try:
            atomic_write(self.path, dump_document(document, self._rendered), project=self.project)
        except BaseException:
            with self._mutex:  # not written: the next writer tries them again
                self._queued[:0] = queued
            raise
        # Still under the file lock, so a thread that records later can't be overtaken
        # here by this older view.
        with self._mutex:
            self._uploads = uploads
            self._document = document
            self._seen = _identity(self.path)
            self._last_written = written


def lock_path(cache_path: Path) -> Path:
    """The file whose lock guards writes of the cache at `cache_path`."""
    return state_dir(cache_path) / (cache_path.name + ".lock")


def _inside(
    path: Path, project: Path, advice: str = "replace the link with the file itself"
) -> Path:
    """`path` itself, once checked to lead nowhere outside `project`; else CacheError."""
    try:
        confined(path, project)
    except OutsideProject as error:
        raise CacheError(path, f"{error.reason}; {advice}") from None
    return path


def _identity(path: Path) -> tuple[int, int, int] | None:
    """What tells one version of the file from another (each write is a new inode)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)
