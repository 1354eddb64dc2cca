"""Write a file so that a crash leaves either the old bytes or the new ones, never a mix."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

STATE_DIR_NAME = ".imgsync"  # imgsync's own working files, beside the cache; never committed


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one rename, keeping the file's permission bits."""
    # Write through a symlink to the file it points at instead of replacing the link.
    target = Path(os.path.realpath(path))
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    import tempfile  # slow to import, and a run with nothing to write needs none

    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates the file 0o600; without this every rewrite would tighten the mode.
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def state_dir(cache_path: Path) -> Path:
    """imgsync's own working files for the cache at `cache_path` (locks, stamps): beside it."""
    return cache_path.parent / STATE_DIR_NAME


def private_folder(path: Path) -> Path:
    """`path`, created if missing, with a `.gitignore` of `*` so git never shows what it holds."""
    path.mkdir(parents=True, exist_ok=True)
    ignore = path / ".gitignore"
    if not ignore.exists():
        with contextlib.suppress(OSError):  # a read-only checkout: git just shows the folder
            atomic_write(ignore, b"# imgsync's own working files: never committed.\n*\n")
    return path


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable; not possible on Windows, so best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    """The process umask, read without changing it where the OS allows."""
    # os.umask() can only be read by setting it, which briefly affects files other threads
    # create; Linux reports it in /proc, so that race is avoided where possible.
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
