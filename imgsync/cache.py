"""The upload cache: which image bytes are already on which host, kept in a committed JSON file.

This module keeps it right under concurrency (locks, merging, group commit) and
against git (every upload is first kept in the journal, state/journal.py, and merged
back into a file that lost it); cache_file.py knows the file's format.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import CacheError, CacheNotWritten, OutsideProject
from .files import atomic_write, confined, made_read_only, private_folder, state_dir
from .hosted_url import identity_allows_http, quoted, rooted_base, url_problem
from .state.cache_file import (
    LEGACY_NAME,
    MD5_RE,
    VERSION,
    CacheEntry,
    Repeats,
    file_entry_repeated,
    read_document,
    read_legacy,
    scrub_secrets,
    utc_now,
)
from .state.cache_writer import RenderedEntries, dump_document
from .state.journal import START, Position, UploadJournal, journal_path
from .state.lock import FileLock

__all__ = [
    "LEGACY_NAME",
    "VERSION",
    "CacheEntry",
    "UploadCache",
    "lock_path",
    "read_only_reason",
    "utc_now",
    "write_back_journal",
]

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

    Each upload recorded is first appended to the journal (`.imgsync/<name>.journal`),
    which git never touches; `open()` takes back into memory what the journal holds and
    the file lost (a revert), so a lookup finds every upload ever made from this
    checkout, and `settle_journal()` writes it back into the file. A cache file made
    read-only is never replaced (`read_only`).
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
        self.journal = UploadJournal(journal_path(path), self.project)
        self._journal_at: Position | None = None  # how far the journal was taken into memory
        self._forgets_at = START  # how far it was read for uploads forgotten (_drop_forgotten)
        self.from_journal = 0  # entries the file lacked when opened, taken from the journal
        self._took_from_journal = False  # ever, since opened: open() and reload() too
        # What to tell the user (where, what): bad journal lines, a journal not written.
        self.warnings: dict[tuple[Path, int | None], str] = {}  # by file and line

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
        document, uploads = read_document(_inside(path, project), allow_http=allow_http)
        legacy_path = path.with_name(LEGACY_NAME)
        legacy = (
            {}
            if legacy_path == path
            else read_legacy(_inside(legacy_path, project), allow_http=allow_http)
        )
        # Its lock too, now: refused after an upload, the upload would go unrecorded.
        _inside(lock_path(path), project, "remove the link: imgsync makes its own lock files")
        cache = cls(path, uploads, legacy, seen, project, allow_http=allow_http)
        cache._document = document  # the next write edits it, if the file is still `seen`
        # Read whole, whatever the marker says: it may name a file that holds an upload
        # deleted since, or lacks one this reader would take and its writer skipped.
        repeats = file_entry_repeated(document["uploads"], uploads)
        cache.from_journal = cache._merge_journal(repeats)
        return cache

    @property
    def read_only(self) -> bool:
        """Whether the cache file was made read-only: imgsync never replaces it then."""
        return made_read_only(self.path)

    def settle_journal(self) -> int:
        """Write into the file the uploads the journal keeps and it lacks; how many.

        A run that may write the cache calls this once it is open (and again when its
        uploads are done, to leave the mark that spares the next run a full check). Not
        on a read-only file: its missing entries are still found by `lookup()`.
        CacheError if the file can't be written.
        """
        if self.read_only:
            at, seen = self._journal_at, self._seen
            if (
                not self._took_from_journal
                and at is not None
                and seen is not None
                and self._unchanged()
            ):
                self.journal.mark_merged(at.size, seen)  # it lacks nothing
            return 0
        with self._writing(CacheError):
            self._merge_journal()
            at = self._journal_at
            restored = self._write_queued()
            # The version written or read, not a stat now: a checkout landing meanwhile
            # must not be named as holding the journal.
            if at is not None and self._seen is not None:
                self.journal.mark_merged(at.size, self._seen)
        return restored

    @contextmanager
    def _writing(self, failed: type[CacheError]) -> Iterator[None]:
        """Hold the file lock; a failure to take it or to write is `failed`, saying why."""
        try:
            private_folder(self._file_lock.path.parent, project=self.project)
            with self._file_lock:
                yield
        except OutsideProject as err:  # before OSError, which it subclasses
            raise failed(self.path, err.reason if err.path == self.path else str(err)) from None
        except TimeoutError as err:  # likewise
            raise failed(self.path, str(err)) from None
        except OSError as err:
            raise failed(self.path, f"can't be written: {err.strerror or err}") from None

    def _unchanged(self) -> bool:
        """Whether the file is still the version this object last read or wrote."""
        with self._mutex:
            return self._seen is not None and _identity(self.path) == self._seen

    def _merge_journal(self, repeats: Repeats | None = None) -> int:
        """Take into memory the journal's uploads this cache doesn't know; how many.

        The file's own entry wins over the journal's. A line that fails the checks a
        cache entry passes is skipped and told (`warnings`), never trusted. `repeats`
        (at open only): the file's entries as read, which lines repeating them reuse.
        """
        journal = self.journal
        at = self._journal_at or START
        try:
            st = os.stat(journal.path)
            if (st.st_ino, st.st_size) == (at.inode, at.size):
                return 0  # read already, nothing appended since
            read = journal.uploads(allow_http=self._allow_http, since=at, repeats=repeats)
        except FileNotFoundError:
            return 0
        except OutsideProject as err:
            advice = "remove the link: imgsync makes its own journal"
            raise CacheError(journal.path, f"{err.reason}; {advice}") from None
        except OSError as err:
            with self._mutex:
                self.warnings[(journal.path, None)] = (
                    f"can't be read ({err.strerror or err}), so uploads it keeps may be"
                    " made again; make it readable"
                )
            return 0
        added = 0
        with self._mutex:
            again = {(host, md5, entry.url) for host, md5, entry in read.uploads}
            for host, md5, url in read.forgotten:  # deleted from the host since
                known = self._uploads.get(host, {})
                if (host, md5, url) not in again and md5 in known and known[md5].url == url:
                    del known[md5]
            for host, md5, entry in read.uploads:
                known = self._uploads.setdefault(host, {})
                if md5 not in known:
                    known[md5] = entry
                    added += 1
                    self._took_from_journal = True
            # Not in the document last written, these are added by the next write (lost).
            for number, problem in read.problems.items():
                self.warnings[(journal.path, number)] = (
                    f"{problem}; this line is skipped (delete it to silence this warning)"
                )
            self._journal_at = read.position
            seen = self._forgets_at  # the forgets read here are applied: not read again
            if read.position.inode != seen.inode or read.position.size > seen.size:
                self._forgets_at = read.position
        return added

    def _drop_forgotten(self) -> None:
        """Drop from memory the uploads the journal forgot since last looked (another
        process deleted them from the host), so that no write puts them back."""
        at = self._forgets_at
        try:
            st = os.stat(self.journal.path)
            if (st.st_ino, st.st_size) == (at.inode, at.size):
                return
            read = self.journal.uploads(allow_http=self._allow_http, since=at)
        except (OSError, CacheError):  # told by _merge_journal, which reads it too
            return
        again = {(host, md5, entry.url) for host, md5, entry in read.uploads}
        with self._mutex:
            for host, md5, url in read.forgotten:
                known = self._uploads.get(host, {})
                if (host, md5, url) not in again and md5 in known and known[md5].url == url:
                    del known[md5]
            self._forgets_at = read.position

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

    @property
    def empty(self) -> bool:
        """Whether no upload is known at all (no file, no journal): nothing to look up."""
        with self._mutex:
            return not self._legacy and not any(self._uploads.values())

    def on_any_host(self, md5: str, sha256: str) -> bool:
        """Whether these bytes were uploaded to some host, whichever: `check` asks it offline,
        without a host profile, to tell a reference that only needs rewriting from an upload."""
        with self._mutex:
            for by_md5 in self._uploads.values():
                entry = by_md5.get(md5)
                if entry is not None and entry.sha256 == sha256:
                    return True
        return sha256 in self._legacy

    def reload(self) -> None:
        """Learn what other processes recorded since this cache was read (or journaled).

        Writes are atomic renames, so the file is read whole without the lock;
        entries only ever get added, so merging can't lose any. CacheError if
        the file became corrupt meanwhile.
        """
        self._merge_journal()  # an upload whose cache write failed is there only
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
        dropped, whoever wrote it. The entry goes to the journal first, where no revert
        of the file can lose it. CacheError if the file can't be written, or became
        corrupt since it was read (it is then left as it is); CacheNotWritten, if the
        journal kept the entry all the same. A read-only file is never replaced.
        """
        if not MD5_RE.fullmatch(md5):
            raise ValueError(f"not an MD5 hex digest: {md5!r}")
        CacheEntry.from_json(entry.to_json())  # never write what open() would refuse
        http = self._allow_http or identity_allows_http(host_identity)
        rooted = rooted_base(host_identity)
        if (problem := url_problem(entry.url, allow_http=http, rooted_under=rooted)) is not None:
            raise ValueError(f"not a URL the cache may hold: {quoted(entry.url)} ({problem})")
        failed = CacheNotWritten if self._keep_in_journal(host_identity, md5, entry) else CacheError
        with self._mutex:
            self._queued.append((host_identity, md5, entry))
            self._last_queued += 1
            ticket = self._last_queued
        if self.read_only:
            raise failed(self.path, read_only_reason(self.path))
        with self._writing(failed):
            # Group commit: threads that queued while another one was writing find
            # their entry written by the next writer, one write for them all.
            if self._last_written < ticket:
                self._write_queued()

    def forget(self, host_identity: str, md5s: Iterable[str]) -> dict[str, CacheEntry]:
        """Take uploads out of the cache for good (they were deleted from the host): what
        was taken, by MD5; MD5s it doesn't hold are passed over.

        Under the file lock, as `record()` writes: each is first forgotten in the journal
        (a line that cancels its upload there, so that no process merges it back), then
        the file is written without them, atomically. Another process that still holds
        one in memory drops it when it next reads the journal, which it does before each
        write. CacheError if either can't be written (a read-only file included).
        """
        if self.read_only:
            raise CacheError(self.path, read_only_reason(self.path))
        with self._writing(CacheError):
            self._write_queued()  # the journal merged, anything queued written first
            document, uploads = read_document(
                _inside(self.path, self.project), allow_http=self._allow_http
            )
            with self._mutex:
                known = {**uploads.get(host_identity, {}), **self._uploads.get(host_identity, {})}
            gone = {md5: known[md5] for md5 in dict.fromkeys(md5s) if md5 in known}
            if not gone:
                return {}
            for md5, entry in gone.items():
                self.journal.forget(host_identity, md5, entry.url)
            in_file = document["uploads"].get(host_identity, {})
            for md5 in gone:
                in_file.pop(md5, None)
                uploads.get(host_identity, {}).pop(md5, None)
            if host_identity in document["uploads"] and not in_file:
                del document["uploads"][host_identity]
            written_as = atomic_write(
                self.path, dump_document(document, self._rendered), project=self.project
            )
            with self._mutex:
                for md5 in gone:
                    self._uploads.get(host_identity, {}).pop(md5, None)
                for host, by_md5 in self._uploads.items():
                    known_here = uploads.setdefault(host, {})
                    for key, entry in by_md5.items():
                        known_here.setdefault(key, entry)
                self._uploads = uploads
                self._document = document
                self._seen = written_as
            self._merge_journal()  # its own lines, and uploads others appended meanwhile
        return gone

    def _keep_in_journal(self, host_identity: str, md5: str, entry: CacheEntry) -> bool:
        """Append the upload to the journal; False (and a warning) if it can't be."""
        try:
            self.journal.append(host_identity, md5, entry.to_json())
        except (OSError, CacheError) as err:  # OutsideProject, NotAFolder: the folder's fault
            reason = err.reason if isinstance(err, CacheError) else (err.strerror or str(err))
            with self._mutex:
                self.warnings[(self.journal.path, None)] = (
                    f"can't be written ({reason}): uploads are recorded in the cache file"
                    " only, where a revert (pre-commit, git checkout) can lose them"
                )
            return False
        return True

    def _write_queued(self) -> int:
        """Write every queued entry, and those the file lost; the caller holds the file lock.

        Nothing is written when there is nothing new. How many the file had lost.
        """
        self._drop_forgotten()  # uploads deleted meanwhile (prune) must not come back
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
            # checked out) are real uploads: they go back in. So do those a reload() took
            # in from the journal since the document kept was written.
            in_file = document["uploads"]
            lost = [
                (host, key, known)
                for host, by_md5 in self._uploads.items()
                for key, known in by_md5.items()
                if key not in uploads.get(host, {}) or key not in in_file.get(host, {})
            ]
            if not queued and not lost:
                return 0
        for host, key, new in [*lost, *queued]:
            uploads.setdefault(host, {})[key] = new
            document["uploads"].setdefault(host, {})[key] = new.to_json()
        scrub_secrets(document)  # a delete_url an older imgsync kept leaves the file
        try:
            written_as = atomic_write(
                self.path, dump_document(document, self._rendered), project=self.project
            )
        except BaseException:
            with self._mutex:  # not written: the next writer tries them again
                self._queued[:0] = queued
                self._document = None  # edited above, and not what the file holds
            raise
        # Still under the file lock, so a thread that records later can't be overtaken
        # here by this older view. What another thread took in meanwhile (its reload()
        # merging the journal) is kept: it may be nowhere but in the journal, already read.
        with self._mutex:
            for host, by_md5 in self._uploads.items():
                known = uploads.setdefault(host, {})
                for key, entry in by_md5.items():
                    known.setdefault(key, entry)  # the file lacks it: the next write adds it
            self._uploads = uploads
            self._document = document
            # What was written, not a stat now: a checkout landing in between would be
            # taken for this write, and the next one would write this document over it.
            self._seen = written_as
            self._last_written = written
        return len(lost)


def write_back_journal(cache: UploadCache, *, to_upload: int = 0) -> str | None:
    """Write back into the cache file what the journal keeps and the file lost.

    A read-only file is left alone: CacheError, before anything is sent, when there
    are `to_upload` images to record in it; else a warning to tell (or None) if it
    lacks uploads the journal keeps, which lookups find all the same.
    """
    read_only = cache.read_only
    if read_only and to_upload:
        raise CacheError(
            cache.path,
            f"{read_only_reason(cache.path)}, then run imgsync again. Nothing was uploaded:"
            f" the {to_upload} new image(s) could not be recorded in it.",
        )
    cache.settle_journal()  # a read-only file is only marked, if it lacks nothing
    if read_only and cache.from_journal:
        return (
            f"lacks {cache.from_journal} upload(s) that the journal keeps, and"
            f" {read_only_reason(cache.path)} to let imgsync add them"
        )
    return None


def read_only_reason(path: Path) -> str:
    """Why a read-only cache file is left alone, and what to do, for a CacheError."""
    return (
        "is read-only, and imgsync never replaces a cache file made read-only: make it"
        f" writable (`chmod u+w {path.name}`)"
    )


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
