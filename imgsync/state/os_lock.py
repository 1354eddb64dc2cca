"""The operating system's file locks, one small API over POSIX (fcntl) and Windows (msvcrt).

Two kinds, because the two users need different owners:

- `lock_file`: the whole file, owned by the open file (POSIX flock). Two FileLock
  objects of one process, each with its own descriptor, exclude each other, and
  closing that descriptor lets go of exactly that lock: what a cache write needs.
- `lock_byte`: one byte, owned by the process (POSIX lockf, a record lock). One
  lock file holds millions of independent locks, one per image being uploaded; but
  closing ANY descriptor of the file drops all of the process's locks on it, and
  threads of one process don't exclude each other, so its user keeps the file open
  and adds a thread lock per byte.

On Windows both are `msvcrt.locking` of a byte (the whole-file lock is byte 0),
owned by the process; it has no wait-forever mode (LK_LOCK gives up after 10 s),
so `block=True` only tries once there and callers poll. Every lock is dropped by
the OS when its holder dies, so a crash never leaves one behind.
"""

from __future__ import annotations

import os
import sys

__all__ = ["lock_byte", "lock_file", "unlock_byte", "unlock_file"]

if sys.platform == "win32":
    import msvcrt

    def lock_byte(fd: int, offset: int, *, block: bool = False) -> bool:
        """Lock byte `offset` of `fd`'s file; False if another process holds it."""
        os.lseek(fd, offset, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def unlock_byte(fd: int, offset: int) -> None:
        os.lseek(fd, offset, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

    def lock_file(fd: int, *, block: bool = False) -> bool:
        """Lock the file open as `fd`; False if another holder has it."""
        return lock_byte(fd, 0, block=block)

    def unlock_file(fd: int) -> None:
        unlock_byte(fd, 0)

else:
    import fcntl

    def lock_byte(fd: int, offset: int, *, block: bool = False) -> bool:
        """Lock byte `offset` of `fd`'s file; False if another process holds it."""
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX if block else fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
        except OSError:  # EACCES or EAGAIN: another process holds it
            return False
        return True

    def unlock_byte(fd: int, offset: int) -> None:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset)

    def lock_file(fd: int, *, block: bool = False) -> bool:
        """Lock the file open as `fd`; False if another holder has it."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if block else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def unlock_file(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
