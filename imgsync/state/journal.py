"""The upload journal: every upload, one line each, in imgsync's own folder beside the cache.

The cache file is committed, so git can take entries out of it: pre-commit rolling
back a hook's changes, `git checkout` of the file, a merge that drops lines. An
entry lost that way would make the next run upload the image again (and Chevereto
refuses a duplicate for a day). So each upload is first appended here, in
`.imgsync/` (never committed, never touched by git or pre-commit), and any run that
opens the cache merges back what the file lost (cache.py).

    {"entry": {CACHE ENTRY}, "host": HOST IDENTITY, "md5": MD5}

one JSON object a line, appended with one write under a lock, flushed and fsync'd
before the cache is written. An upload deleted from the host (`imgsync prune`, `delete`)
is forgotten by a later line, which cancels the lines before it of that host, MD5 and URL:

    {"forget": URL, "host": HOST IDENTITY, "md5": MD5}

The journal is only ever appended to: rewriting it could lose a line another process
appends meanwhile. Nothing here trusts a line: cache.py checks each one
as it checks a cache entry. A marker beside it (`<journal>.merged`) says which cache
file held every line read so far, so a run with nothing to upload can tell in two
stat() calls that there is nothing to merge.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..files import STATE_DIR_NAME, atomic_write, open_inside, private_folder, read_inside

if TYPE_CHECKING:
    from .cache_file import CacheEntry, Repeats

SUFFIX = ".journal"


# Plain classes, not NamedTuples: this module is loaded by every run with nothing to do
# (for `is_merged`), and making a NamedTuple class costs a fifth of a millisecond.


class JournalLine:
    """One line as read: its number (from 1) and its decoded JSON, or why it can't be used."""

    __slots__ = ("number", "problem", "record")

    def __init__(self, number: int, record: Any, problem: str | None) -> None:
        self.number = number
        self.record = record  # what json.loads made of it; unchecked
        self.problem = problem


class Position:
    """How far a journal was read: the file (inode), its bytes and lines up to there."""

    __slots__ = ("inode", "lines", "size")

    def __init__(self, inode: int, size: int, lines: int) -> None:
        self.inode = inode
        self.size = size
        self.lines = lines


START = Position(0, 0, 0)


class JournalRead:
    """The journal's lines read (complete lines only), and how far that went."""

    __slots__ = ("lines", "position")

    def __init__(self, lines: list[JournalLine], position: Position) -> None:
        self.lines = lines
        self.position = position


class JournalUploads:
    """The uploads a journal keeps, those it forgot, the lines that failed the checks, the
    bytes read."""

    __slots__ = ("forgotten", "position", "problems", "uploads")

    def __init__(
        self,
        uploads: list[tuple[str, str, CacheEntry]],
        problems: dict[int, str],
        position: Position,
        forgotten: list[tuple[str, str, str]] | None = None,
    ) -> None:
        self.uploads = uploads  # (host identity, MD5, entry), in the order appended
        self.problems = problems  # by line number: why the line is skipped
        self.position = position
        # (host identity, MD5, URL) forgotten after the uploads read: a reader that took
        # them in before (reading from an earlier position) drops them too.
        self.forgotten = forgotten or []


def journal_path(cache_path: Path) -> Path:
    """The journal of the cache at `cache_path`: `.imgsync/<cache name>.journal` beside it."""
    return cache_path.parent / STATE_DIR_NAME / (cache_path.name + SUFFIX)


class UploadJournal:
    """The journal file `path`, read and written only inside `project`, symlinks resolved."""

    def __init__(self, path: Path, project: Path) -> None:
        self.path = path
        self.project = project
        self.marker = path.with_name(path.name + ".merged")

    def append(self, host: str, md5: str, entry: dict[str, Any]) -> None:
        """Add one upload for good: one line, written whole or not at all, then fsync'd.

        Several processes append at once (watch mode, a hook): each holds an exclusive
        lock on the file for its write, so lines never interleave. A line left torn by a
        crash gets its newline before the next one, so it spoils only itself; a write
        that fails half-way (disk full) is cut back off. OSError if it can't be written.
        """
        self._append_record({"entry": entry, "host": host, "md5": md5})

    def forget(self, host: str, md5: str, url: str) -> None:
        """Cancel the uploads kept so far of these bytes at `url` on `host` (deleted from
        it): one line, appended as `append` does. OSError if it can't be written."""
        self._append_record({"forget": url, "host": host, "md5": md5})

    def _append_record(self, record: dict[str, Any]) -> None:
        from .os_lock import lock_file, unlock_file  # fcntl: only when appending

        line = json.dumps(
            record, ensure_ascii=False, separators=(",", ":"), sort_keys=True
        ).encode()
        private_folder(self.path.parent, project=self.project)
        fd = open_inside(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, self.project)
        try:
            while not lock_file(fd, block=True):  # Windows tries once: poll there
                time.sleep(0.01)
            size = os.fstat(fd).st_size
            torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
            data = (b"\n" if torn else b"") + line + b"\n"
            try:
                written = os.write(fd, data)
                if written != len(data):
                    raise OSError(f"only {written} of {len(data)} bytes were written")
                os.fsync(fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
                raise
        finally:
            with contextlib.suppress(OSError):  # closing drops it anyway (POSIX)
                unlock_file(fd)
            os.close(fd)

    def read(self, since: Position = START) -> JournalRead:
        """Every complete line after `since`, decoded; a missing journal has none.

        The journal only grows, so a reader goes on from where it stopped; from the
        start if the file is another one or shorter (deleted, made afresh). A last line
        without its newline is an append under way (or torn by a crash): left for the
        next read. OSError if the journal can't be read.
        """
        try:
            fd = open_inside(self.path, os.O_RDONLY, self.project)
        except FileNotFoundError:
            return JournalRead([], START)
        try:
            st = os.fstat(fd)
            if st.st_ino != since.inode or st.st_size < since.size:
                since = Position(st.st_ino, 0, 0)
            os.lseek(fd, since.size, os.SEEK_SET)
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
        finally:
            os.close(fd)
        data = b"".join(chunks)
        end = data.rfind(b"\n") + 1
        raws = data[:end].split(b"\n")[:-1]
        lines = []
        for number, raw in enumerate(raws, start=since.lines + 1):
            if not raw.strip():
                continue
            try:
                lines.append(JournalLine(number, json.loads(raw), None))
            except RecursionError:
                lines.append(JournalLine(number, None, "is nested too deeply to be a record"))
            except ValueError as error:  # not UTF-8, not JSON
                lines.append(JournalLine(number, None, f"is not a JSON record ({error})"))
        return JournalRead(lines, Position(since.inode, since.size + end, since.lines + len(raws)))

    def uploads(
        self,
        *,
        allow_http: bool,
        since: Position = START,
        repeats: Repeats | None = None,
    ) -> JournalUploads:
        """The uploads of every complete line after `since` that passes the checks of a
        cache entry.

        `allow_http` as for the cache (http:// otherwise only under a loopback host).
        `repeats`: for a record that repeats an entry already checked (the cache file's
        own, as `file_entry_repeated` tells), that entry, which spares the checks.
        OSError if the journal can't be read.
        """
        from .cache_file import journal_record  # loads datetime: only when a journal is read

        read = self.read(since)
        uploads: list[tuple[str, str, CacheEntry]] = []
        problems: dict[int, str] = {}
        forgotten: list[tuple[str, str, str]] = []
        for line in read.lines:
            problem = line.problem
            if problem is None:
                try:
                    if isinstance(line.record, dict) and "forget" in line.record:
                        gone = _forget_record(line.record)
                        uploads = [u for u in uploads if (u[0], u[1], u[2].url) != gone]
                        forgotten.append(gone)
                    elif repeats is not None and (known := repeats(line.record)) is not None:
                        uploads.append(known)
                    else:
                        uploads.append(journal_record(line.record, allow_http=allow_http))
                    continue
                except ValueError as error:
                    problem = str(error)
            problems[line.number] = problem
        return JournalUploads(uploads, problems, read.position, forgotten)

    # The marker: the cache file known to hold the journal's first `size` bytes.

    def is_merged(self, cache_path: Path) -> bool:
        """Whether the cache file as it is now holds every line of the journal as it is now.

        Two stat() calls and a read of a few bytes: cheap enough for every run. False
        whenever in doubt (no marker, a cache or journal changed since): a full merge
        then finds out. Only a run with nothing to look up relies on it: one that looks
        images up reads the whole journal (cache.py).
        """
        try:
            journal = os.stat(self.path)
        except FileNotFoundError:
            return True  # nothing was ever uploaded from this checkout
        except OSError:
            return False
        try:
            stored = json.loads(read_inside(self.marker, self.project))
            return bool(stored == [journal.st_size, *_identity(cache_path)])
        except (OSError, ValueError, RecursionError):
            return False

    def mark_merged(self, size: int, cache_identity: tuple[int, int, int]) -> None:
        """Note that the cache file of this identity (inode, size, mtime: the version
        written or read, never a stat taken later) holds the journal's first `size` bytes.

        Best effort: without the marker, the next run merely checks again. A marker that
        already says so is left as it is (rewriting it is a new file and an fsync).
        """
        with contextlib.suppress(OSError, ValueError):
            data = json.dumps([size, *cache_identity]).encode()
            with contextlib.suppress(OSError):
                if read_inside(self.marker, self.project) == data:
                    return
            atomic_write(self.marker, data, project=self.project)


def _forget_record(record: dict[str, Any]) -> tuple[str, str, str]:
    """(host identity, MD5, URL) of a forget line; ValueError says what is wrong."""
    host, md5, url = record.get("host"), record.get("md5"), record.get("forget")
    if not all(isinstance(value, str) and value for value in (host, md5, url)):
        raise ValueError('a "forget" line needs "forget", "host" and "md5" strings')
    assert isinstance(host, str) and isinstance(md5, str) and isinstance(url, str)
    return host, md5, url


def _identity(path: Path) -> tuple[int, int, int]:
    """What tells one version of a file from another; (0, 0, 0) if there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return (0, 0, 0)
    return (st.st_ino, st.st_size, st.st_mtime_ns)
