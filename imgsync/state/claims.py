"""One upload of an image at a time across processes: watch mode and a hook never race.

Each image (by MD5) maps to one byte of a shared lock file; a process uploading
it holds a lock on that byte. The OS drops the locks of a process that dies, so
a killed run never leaves an image claimed. Two MD5s may share a byte: their
uploads then wait for each other, which costs a little time and nothing else.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..files import open_inside
from .os_lock import lock_byte, unlock_byte

_SLOTS = 1 << 24  # bytes of the lock file that MD5s map onto (never written, only locked)
_POLL = 0.05  # seconds between tries while another process holds a claim

# POSIX record locks belong to the process, and closing ANY descriptor of the file
# drops them all: so each process opens a lock file once and keeps it open.
_open_files: dict[Path, int] = {}
_open_files_lock = threading.Lock()
# ... and two threads of one process are not kept apart by them: a thread lock per byte is.
_thread_locks: dict[tuple[Path, int], threading.Lock] = {}


def _descriptor(path: Path, project: Path) -> int:
    with _open_files_lock:
        fd = _open_files.get(path)
        if fd is not None and not _same_file(fd, path):
            # The file was deleted or replaced (its folder removed while watch mode ran):
            # other processes lock the new one. The old descriptor stays open, as closing
            # it would drop claims other threads may still hold on it.
            fd = None
        if fd is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = _open_files[path] = open_inside(path, os.O_RDWR | os.O_CREAT, project)
        return fd


def _same_file(fd: int, path: Path) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _thread_lock(path: Path, offset: int) -> threading.Lock:
    with _open_files_lock:
        return _thread_locks.setdefault((path, offset), threading.Lock())


class UploadClaims:
    """Claims on images (by MD5) shared by every imgsync process and thread using `path`.

    A lock file that leads outside `project` (default: its folder) is OutsideProject.
    """

    def __init__(self, path: Path, project: Path | None = None) -> None:
        self.path = path
        self.project = path.parent if project is None else project

    def __repr__(self) -> str:
        return f"UploadClaims({str(self.path)!r})"

    @contextmanager
    def hold(self, md5s: Sequence[str], *, stop: threading.Event | None = None) -> Iterator[bool]:
        """Claim every MD5 of `md5s`, waiting for other processes to let go.

        Yields True once all are held; False (holding nothing) if `stop` was set
        while waiting. Claims are taken in one order (sorted offsets), so two
        processes claiming overlapping groups can't deadlock.
        """
        fd = _descriptor(self.path, self.project)
        offsets = sorted({int(md5[:8], 16) % _SLOTS for md5 in md5s})
        held: list[tuple[int, threading.Lock]] = []
        try:
            for offset in offsets:
                local = _thread_lock(self.path, offset)
                if not _wait_for(functools.partial(local.acquire, blocking=False), stop):
                    yield False
                    return
                if not _wait_for(functools.partial(lock_byte, fd, offset), stop):
                    local.release()
                    yield False
                    return
                held.append((offset, local))
            yield True
        finally:
            for offset, local in reversed(held):
                with contextlib.suppress(OSError):  # the OS drops it when the process ends
                    unlock_byte(fd, offset)
                local.release()


def _wait_for(attempt: Callable[[], bool], stop: threading.Event | None) -> bool:
    event = stop or threading.Event()
    while not attempt():
        if event.wait(_POLL):
            return False
    return True
