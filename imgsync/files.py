"""Files read and written inside the project only, and written so that a crash leaves either
the old bytes or the new ones, never a mix."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from .errors import NotAFolder, OutsideProject

STATE_DIR_NAME = ".imgsync"  # imgsync's own working files, beside the cache; never committed
# Where the OS has it: the last name of a path checked to be no link can't become one unseen.
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)


# The real path of each path (folder or file) looked up so far, while `folders_kept` holds.
_kept: dict[str, str] | None = None


@contextlib.contextmanager
def folders_kept() -> Iterator[None]:
    """Within it (one run), `real_path` resolves each folder's symlinks once, and each
    path's: a run looks up thousands of files in a few folders, and resolving a path costs
    a system call per name in it. The tree is taken as it was when first looked up (a
    concurrent change of a folder into a link is not a pull request's doing); the next run
    looks again."""
    global _kept
    outer = _kept
    if outer is None:
        _kept = {}
    try:
        yield
    finally:
        _kept = outer


def real_path(path: str | os.PathLike[str]) -> str:
    """os.path.realpath(path), from `folders_kept`'s memory while it holds."""
    text = os.fspath(path)
    kept = _kept
    if kept is None:
        return os.path.realpath(text)
    real = kept.get(text)
    if real is None:
        real = _in_real_folder(kept, text)
        if real is None or os.path.islink(real):
            real = os.path.realpath(text)
        kept[text] = real
    return real


def _in_real_folder(kept: dict[str, str], text: str) -> str | None:
    """`text`'s name in its folder's real path (the folder's kept), not knowing whether the
    name itself is a link; None for a path that ends in `.` or `..`, or has no folder."""
    folder, name = os.path.split(text)
    if not folder or name in ("", ".", ".."):
        return None
    real_folder = kept.get(folder)
    if real_folder is None:
        real_folder = kept[folder] = os.path.realpath(folder)
    return os.path.join(real_folder, name)


def is_inside(path: Path, project: Path) -> bool:
    """Whether `path`, once every symlink on the way is resolved, is `project` or below it."""
    return Path(real_path(path)).is_relative_to(real_path(project))


def confined(path: Path, project: Path) -> Path:
    """`path` with its symlinks resolved, if that is inside `project`; else OutsideProject.

    A pull request writes the tree, links included: a link must not carry a read or a
    write out of the project (into ~/.ssh, another checkout, the CI runner's files).
    """
    real = Path(real_path(path))
    home = Path(real_path(project))
    if real.is_relative_to(home):
        return real
    if os.path.islink(path):
        how = "is a symbolic link that leads"
    elif any(Path(os.path.abspath(path)).is_relative_to(p) for p in (home, project.absolute())):
        how = "is in a linked folder that leads"
    else:
        how = "is"
    raise OutsideProject(path, home, how)


def read_inside(path: Path, project: Path) -> bytes:
    """The bytes of `path`, if it is inside `project` (symlinks resolved); else OutsideProject."""
    kept = _kept
    if kept is not None and _NO_FOLLOW and os.fspath(path) not in kept:
        # Opened without following its last name: a link there fails to open (ELOOP on
        # Linux and macOS, EMLINK on FreeBSD), and is resolved as any path is, below.
        # Each of thousands of Markdown files is read once: no lstat() of each first.
        real = _in_real_folder(kept, os.fspath(path))
        if real is not None and Path(real).is_relative_to(real_path(project)):
            try:
                descriptor = os.open(real, os.O_RDONLY | _NO_FOLLOW)
            except OSError as error:
                if error.errno not in (errno.ELOOP, errno.EMLINK):
                    raise
            else:
                kept[os.fspath(path)] = real
                with open(descriptor, "rb") as file:
                    return file.read()
    with open(confined(path, project), "rb", opener=_open_no_follow) as file:
        return file.read()


def open_inside(path: Path, flags: int, project: Path) -> int:
    """os.open() of `path` (mode 0o666 if created), if it is inside `project`; else OutsideProject.

    For lock files: O_CREAT through a dangling link would create the file it names.
    """
    return os.open(confined(path, project), flags | _NO_FOLLOW, 0o666)


def _open_no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | _NO_FOLLOW)


def atomic_write(path: Path, data: bytes, *, project: Path | None = None) -> tuple[int, int, int]:
    """Replace `path` with `data` in one rename, keeping the file's permission bits; the
    (inode, size, mtime in ns) of the file written, which the rename keeps: a stat after
    it could see another process's file put there meanwhile.

    A symlink is written through to its file, if that is inside `project` (default: the
    folder of `path`); one that leads elsewhere is OutsideProject, the link left as it is.
    """
    # Write through a symlink to the file it points at instead of replacing the link;
    # the rename itself replaces whatever is at that name and never follows a link.
    target = confined(path, path.parent if project is None else project)
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
            written = os.fstat(f.fileno())
        # mkstemp creates the file 0o600; without this every rewrite would tighten the mode.
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)
    return (written.st_ino, written.st_size, written.st_mtime_ns)


def new_file_mode() -> int:
    """The permission bits a new file gets here (0o666 less the umask), for a file made
    through mkstemp (0o600) that others, such as a web server, must read."""
    return 0o666 & ~_umask()


def made_read_only(path: Path) -> bool:
    """Whether the user made `path` read-only (no write bit), or it can't be written.

    The bits decide, not only os.access: root may write any file, but a file whose
    owner took its write bits away is one imgsync must leave alone, whoever runs it.
    False when there is no such file.
    """
    try:
        st = os.stat(path)
    except OSError:
        return False
    return not st.st_mode & 0o222 or not os.access(path, os.W_OK)


def state_dir(cache_path: Path) -> Path:
    """imgsync's own working files for the cache at `cache_path` (locks, stamps): beside it."""
    return cache_path.parent / STATE_DIR_NAME


def private_folder(path: Path, *, project: Path | None = None) -> Path:
    """`path`, created if missing, with a `.gitignore` of `*` so git never shows what it holds.

    OutsideProject if `path` or its `.gitignore` leads outside `project` (default: the
    folder holding `path`): a committed link must not make imgsync fill another folder.
    NotAFolder (a CacheError) if a file is in the way: the repository may commit one.
    """
    project = path.parent if project is None else project
    confined(path, project)
    if os.path.lexists(path) and not path.is_dir():
        raise NotAFolder(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):  # made a file meanwhile, or a parent is one
        raise NotAFolder(path) from None
    ignore = path / ".gitignore"
    if not ignore.exists():
        try:
            atomic_write(
                ignore, b"# imgsync's own working files: never committed.\n*\n", project=project
            )
        except OutsideProject:
            raise
        except OSError:  # a read-only checkout: git just shows the folder
            pass
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
