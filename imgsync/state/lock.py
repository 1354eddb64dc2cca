"""An exclusive lock on a file, for the threads of one process and for separate processes."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import TracebackType

from ..files import open_inside
from .os_lock import lock_file, unlock_file


class FileLock:
    """`with FileLock(path):` holds an exclusive lock on `path` (created if missing).

    The OS drops the lock when its holder dies, so a crash never leaves a stale lock;
    the lock file itself is left in place because deleting it would race with the next
    process opening it. Not re-entrant: acquiring it twice in one thread deadlocks
    (or times out). `timeout=None` waits for as long as it takes; otherwise
    `TimeoutError` says who to look for. A lock file that leads outside `project`
    (default: its folder) once symlinks are resolved is OutsideProject: opening it
    would create the file a dangling link names.
    """

    def __init__(
        self,
        path: Path,
        timeout: float | None = None,
        poll: float = 0.05,
        *,
        project: Path | None = None,
    ) -> None:
        self.path = path
        self.project = path.parent if project is None else project
        self.timeout = timeout
        self.poll = poll
        # Threads of this process queue here first: `_fd` is per-object state, and a
        # Windows lock belongs to the process, so it would not keep two threads apart.
        self._thread_lock = threading.Lock()
        self._fd: int | None = None

    def acquire(self) -> None:
        """Wait for the lock; TimeoutError if `timeout` seconds pass first."""
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        if not self._thread_lock.acquire(timeout=-1 if self.timeout is None else self.timeout):
            raise self._timeout_error()
        try:
            fd = open_inside(self.path, os.O_RDWR | os.O_CREAT, self.project)
            try:
                while not lock_file(fd, block=deadline is None):
                    if deadline is not None and time.monotonic() >= deadline:
                        raise self._timeout_error()
                    time.sleep(self.poll)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self) -> None:
        """Give the lock back; closing the file would drop it anyway, so unlock errors are moot."""
        fd, self._fd = self._fd, None
        if fd is None:
            raise RuntimeError(f"{self.path}: release() of a lock that is not held")
        try:
            unlock_file(fd)
        except OSError:
            pass
        finally:
            os.close(fd)
            self._thread_lock.release()

    def _timeout_error(self) -> TimeoutError:
        return TimeoutError(
            f"{self.path}: still locked after {self.timeout:g} seconds; another imgsync"
            " (watch mode, a pre-commit hook, an editor's upload command) is holding it."
            " Let it finish or stop it, then try again."
        )

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
